"""URLs of OGC API – Features (/ogc/). Machine clients authenticate themselves: no login redirect."""

from __future__ import annotations

from django.urls import path

from assets.interop import ogc
from assets.interop.auth import machine_view

urlpatterns = [
    path("ogc/", machine_view(ogc.LandingView.as_view()), name="ogc-landing"),
    path("ogc/conformance", machine_view(ogc.ConformanceView.as_view()), name="ogc-conformance"),
    path("ogc/api", machine_view(ogc.ApiDefinitionView.as_view()), name="ogc-api"),
    path("ogc/collections", machine_view(ogc.CollectionsView.as_view()), name="ogc-collections"),
    path("ogc/collections/<str:collection_id>", machine_view(ogc.CollectionView.as_view()), name="ogc-collection"),
    path("ogc/collections/<str:collection_id>/items", machine_view(ogc.ItemsView.as_view()), name="ogc-items"),
    path(
        "ogc/collections/<str:collection_id>/items/<str:feature_id>",
        machine_view(ogc.ItemView.as_view()),
        name="ogc-item",
    ),
]
