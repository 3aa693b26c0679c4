"""/field/…: campaigns (office), the field app and its JSON API."""

from django.urls import path

from assets.field import views

urlpatterns = [
    path("", views.campaigns, name="field-campaigns"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="field-campaign"),
    path("campaigns/<int:pk>/map.geojson", views.campaign_geojson, name="field-campaign-geojson"),
    path("campaigns/<int:pk>/close/", views.campaign_close, name="field-campaign-close"),
    path("campaigns/<int:pk>/report.pdf", views.campaign_report, {"fmt": "pdf"}, name="field-campaign-report-pdf"),
    path("campaigns/<int:pk>/report.xlsx", views.campaign_report, {"fmt": "xlsx"}, name="field-campaign-report-xlsx"),
    path("teams/<int:pk>/berita-acara.pdf", views.team_berita_acara, name="field-team-berita-acara"),
    path("results/<int:pk>/review/", views.result_review, name="field-result-review"),
    path("results/<int:pk>/edit/", views.result_edit, name="field-result-edit"),
    path("teams/<int:pk>/", views.team_detail, name="field-team"),
    path("teams/<int:pk>/move/", views.team_move, name="field-team-move"),
    path("app/", views.app, name="field-app"),
    path("app/sw.js", views.service_worker, name="field-sw"),
    path("app/manifest.webmanifest", views.manifest, name="field-manifest"),
    path("api/teams/", views.api_teams, name="field-api-teams"),
    path("api/teams/<int:team>/package/", views.api_package, name="field-api-package"),
    path("api/results/", views.api_result, name="field-api-results"),
    path("api/results/<uuid:client_id>/photos/<uuid:photo_id>/", views.api_photo, name="field-api-photo"),
]
