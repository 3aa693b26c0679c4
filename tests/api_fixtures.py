"""A small register for the API, OGC and query-page tests: assets at known places with known attributes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import shapely

from assets.models import Agency, JenisHak, LandAsset, Stage
from assets.register import geo, services
from tests.factories import make_asset, point_inside, square


def offset_point(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The lon/lat lying east_m/north_m metres from (lon, lat) in the metric CRS."""
    x, y = geo.to_metric(shapely.Point(lon, lat)).coords[0]
    moved = geo.from_metric(shapely.Point(x + east_m, y + north_m))
    return moved.x, moved.y


def metres_between(asset: LandAsset, lon: float, lat: float) -> float:
    return geo.to_metric(geo.to_shapely(asset.geom)).distance(geo.to_metric(shapely.Point(lon, lat)))


def build_register() -> dict[str, LandAsset]:
    own = Agency.objects.get(code="1.01.01")
    other = Agency.objects.get(code="1.02.01")
    kota = make_asset(
        agency=own,
        geom=square(*point_inside("64.71.06.1003")),  # Klandasan Ulu, Balikpapan Kota
        nama_barang="Tanah Kantor Walikota",
        tahun_perolehan=2005,
        tanggal_perolehan=dt.date(2005, 3, 1),
        luas_kib_m2=Decimal("500.00"),
        nilai_perolehan=Decimal("1000000"),
    )
    services.certificate_create(
        asset=kota,
        user=None,
        stage=Stage.SERTIFIKAT_TERBIT,
        tanggal_tahap=dt.date(2006, 1, 1),
        jenis_hak=JenisHak.HP,
        nomor="10.01.02.03.4.00001",
        tanggal=dt.date(2006, 1, 1),
    )
    timur = make_asset(
        agency=other,
        geom=square(*point_inside("64.71.01.1001")),  # Manggar, Balikpapan Timur
        nama_barang="Tanah Puskesmas Manggar",
        tahun_perolehan=2015,
        tanggal_perolehan=dt.date(2015, 7, 9),
        luas_kib_m2=Decimal("5000.00"),
        nilai_perolehan=Decimal("2000000"),
    )
    services.certificate_create(
        asset=timur, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=dt.date(2016, 1, 1), jenis_hak=JenisHak.HPL
    )
    barat = make_asset(
        agency=own,
        geom=square(*point_inside("64.71.02.1004")),  # Kariangau, Balikpapan Barat
        nama_barang="Tanah SDN Kariangau",
        tahun_perolehan=2020,
        tanggal_perolehan=None,
        luas_kib_m2=Decimal("12000.00"),
        nilai_perolehan=Decimal("3000000"),
    )
    unplotted = make_asset(
        agency=other,
        geom=None,
        nama_barang="Tanah Makam",
        tahun_perolehan=1999,
        tanggal_perolehan=dt.date(1999, 12, 31),
        luas_kib_m2=Decimal("800.00"),
        nilai_perolehan=Decimal("4000000"),
    )
    for asset in (kota, timur, barat, unplotted):
        asset.refresh_from_db()
    return {"kota": kota, "timur": timur, "barat": barat, "unplotted": unplotted}
