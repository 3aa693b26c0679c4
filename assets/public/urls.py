"""The public URLs (/publik/…, no login): every pattern here answers anonymous visitors, and the test of the public
walk (tests/public/test_public_walk.py) requests each. BPKAD's own pages are in ``staff_patterns``."""

from django.urls import path

from assets.public import views

urlpatterns = [
    path("", views.home, name="public-home"),
    path("cek/", views.point_lookup, name="public-point-lookup"),
    path("cek/formulir/", views.form_lookup, name="public-form-lookup"),
    path("kelurahan/", views.kelurahan_lookup, name="public-kelurahan"),
    path("jawaban/<str:code>/", views.answer_page, name="public-answer"),
    path("jawaban/<str:code>/pdf/", views.answer_pdf, name="public-answer-pdf"),
    path("verifikasi/", views.verify, name="public-verify"),
    path("tiles/<int:z>/<int:x>/<int:y>.mvt", views.tile, name="public-tile"),
    path("lapor/<str:kind>/", views.report, name="public-report"),
    path("laporan/<str:token>/", views.report_status, name="public-report-status"),
]

staff_patterns = [
    path("", views.reports_list, name="public-reports"),
    path("<int:pk>/", views.report_detail, name="public-report-detail"),
    path("<int:pk>/photo/", views.report_photo, name="public-report-photo"),
]
