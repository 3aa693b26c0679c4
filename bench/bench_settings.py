"""Settings for bench/bench_maps.py: the app's settings, with nothing written to the read-only bench databases.

Every request is an in-memory auditor (no login, no session row); the plain folium page is served as a static file.
"""

from __future__ import annotations

import os

from sipanah.settings import *  # noqa: F403
from sipanah.settings import MIDDLEWARE

# As in production (the import above computed the rest with SIPANAH_DEBUG=1: no HTTPS redirect, no whitenoise):
# with DEBUG on, every query would also be logged in connection.queries, which the raw-SQL arm does not pay.
DEBUG = False
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MIDDLEWARE = [*MIDDLEWARE, "bench.bench_settings.BenchAuditorMiddleware"]
STATIC_ROOT_BENCH = os.environ["SIPANAH_BENCH_STATIC"]
STATICFILES_DIRS = [("bench-plain", STATIC_ROOT_BENCH)]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


class BenchAuditorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from assets.models import User
        from assets.register import permissions

        user = User(username="bench-auditor", first_name="Bench")
        user._sipanah_roles = frozenset({permissions.AUDITOR})
        request.user = user
        return self.get_response(request)
