"""The import preview you can trust (issue 13): updates shown before → after with the asset named, unchanged rows
counted, overlaps over the register and within the file in m² (warnings, errors when strict), what an update may
overwrite, the same report on the command line (--dry-run) as on the web page."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import CommandError, call_command

from assets.lib import formats
from assets.models import LandAsset
from assets.register import geo
from assets.transfer.importing.report import change_lines
from assets.transfer.importing.run import format_report, run_import
from tests.factories import make_asset, point_inside
from tests.transfer.import_case import ImportTestCase

KODE = "1.3.1.01.01.01.001"


def metric_square(x: float, y: float, side: float) -> GEOSGeometry:
    """A square of ``side`` metres with its south-west corner at (x, y) in TM-3 (the metric CRS), as lon/lat."""
    shape = geo.from_metric(shapely.box(x, y, x + side, y + side))
    return GEOSGeometry(memoryview(shapely.to_wkb(shapely.multipolygons([shape]))), srid=4326)


class PreviewCase(ImportTestCase):
    def setUp(self):
        super().setUp()
        lon, lat = point_inside("64.71.05.1002")
        origin = geo.to_metric(shapely.Point(lon, lat))
        self.x, self.y = origin.x, origin.y

    def square(self, dx: float, dy: float = 0.0, side: float = 40.0) -> GEOSGeometry:
        return metric_square(self.x + dx, self.y + dy, side)

    def feature(self, register: str, geom: GEOSGeometry | None, **properties) -> dict:
        values = {"kode_barang": KODE, "nomor_register": register, "nama_barang": "Tanah Kantor Kelurahan",
                  "agency": "1.01.01", "tahun_perolehan": 2010, "tanggal_perolehan": "2010-05-17",
                  "asal_usul": "Pembelian", "nilai_perolehan": 1250000000, "luas_kib_m2": 1200}  # fmt: skip
        values.update(properties)
        geometry = json.loads(geom.json) if geom is not None else None
        return {"type": "Feature", "properties": values, "geometry": geometry}

    def write(self, features: list[dict], name: str = "parcels.geojson"):
        path = self.tmp / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        return path

    def asset(self, register: str, geom: GEOSGeometry | None, **fields) -> LandAsset:
        return make_asset(agency=self.agency, geom=geom, nomor_register=register, **fields)


class UpdateDiffTests(PreviewCase):
    def test_updates_show_each_field_before_and_after_and_unchanged_rows_are_counted(self):
        changed = self.asset("0001", self.square(0))
        same = self.asset("0002", self.square(100))
        path = self.write([
            self.feature("1", self.square(0, side=50), nama_barang="Tanah Taman Kota", nilai_perolehan=1500000000),
            self.feature("2", self.square(100)),  # exactly what the register holds
            self.feature("3", self.square(200)),  # new
        ])  # fmt: skip
        report = run_import(path, dry_run=True)
        self.assertTrue(report.ok, report.errors)
        self.assertEqual((report.created, report.updated, report.unchanged), (1, 1, 1))
        (change,) = report.changes
        self.assertEqual((change["n"], change["asset_id"]), (1, changed.pk))
        by_field = {f["field"]: (f["before"], f["after"]) for f in change["fields"]}
        self.assertEqual(by_field["nama_barang"], ("Tanah Kantor Kelurahan", "Tanah Taman Kota"))
        self.assertEqual(by_field["nilai_perolehan"], ("Rp 1,250,000,000", "Rp 1,500,000,000"))  # as the UI shows
        before, after = by_field["geom"]
        self.assertIn("geometry changed", after)
        self.assertEqual(before, formats.m2(changed.luas_gis_m2))  # 40 m x 40 m: 1,599.34 m² geodesic
        self.assertRegex(after, r"^2,49\d\.\d\d m² \(geometry changed, \+89\d\.\d\d m²\)$")
        self.assertEqual(set(by_field), {"nama_barang", "nilai_perolehan", "geom"})
        self.assertNotIn(same.pk, [c["asset_id"] for c in report.changes])
        # The command line prints the same diff, from the same report
        text = format_report(report)
        self.assertIn(f"Feature 1 updates asset {KODE}/0001 Tanah Taman Kota (#{changed.pk}):", text)
        self.assertIn("Tanah Kantor Kelurahan → Tanah Taman Kota", text)
        self.assertIn("1 updated assets, 1 unchanged", text)
        self.assertEqual(change_lines(report.as_dict()), change_lines(report))
        # Unchanged rows are not written: the asset keeps its version
        report = run_import(path)
        self.assertTrue(report.committed)
        same.refresh_from_db()
        changed.refresh_from_db()
        self.assertEqual((same.version, changed.version, changed.nama_barang), (1, 2, "Tanah Taman Kota"))

    def test_update_geometry_only_leaves_the_attributes(self):
        asset = self.asset("0001", self.square(0))
        path = self.write([self.feature("1", self.square(0, side=50), nama_barang="Lain", nilai_perolehan=7)])
        report = run_import(path, update="geometry", dry_run=True)
        self.assertEqual([f["field"] for f in report.changes[0]["fields"]], ["geom"])
        report = run_import(path, update="geometry")
        self.assertTrue(report.committed, report.errors)
        asset.refresh_from_db()
        self.assertEqual((asset.nama_barang, asset.nilai_perolehan), ("Tanah Kantor Kelurahan", Decimal(1250000000)))
        self.assertAlmostEqual(float(asset.luas_gis_m2), 2500, delta=3)

    def test_update_attributes_only_leaves_the_geometry(self):
        asset = self.asset("0001", self.square(0))
        area = asset.luas_gis_m2
        path = self.write([self.feature("1", self.square(500, side=50), nama_barang="Lain")])
        report = run_import(path, update="attributes", dry_run=True)
        self.assertEqual([f["field"] for f in report.changes[0]["fields"]], ["nama_barang"])
        self.assertEqual(report.overlap_count, 0)
        report = run_import(path, update="attributes")
        self.assertTrue(report.committed, report.errors)
        asset.refresh_from_db()
        self.assertEqual((asset.nama_barang, asset.luas_gis_m2), ("Lain", area))
        # a row bringing only the same geometry with --update=geometry changes nothing
        report = run_import(self.write([self.feature("1", self.square(0), nama_barang="X")]), update="geometry")
        self.assertEqual((report.updated, report.unchanged), (0, 1))


class OverlapTests(PreviewCase):
    # 40 m squares, the second shifted by 28.325 m: they share 11.675 m x 40 m = 467 m² (in TM-3 metres; the
    # geodesic area differs by the projection's scale, well under 1 m² here)
    SHIFT = 40 - 467 / 40

    def test_a_new_parcel_over_a_register_parcel_is_a_warning_with_its_area(self):
        existing = self.asset("0001", self.square(0))
        removed = self.asset("0009", self.square(self.SHIFT))
        LandAsset.objects.filter(pk=removed.pk).update(removed_at="2024-01-01")  # removed: not the live register
        path = self.write([self.feature("2", self.square(self.SHIFT)), self.feature("3", self.square(300))])
        report = run_import(path, dry_run=True)
        self.assertTrue(report.ok, report.errors)
        self.assertEqual(report.overlap_count, 1)
        (overlap,) = report.overlaps
        self.assertEqual((overlap["n"], overlap["asset_id"]), (1, existing.pk))
        self.assertAlmostEqual(overlap["area_m2"], 467, delta=1)
        area = formats.m2(overlap["area_m2"])  # "466.81 m²": geodesic, the TM-3 square's 467 m² within its scale
        self.assertIn(f"Feature 1: The parcel lies {area} over asset {existing} of the register.", report.warnings)
        self.assertIn("Overlaps (1):", format_report(report))

    def test_the_updated_asset_itself_is_no_overlap(self):
        self.asset("0001", self.square(0))
        report = run_import(self.write([self.feature("1", self.square(5))]), dry_run=True)
        self.assertEqual((report.updated, report.overlap_count), (1, 0))

    def test_parcels_of_the_file_over_each_other(self):
        path = self.write([self.feature("1", self.square(0)), self.feature("2", self.square(self.SHIFT)),
                           self.feature("3", self.square(40))])  # 3 only touches 1 along an edge  # fmt: skip
        report = run_import(path, dry_run=True)
        self.assertEqual(report.overlap_count, 2, report.overlaps)  # 2 over 1, 3 over 2
        first = report.overlaps[0]
        self.assertEqual((first["n"], first["other_n"], first["asset_id"]), (2, 1, None))
        self.assertAlmostEqual(first["area_m2"], 467, delta=1)
        self.assertEqual((report.overlaps[1]["n"], report.overlaps[1]["other_n"]), (3, 2))

    def test_strict_makes_overlaps_errors_and_writes_nothing(self):
        self.asset("0001", self.square(0))
        path = self.write([self.feature("2", self.square(self.SHIFT)), self.feature("3", self.square(300))])
        report = run_import(path, strict=True)
        self.assertFalse(report.committed)
        self.assertEqual([(e.feature, e.field) for e in report.errors], [(1, "geom")])
        self.assertRegex(report.errors[0].message, r"^The parcel lies 46[67]\.\d\d m² over asset")
        self.assertEqual(LandAsset.objects.count(), 1)
        # the command line: --strict refuses, --dry-run alone warns and exits 0
        out = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("import_assets", str(path), "--strict", stdout=out)
        self.assertIn("over asset", out.getvalue())
        out = io.StringIO()
        call_command("import_assets", str(path), "--dry-run", stdout=out)
        self.assertIn("Overlaps (1):", out.getvalue())
        self.assertEqual(LandAsset.objects.count(), 1)

    def test_command_line_update_choice(self):
        asset = self.asset("0001", self.square(0))
        path = self.write([self.feature("1", self.square(0, side=50), nama_barang="Lain")])
        out = io.StringIO()
        call_command("import_assets", str(path), "--update", "attributes", stdout=out)
        asset.refresh_from_db()
        self.assertEqual(asset.nama_barang, "Lain")
        self.assertAlmostEqual(float(asset.luas_gis_m2), 1600, delta=3)
