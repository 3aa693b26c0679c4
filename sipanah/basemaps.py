"""The basemaps of the maps, read from the environment by sipanah/settings.py and checked at start-up.

Two ways to name them:

- ``SIPANAH_BASEMAP_URL`` (+ ``SIPANAH_BASEMAP_ATTRIBUTION``, ``SIPANAH_BASEMAP_NAME``): one XYZ tile template, the
  default OpenStreetMap; empty for none.
- ``SIPANAH_BASEMAPS``: a JSON list that replaces it, for several basemaps or a WMS (the city's orthophoto on its
  GeoServer)::

      [{"name": "OpenStreetMap", "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": "© OpenStreetMap contributors"},
       {"name": "Ortofoto 2024", "kind": "wms", "url": "https://gis.example.go.id/geoserver/wms",
        "layers": "balikpapan:ortofoto_2024", "format": "image/jpeg", "version": "1.3.0"}]

Each entry: ``name`` (required), ``url`` (required; http(s) or a path on this server), ``kind`` ``xyz`` (default) or
``wms``, ``attribution``, ``key`` (what a user's choice is stored as; default from the name); WMS also ``layers``
(required), ``format`` (``image/png``), ``version`` (``1.1.1``; or ``1.3.0``), ``styles`` (""), ``transparent``
(false). The first is every user's basemap until they choose another or "no basemap".

No Django imports: settings.py calls this while Django is not set up.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured

KINDS = ("xyz", "wms")
WMS_VERSIONS = ("1.1.1", "1.3.0")
NONE_KEY = "none"  # the users' "no basemap" choice: never a basemap's key
_FIELDS = {"key", "name", "url", "kind", "attribution", "layers", "format", "version", "styles", "transparent"}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]


def catalogue(
    *, json_text: str, url: str, attribution: str, name: str, source: str = "SIPANAH_BASEMAPS"
) -> tuple[dict[str, Any], ...]:
    """The configured basemaps as plain dicts (assets.register.basemaps turns them into ``Basemap``); a clear
    ImproperlyConfigured naming the variable, the entry and the field for anything wrong."""
    if not json_text.strip():
        if not url:
            return ()
        return (_check({"name": name or "Basemap", "url": url, "attribution": attribution}, "SIPANAH_BASEMAP_URL"),)
    try:
        entries = json.loads(json_text)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{source} must be a JSON list of basemaps: {exc}") from exc
    if not isinstance(entries, list):
        raise ImproperlyConfigured(f"{source} must be a JSON list of basemaps, got {type(entries).__name__}")
    out = tuple(_check(entry, f"{source}[{i}]") for i, entry in enumerate(entries))
    keys = [entry["key"] for entry in out]
    for key in keys:
        if keys.count(key) > 1:
            raise ImproperlyConfigured(f"{source}: two basemaps have the key {key!r}; give them different names")
    return out


def _check(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ImproperlyConfigured(f"{where} must be a JSON object, got {entry!r}")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ImproperlyConfigured(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    name = entry.get("name")
    url = entry.get("url")
    if not isinstance(name, str) or not name.strip():
        raise ImproperlyConfigured(f"{where}: 'name' is required")
    if not isinstance(url, str) or not url.strip():
        raise ImproperlyConfigured(f"{where}: 'url' is required")
    kind = entry.get("kind", "xyz")
    if kind not in KINDS:
        raise ImproperlyConfigured(f"{where}: 'kind' must be xyz or wms, got {kind!r}")
    key = str(entry.get("key") or _key(name))
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", key) or key == NONE_KEY:
        raise ImproperlyConfigured(f"{where}: 'key' must be 1-40 of a-z, 0-9 and '-' (not 'none'), got {key!r}")
    out = {
        "key": key,
        "name": name.strip(),
        "url": url.strip(),
        "kind": kind,
        "attribution": str(entry.get("attribution") or name.strip()),  # folium and OSM policy want a credit line
        "layers": str(entry.get("layers", "")),
        "format": str(entry.get("format", "image/png")),
        "version": str(entry.get("version", "1.1.1")),
        "styles": str(entry.get("styles", "")),
        "transparent": bool(entry.get("transparent", False)),
    }
    if kind == "xyz" and not all(p in out["url"] for p in ("{z}", "{x}", "{y}")):
        raise ImproperlyConfigured(f"{where}: an XYZ 'url' needs {{z}}, {{x}} and {{y}}, got {out['url']!r}")
    if kind == "wms":
        if not out["layers"]:
            raise ImproperlyConfigured(f"{where}: a WMS needs 'layers'")
        if out["version"] not in WMS_VERSIONS:
            raise ImproperlyConfigured(f"{where}: 'version' must be 1.1.1 or 1.3.0, got {out['version']!r}")
        if "{" in out["url"]:
            raise ImproperlyConfigured(f"{where}: a WMS 'url' is the service address, without placeholders")
    return out
