"""URLs of the REST API (under /api/v1/) and its OpenAPI schema and self-hosted documentation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from assets.interop.auth import machine_view
from assets.interop.encumbrance_api import CaseViewSet, UtilisationViewSet
from assets.interop.rest import AssetViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("assets", AssetViewSet, basename="api-asset")
router.register("cases", CaseViewSet, basename="api-case")
router.register("utilisations", UtilisationViewSet, basename="api-utilisation")

urlpatterns = [
    # The schema answers machine clients (401, not a login redirect); the docs page is for signed-in people.
    path("schema/", machine_view(SpectacularAPIView.as_view()), name="api-schema"),
    # The split view serves Swagger UI's start-up code as a script of its own (?script): no inline script, which
    # the Content-Security-Policy would block.
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
]
router_urls = router.urls
for pattern in router_urls:
    pattern.callback = machine_view(pattern.callback)
urlpatterns += router_urls
