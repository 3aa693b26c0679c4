from django.urls import include, path

from assets.register import views

urlpatterns = [
    path("", views.home, name="home"),
    path("assets/", views.asset_list, name="asset-list"),
    path("assets/new/", views.asset_create, name="asset-create"),
    path("assets/<int:pk>/", views.asset_detail, name="asset-detail"),
    path("assets/<int:pk>/edit/", views.asset_update, name="asset-update"),
    path("assets/<int:pk>/certificates/new/", views.certificate_create, name="certificate-create"),
    path("certificates/<int:pk>/stage/", views.certificate_stage, name="certificate-stage"),
    path("", include("assets.interop.urls")),
    path("", include("assets.interop.ogc_urls")),
    path("", include("assets.query.urls")),
    path("", include("assets.audit.urls")),
    path("", include("assets.maps.urls")),
    path("", include("assets.transfer.urls")),
]
