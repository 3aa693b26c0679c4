"""The page a locked-out login gets (django-axes calls lockout_response; see AXES_* in sipanah/settings.py).

Our own page instead of django-axes' plain English text: it is translated, says how long the lock lasts and
whom to ask, and keeps the site's layout.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    cool_off = get_cool_off(request)
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": max(1, round(cool_off.total_seconds() / 60)) if cool_off else None,
    }
    # 429 Too Many Requests, as django-axes answers by default.
    return render(request, "registration/locked_out.html", context, status=429)
