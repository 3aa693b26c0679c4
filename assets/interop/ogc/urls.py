"""URLs of OGC API – Features, under /ogc/: every path answers with and without its final slash (QGIS
drops it and does not follow Django's slash redirect). Machine clients authenticate themselves: no login redirect."""

from __future__ import annotations

from django.urls import path, re_path

from assets.interop.auth import machine_view
from assets.interop.ogc import views

COLLECTION = r"(?P<collection_id>[^/]+)"
FEATURE = r"(?P<feature_id>[^/]+)"

# The landing page sits in the site map itself (/ogc/, and /ogc without a name); the rest is included under /ogc/.
landing = [
    path("ogc/", machine_view(views.LandingView.as_view()), name="ogc-landing"),
    path("ogc", machine_view(views.LandingView.as_view())),
]
urlpatterns = [
    re_path(r"^conformance/?$", machine_view(views.ConformanceView.as_view()), name="ogc-conformance"),
    re_path(r"^api/?$", machine_view(views.ApiDefinitionView.as_view()), name="ogc-api"),
    re_path(r"^collections/?$", machine_view(views.CollectionsView.as_view()), name="ogc-collections"),
    re_path(rf"^collections/{COLLECTION}/?$", machine_view(views.CollectionView.as_view()), name="ogc-collection"),
    re_path(rf"^collections/{COLLECTION}/items/?$", machine_view(views.ItemsView.as_view()), name="ogc-items"),
    re_path(rf"^collections/{COLLECTION}/items/{FEATURE}/?$", machine_view(views.ItemView.as_view()), name="ogc-item"),
]
