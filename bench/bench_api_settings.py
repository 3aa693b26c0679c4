"""Settings for bench/bench_api.py: the app's settings, nothing written to the read-only bench databases.

Every request is an in-memory planner set by a middleware (no login, no session row, no token row);
DRF's session authentication picks that user up, exactly as it does a signed-in browser's.
"""

from __future__ import annotations

from sipanah.settings import *  # noqa: F403
from sipanah.settings import MIDDLEWARE

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MIDDLEWARE = [*MIDDLEWARE, "bench.bench_api_settings.BenchPlannerMiddleware"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


class BenchPlannerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from assets.models import User
        from assets.register import permissions

        user = User(username="bench-planner")
        user._sipanah_roles = frozenset({permissions.PLANNER})
        request.user = user
        return self.get_response(request)
