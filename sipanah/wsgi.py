"""WSGI entry point (gunicorn sipanah.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")
application = get_wsgi_application()
# Import the URLconf, and with it every view module (folium, DRF, the map code), while the worker boots: otherwise
# the first request of each new worker waits 1-3 s for it (a worker is replaced after a crash, a timeout or
# GUNICORN_MAX_REQUESTS requests).
get_resolver().url_patterns  # noqa: B018 - the attribute access does the import
