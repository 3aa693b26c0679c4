"""URLs of the planners' spatial query page."""

from __future__ import annotations

from django.urls import path

from assets import query_views

urlpatterns = [
    path("query/", query_views.query_page, name="asset-query"),
    path("query/export/", query_views.query_export, name="asset-query-export"),
]
