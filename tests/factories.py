"""Shared test helpers: reference data, users per role and parcels placed in Balikpapan."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable
from decimal import Decimal
from itertools import count
from pathlib import Path

import mapbox_vector_tile
from django.contrib.auth.models import Group
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.test import override_settings

from assets.models import AdministrativeArea, Agency, AsalUsul, LandAsset, User
from assets.register import permissions, services
from assets.register.reference import load_agencies, load_boundaries

_register = count(1)


def temp_media_root(add_cleanup: Callable[..., None]) -> Path:
    """A throw-away MEDIA_ROOT (import files, the worker's heartbeat) until ``add_cleanup``'s cleanups run: pass a
    test's ``self.addCleanup``, or ``cls.addClassCleanup`` in ``setUpClass``."""
    folder = tempfile.TemporaryDirectory()
    add_cleanup(folder.cleanup)
    override = override_settings(MEDIA_ROOT=folder.name)
    override.enable()
    add_cleanup(override.disable)
    return Path(folder.name)


def load_reference() -> None:
    load_boundaries()
    load_agencies()
    permissions.ensure_role_groups()


def make_user(username: str, role: str | None, agency: Agency | None = None) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, agency=agency)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def square(lon: float, lat: float, half_side_deg: float = 0.0005, srid: int = 4326) -> MultiPolygon:
    x0, y0, x1, y1 = lon - half_side_deg, lat - half_side_deg, lon + half_side_deg, lat + half_side_deg
    return MultiPolygon(Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))), srid=srid)


def point_inside(code: str) -> tuple[float, float]:
    """A point well inside the kelurahan with this Kemendagri code."""
    geom: GEOSGeometry = AdministrativeArea.objects.get(code=code).geom
    point = geom.point_on_surface
    return point.x, point.y


def make_asset(agency: Agency | None = None, geom: GEOSGeometry | None = None, **fields) -> LandAsset:
    defaults = {
        "kode_barang": "1.3.1.01.01.01.001",
        "nomor_register": str(next(_register)),
        "nama_barang": "Tanah Kantor Kelurahan",
        "agency": agency or Agency.objects.order_by("code").first(),
        "tahun_perolehan": 2010,
        "tanggal_perolehan": dt.date(2010, 5, 17),
        "asal_usul": AsalUsul.PEMBELIAN,
        "nilai_perolehan": Decimal("1250000000"),
        "luas_kib_m2": Decimal("1200.00"),
    }
    defaults.update(fields)
    return services.asset_create(user=None, geom=geom, **defaults)


def five_parcel_geojson(folder: Path) -> Path:
    """A GeoJSON file of 5 KIB A rows of one agency (register numbers 1-5), rows 1, 3 and 5 with a 4e-4° square in
    a kelurahan of the city, 2 and 4 without geometry: the input of the tests of the importer's write path."""
    lon, lat = point_inside("64.71.05.1002")
    geometry = json.loads(square(lon + 2e-4, lat + 2e-4, 2e-4).json)
    base = {
        "kode_barang": "1.3.1.01.01.01.001", "nama_barang": "Tanah Kantor", "opd": "1.01.01",
        "tahun_perolehan": 2012, "asal_usul": "Pembelian", "harga": "1.250.000", "luas": "1200,5",
    }  # fmt: skip
    features = [
        {"type": "Feature", "properties": {**base, "no_register": str(i)}, "geometry": geometry if i % 2 else None}
        for i in range(1, 6)
    ]
    path = folder / "in.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def import_messages(report) -> str:
    """An import report's errors, one "feature:field:message" per line (what the import tests assert on)."""
    return "\n".join(f"{i.feature}:{i.field}:{i.message}" for i in report.errors)


def every_record():
    """Every asset of the live register, removed ones too, as the exports read them (assets.register.reads)."""
    from assets.register.reads import RegisterSelection

    return RegisterSelection.from_params({"removed": "include"}).records()


def tile_features(tile: bytes) -> dict[str, list[str]]:
    """A tile's features per layer, in a stable order: the order of a tile's features is the order its rows came
    in, which the plan and the tables' physical layout decide (left by earlier tests), and means nothing."""
    return {
        name: sorted(json.dumps(feature, sort_keys=True) for feature in layer["features"])
        for name, layer in mapbox_vector_tile.decode(tile).items()
    }
