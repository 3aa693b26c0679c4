"""The export's three ways of writing give the same files: GDAL reading the SQL statement itself (PostgreSQL,
outside a transaction), the same statement's rows written one by one, and the records written one by one (the
reference: asset_values on LandAssets, or as of a date on the records of assets.register.history). As of a date
the statement reads the history rows valid at the date (PostgreSQL, every row with history)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.http import QueryDict
from django.test import TransactionTestCase
from django.utils import timezone
from osgeo import ogr
from shapely import from_wkt

from assets.models import Agency, Certificate, LandAsset, Stage
from assets.register import kib, services
from assets.register.reads import RegisterSelection
from assets.transfer import exports
from tests.factories import load_reference, make_asset, point_inside
from tests.transfer.import_case import ImportTestCase

CASES = [("gpkg", 4326), ("gpkg", 23837), ("shp", 4326), ("shp", 23837), ("geojson", 4326), ("geojson", 23837),
         ("kml", 4326), ("csv", 4326), ("csv", 23837)]  # fmt: skip


def parcel(code: str, size: float = 0.0004) -> MultiPolygon:
    lon, lat = point_inside(code)
    ring = ((lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat))
    return MultiPolygon(Polygon(ring), srid=4326)


def make_register() -> None:
    agency = Agency.objects.get(code="1.01.01")
    # Two certificates, the leading one (its stage is the asset's) not the first by id.
    two = make_asset(
        agency=agency, geom=parcel("64.71.05.1002"), nibar="6471000000001", nama_barang="Tanah Café O'Neil 100%"
    )
    services.certificate_create(asset=two, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=dt.date(2014, 1, 5))
    services.certificate_create(
        asset=two, user=None, stage=Stage.SERTIFIKAT_TERBIT, tanggal_tahap=dt.date(2015, 3, 2), jenis_hak="HP",
        nomor="16.01.05.02.4.00123", tanggal=dt.date(2015, 3, 2), nib="16010502000123",
        atas_nama="Pemerintah Kota Balikpapan", luas_sertifikat_m2=Decimal("1999.50"),
    )  # fmt: skip
    # Text a spreadsheet would take for a formula, an empty address, a quote in the name.
    make_asset(agency=agency, geom=parcel("64.71.02.1001"), nama_barang="=HYPERLINK(\"x\")", alamat="",
               keterangan="-1+2", penggunaan="Kantor", tanggal_perolehan=None)  # fmt: skip
    make_asset(agency=Agency.objects.get(code="1.02.01"), geom=None, keterangan="Lokasi belum diketahui")


def change_after(day: dt.date) -> None:
    """Date the register's history rows on ``day`` (noon, Balikpapan's time), then change it now: an asset's name,
    area and certificate stage, a new certificate, an asset removed; as of ``day`` the export is the register
    before."""
    noon = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    for model in (LandAsset, Certificate):
        model.history.model.objects.update(history_date=noon)
    two = LandAsset.objects.get(nibar="6471000000001")
    services.asset_update(asset=two, user=None, data={"nama_barang": "Tanah Baru", "luas_kib_m2": Decimal(1234)})
    leading = Certificate.objects.filter(asset=two).order_by("id").last()
    services.certificate_change_stage(certificate=leading, user=None, to_stage=Stage.DIBLOKIR,
                                      tanggal_tahap=timezone.localdate())  # fmt: skip
    other = LandAsset.objects.get(penggunaan="Kantor")
    services.certificate_create(asset=other, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=timezone.localdate())
    removed = LandAsset.objects.get(keterangan="Lokasi belum diketahui")
    services.asset_remove(asset=removed, user=None, sk_nomor="SK 9", tanggal=timezone.localdate())


def read(path: Path) -> tuple[list[tuple[str, str]], list[tuple[dict[str, Any], Any]]]:
    """A written file's fields (name, type) and features (values by name, geometry as shapely)."""
    name = f"/vsizip/{path}/land_assets.shp" if path.suffix == ".zip" else str(path)
    dataset = ogr.Open(name)
    layer = dataset.GetLayer(0)
    definition = layer.GetLayerDefn()
    fields = [(definition.GetFieldDefn(i).GetName(), definition.GetFieldDefn(i).GetTypeName())
              for i in range(definition.GetFieldCount())]  # fmt: skip
    features = []
    for feature in layer:
        values = {n: feature.GetField(i) for i, (n, _t) in enumerate(fields)}
        geometry = feature.GetGeometryRef()
        wkt = next((v for n, v in values.items() if n.startswith("wkt_epsg_")), None)
        if wkt is not None:
            values.pop(next(n for n in values if n.startswith("wkt_epsg_")))
        shape = from_wkt(geometry.ExportToIsoWkt()) if geometry is not None else (from_wkt(wkt) if wkt else None)
        features.append((values, shape))
    dataset = None
    return fields, features


