"""URLs of the register: home, the asset list and pages, certificates and their stages, removal and restore."""

from __future__ import annotations

from django.urls import path

from assets.register import views

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", views.my_settings, name="my-settings"),
    path("assets/", views.asset_list, name="asset-list"),
    path("assets/new/", views.asset_create, name="asset-create"),
    path("assets/<int:pk>/", views.asset_detail, name="asset-detail"),
    path("assets/<int:pk>/edit/", views.asset_update, name="asset-update"),
    path("assets/<int:pk>/certificates/new/", views.certificate_create, name="certificate-create"),
    path("assets/<int:pk>/remove/", views.asset_remove, name="asset-remove"),
    path("assets/<int:pk>/restore/", views.asset_restore, name="asset-restore"),
    path("certificates/<int:pk>/stage/", views.certificate_stage, name="certificate-stage"),
]
