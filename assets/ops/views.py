"""``/healthz`` for load balancers, container health checks and monitoring."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from assets.ops import health


@login_not_required  # probes carry no session; the answer names no data, only whether the parts are up
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.status()
    return JsonResponse(report, status=200 if report["ok"] else 503)
