"""The Content-Security-Policy of every response (django-csp's CONTENT_SECURITY_POLICY), built in one place.

No page may run a script that Sipanah did not serve from its own origin or mark with the response's nonce:
``script-src 'self' 'nonce-…'`` without 'unsafe-inline' or 'unsafe-eval'. folium's inline map scripts get the nonce
in ``assets.maps.render_map_parts``; the geometry widget and Swagger UI run from static files.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

_PLACEHOLDER_LABEL = re.compile(r"^\{[^}]*\}$")  # {s}, {a-c}: Leaflet/OpenLayers subdomain templates


def basemap_source(url: str) -> str | None:
    """The CSP source expression of a basemap tile template: ``https://{s}.tile.example.org/{z}/{x}/{y}.png`` ->
    ``https://*.tile.example.org``; None for no basemap or one on this server (a path: 'self' covers it)."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.netloc:
        return None
    if parts.scheme not in ("http", "https"):
        raise ImproperlyConfigured(
            f"SIPANAH_BASEMAP_URL (or a SIPANAH_BASEMAPS url) must be an http(s) URL or a path, got {url!r}"
        )
    labels = parts.netloc.split(".")
    if _PLACEHOLDER_LABEL.match(labels[0]):
        labels[0] = "*"
    host = ".".join(labels)
    if "{" in host or "}" in host:
        raise ImproperlyConfigured(
            f"SIPANAH_BASEMAP_URL (or a SIPANAH_BASEMAPS url) may use a placeholder only as the first label of its "
            f"host name, got {url!r}"
        )
    return f"{parts.scheme}://{host}"


def content_security_policy(*basemap_urls: str) -> dict:
    """The policy; ``basemap_urls`` are the configured basemaps' tile templates or WMS addresses, whose hosts (and
    nothing else) become image sources."""
    hosts = list(dict.fromkeys(h for h in map(basemap_source, basemap_urls) if h))
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            # The nonce is added to the header only on responses that used request.csp_nonce (django-csp).
            "script-src": [SELF, NONCE],
            # 'unsafe-inline' for styles only: Leaflet's controls and folium's map set inline styles (folium writes a
            # <style> per map and its legend/tooltip HTML carries style attributes), OpenLayers and Swagger UI
            # inject <style> elements, and status bars on the home page are sized with style="width: …%". Styles
            # cannot run code; scripts stay strict.
            "style-src": [SELF, "'unsafe-inline'"],
            # data: and blob: for the images Leaflet, OpenLayers and Swagger UI build in the page; the basemap's
            # tiles are <img> elements from its host.
            "img-src": [SELF, "data:", "blob:", *hosts],
            "font-src": [SELF, "data:"],
            "connect-src": [SELF],
            "object-src": [NONE],
            "base-uri": [SELF],
            "frame-ancestors": [NONE],
            "form-action": [SELF],
        }
    }
