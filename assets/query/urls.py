"""URLs of the planners' spatial query page (under /query/)."""

from __future__ import annotations

from django.urls import path

from assets.query import views

urlpatterns = [
    path("", views.query_page, name="asset-query"),
    path("export/", views.query_export, name="asset-query-export"),
]