class PathsMixin:
    tmp: Path

    def assert_same_file(self, fmt: str, srid: int, *, direct: bool | None, params: str = "removed=include") -> None:
        selection = RegisterSelection.from_params(QueryDict(params))
        suffix = exports.FORMATS[fmt].suffix
        ours, reference = self.tmp / f"ours-{fmt}-{srid}{suffix}", self.tmp / f"ref-{fmt}-{srid}{suffix}"
        count = exports.write_export(selection, fmt=fmt, path=ours, srid=srid, direct=direct)
        self.assertEqual(exports.write_export(selection.records(), fmt=fmt, path=reference, srid=srid), count)
        (fields, features), (ref_fields, ref_features) = read(ours), read(reference)
        self.assertEqual(fields, ref_fields)  # names, order and types
        self.assertEqual(len(features), count)
        tolerance = 1e-9 if srid == 4326 else 1e-4  # degrees, metres
        for (values, shape), (ref_values, ref_shape) in zip(features, ref_features, strict=True):
            self.assertEqual(values, ref_values)
            if ref_shape is None:
                self.assertIsNone(shape)
            else:
                self.assertTrue(shape.equals_exact(ref_shape, tolerance), (shape.wkt, ref_shape.wkt))


class StatementRowsTests(PathsMixin, ImportTestCase):
    """The statement's rows (Django's connection: inside the test's transaction) against the records."""

    def setUp(self):
        super().setUp()
        make_register()

    def test_every_format_matches_the_records(self):
        for fmt, srid in CASES:
            with self.subTest(fmt=fmt, srid=srid):
                self.assert_same_file(fmt, srid, direct=False)

    def test_filters_with_quotes_and_percent(self):
        self.assert_same_file("gpkg", 4326, direct=False, params="q=O'Neil 100%25&agency=1.01.01")
        self.assertEqual([v["nama_barang"] for v, _s in read(self.tmp / "ours-gpkg-4326.gpkg")[1]],
                         ["Tanah Café O'Neil 100%"])  # fmt: skip

    def test_the_leading_certificate_and_quoted_formula(self):
        path = self.tmp / "e.csv"
        exports.write_export(RegisterSelection.everything(), fmt="csv", path=path, direct=False)
        rows = {v["Nama Barang / Jenis Barang"]: v for v, _shape in read(path)[1]}
        self.assertEqual(
            rows["Tanah Café O'Neil 100%"]["Sertifikat Nomor"], "16.01.05.02.4.00123"
        )  # the second certificate
        self.assertEqual(rows["Tanah Café O'Neil 100%"]["Tahap Sertifikat"], Stage.SERTIFIKAT_TERBIT)
        self.assertEqual(rows['\'=HYPERLINK("x")']["Keterangan"], "'-1+2")
        self.assertEqual(rows['\'=HYPERLINK("x")']["Letak / Alamat"], "")  # empty, not missing

    def test_xlsx_from_the_statement_matches_the_records(self):
        ours_rows = self.assert_same_xlsx("removed=include")
        self.assertEqual(len(ours_rows), 4)
        dates = [v for v in ours_rows[1] if isinstance(v, dt.datetime)]
        self.assertTrue(dates, "dates are date cells, not text")

    def test_as_of_a_date_matches_the_records(self):
        change_after(dt.date(2020, 1, 1))
        for day in ("2021-01-01", timezone.localdate().isoformat()):
            for fmt, srid in CASES:
                with self.subTest(day=day, fmt=fmt, srid=srid):
                    self.assert_same_file(fmt, srid, direct=False, params=f"as_of={day}&removed=include")
            with self.subTest(day=day, fmt="xlsx"):
                self.assert_same_xlsx(f"as_of={day}&removed=include")

    def assert_same_xlsx(self, params: str) -> list[tuple]:
        from openpyxl import load_workbook

        selection = RegisterSelection.from_params(QueryDict(params))
        ours, reference = self.tmp / "ours.xlsx", self.tmp / "ref.xlsx"
        exports.write_export(selection, fmt="xlsx", path=ours, srid=23837)
        exports.write_export(selection.records(), fmt="xlsx", path=reference, srid=23837)

        def rows(path: Path) -> list[tuple]:
            return [tuple(row) for row in load_workbook(path, read_only=True)["KIB A"].iter_rows(values_only=True)]

        ours_rows, ref_rows = rows(ours), rows(reference)
        geometry = 1 + len(kib.xlsx_columns())  # after No. and the columns: the WKT (PostGIS's digits on PostgreSQL)
        self.assertEqual(ours_rows[0], ref_rows[0])
        for mine, theirs in zip(ours_rows[1:], ref_rows[1:], strict=True):
            cells, ref_cells = list(mine), list(theirs)
            wkt, ref_wkt = cells.pop(geometry), ref_cells.pop(geometry)
            self.assertEqual([v or None for v in cells], [v or None for v in ref_cells])  # "" and None: empty cells
            if ref_wkt is None:
                self.assertIsNone(wkt)
            else:
                self.assertTrue(from_wkt(wkt).equals_exact(from_wkt(ref_wkt), 1e-4), (wkt, ref_wkt))
        return ours_rows


