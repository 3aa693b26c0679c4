"""Reference data shipped in fixtures/: Balikpapan's boundaries and agencies (OPD)."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction

from assets.register.models import AdministrativeArea, Agency

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
BOUNDARY_FILES = (
    (AdministrativeArea.Level.KOTA, "balikpapan/balikpapan_kota.geojson", None),
    (AdministrativeArea.Level.KECAMATAN, "balikpapan/balikpapan_kecamatan.geojson", "kode_kota"),
    (AdministrativeArea.Level.KELURAHAN, "balikpapan/balikpapan_kelurahan.geojson", "kode_kec"),
)


def _multipolygon(geometry: dict) -> MultiPolygon:
    geom = GEOSGeometry(json.dumps(geometry), srid=4326)
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon(geom, srid=4326)


@transaction.atomic
def load_boundaries() -> int:
    """Create or update the kota, kecamatan and kelurahan; returns how many were new."""
    created_count = 0
    for level, path, parent_key in BOUNDARY_FILES:
        data = json.loads((FIXTURES / path).read_text(encoding="utf-8"))
        for feature in data["features"]:
            props = feature["properties"]
            parent = AdministrativeArea.objects.get(code=props[parent_key]) if parent_key else None
            defaults = {
                "level": level,
                "name": props["nama"],
                "parent": parent,
                "geom": _multipolygon(feature["geometry"]),
            }
            _area, created = AdministrativeArea.objects.update_or_create(code=props["kode"], defaults=defaults)
            created_count += created
    return created_count


@transaction.atomic
def load_agencies() -> int:
    written = 0
    for row in json.loads((FIXTURES / "agencies.json").read_text(encoding="utf-8")):
        _agency, created = Agency.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})
        written += created
    return written
