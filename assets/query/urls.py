"""URLs of the planners' spatial query page."""

from __future__ import annotations

from django.urls import path

from assets.query import views

urlpatterns = [
    path("query/", views.query_page, name="asset-query"),
    path("query/export/", views.query_export, name="asset-query-export"),
]