@unittest.skipUnless(connection.vendor == "postgresql", "GDAL reads the statement itself on PostgreSQL only")
class DirectTests(PathsMixin, TransactionTestCase):
    """GDAL reading the statement through its own connection (the rows are committed here)."""

    def setUp(self):
        load_reference()
        make_register()
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_gdal_reads_outside_a_transaction_only(self):
        self.assertTrue(exports.gdal_reads_database())
        from django.db import transaction

        with transaction.atomic():
            self.assertFalse(exports.gdal_reads_database())

    def test_every_format_matches_the_records(self):
        for fmt, srid in CASES:
            with self.subTest(fmt=fmt, srid=srid):
                self.assert_same_file(fmt, srid, direct=None)

    def test_the_web_download_lets_gdal_read(self):
        from unittest import mock

        from django.urls import reverse

        from assets.register import permissions
        from tests.factories import make_user

        self.client.force_login(make_user("auditor", permissions.AUDITOR))
        with mock.patch.object(exports, "_translate", wraps=exports._translate) as translate:
            response = self.client.get(reverse("asset-export"), {"format": "gpkg", "agency": "1.01.01"})
            self.assertEqual(response.status_code, 200)
            path = self.tmp / "download.gpkg"
            path.write_bytes(b"".join(response.streaming_content))
        self.assertEqual(translate.call_count, 1)
        self.assertEqual(sorted(v["nama_barang"] for v, _s in read(path)[1]),
                         ["=HYPERLINK(\"x\")", "Tanah Café O'Neil 100%"])  # fmt: skip

    def test_as_of_a_date_every_format_matches_the_records(self):
        change_after(dt.date(2020, 1, 1))
        self.assertIsNotNone(exports._in_one_statement(RegisterSelection.from_params(QueryDict("as_of=2021-01-01"))))
        for day in ("2021-01-01", timezone.localdate().isoformat()):
            for fmt, srid in CASES:
                with self.subTest(day=day, fmt=fmt, srid=srid):
                    self.assert_same_file(fmt, srid, direct=None, params=f"as_of={day}&removed=include")
            with self.subTest(day=day, filtered=True):
                self.assert_same_file("gpkg", 4326, direct=None, params=f"as_of={day}&status=proses")

    def test_filters_with_quotes_and_percent(self):
        self.assert_same_file("gpkg", 4326, direct=None, params="q=O'Neil 100%25&agency=1.01.01")
        self.assertEqual([v["nama_barang"] for v, _s in read(self.tmp / "ours-gpkg-4326.gpkg")[1]],
                         ["Tanah Café O'Neil 100%"])  # fmt: skip
