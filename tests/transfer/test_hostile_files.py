"""Files that would stop or exhaust the reader (the hardening issue's findings 1, 4-7, 13): each is refused within the
import's budget with a message that names the problem, and nothing is written. The reading runs in a child process
(assets.transfer.importing.sandbox); these tests use small budgets so that they finish in seconds."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
import zipfile
from pathlib import Path
from unittest import mock

from django.core.files.base import ContentFile
from osgeo import ogr

from assets.models import ImportJob, LandAsset
from assets.ops import worker
from assets.register import permissions
from assets.transfer.importing import geometry
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.run import run_import
from assets.transfer.importing.source import SUFFIX_FORMATS
from tests.factories import import_messages as _messages
from tests.factories import make_user, temp_media_root
from tests.transfer.import_case import ImportTestCase


def nested_blocks_dxf(levels: int, fan: int = 10) -> str:
    """A DXF of a few KB: block B0 holds one closed polyline, each Bi inserts B(i-1) ``fan`` times, the drawing
    inserts the last: fan**levels polygons once GDAL inlines the blocks (levels=6: 10^6, ~20 s and ~200 MB)."""
    out = ["0", "SECTION", "2", "HEADER", "9", "$ACADVER", "1", "AC1015", "0", "ENDSEC", "0", "SECTION", "2", "BLOCKS"]

    def block(name: str, body: list[str]) -> None:
        out.extend(["0", "BLOCK", "8", "0", "2", name, "70", "0", "10", "0.0", "20", "0.0", "30", "0.0", "3", name])
        out.extend([*body, "0", "ENDBLK", "8", "0"])

    square = ["10", "0.0", "20", "0.0", "10", "1.0", "20", "0.0", "10", "1.0", "20", "1.0", "10", "0.0", "20", "1.0"]
    block("B0", ["0", "LWPOLYLINE", "8", "0", "90", "4", "70", "1", *square])
    for i in range(1, levels + 1):
        block(f"B{i}", [v for k in range(fan) for v in ("0", "INSERT", "8", "0", "2", f"B{i - 1}", "10", str(2.0 * k),
                                                         "20", "0.0", "30", "0.0")])  # fmt: skip
    out += ["0", "ENDSEC", "0", "SECTION", "2", "ENTITIES", "0", "INSERT", "8", "0", "2", f"B{levels}",
            "10", "116.8", "20", "-1.2", "30", "0.0", "0", "ENDSEC", "0", "EOF"]  # fmt: skip
    return "\n".join(out) + "\n"


class HostileReadingTests(ImportTestCase):
    def limits(self, **overrides: int) -> ImportLimits:
        return ImportLimits.from_settings(**overrides)

    def test_a_geopackage_view_that_never_ends_is_refused_by_name(self):
        path = self.tmp / "endless.gpkg"
        self.good_geopackage(path)
        with sqlite3.connect(path) as db:
            db.executescript(
                """
                DROP TABLE parcels;
                DELETE FROM gpkg_geometry_columns; DELETE FROM gpkg_contents;
                CREATE VIEW endless AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
                    SELECT i AS fid, NULL AS geom, 'x' AS kode_barang FROM n;
                INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES
                    ('endless', 'features', 'endless', 4326);
                INSERT INTO gpkg_geometry_columns VALUES ('endless', 'geom', 'GEOMETRY', 4326, 0, 0);
                """
            )
        started = time.monotonic()
        report = run_import(path, limits=self.limits(wall_seconds=20))
        self.assertLess(time.monotonic() - started, 15)
        self.assertIn("is a view or a virtual table", report.errors[0].message)
        self.assertEqual(LandAsset.objects.count(), 0)

    def good_geopackage(self, path) -> None:
        from osgeo import gdal

        source = self.tmp / "one.geojson"
        source.write_text(json.dumps({"type": "FeatureCollection", "features": [self.feature(1)]}))
        gdal.VectorTranslate(str(path), str(source), format="GPKG", layerName="parcels")

    def feature(self, n: int, **properties: object) -> dict:
        return {"type": "Feature", "geometry": json.loads(self.parcel().json), "properties": {
            "kode_barang": "1.3.1.01.01.01.001", "no_reg": str(n), "nama": "Tanah", "opd": "1.01.01", "tahun": 2010,
            "asal_usul": "HIBAH", "nilai": 1, "luas": 10, **properties}}  # fmt: skip

    def test_reading_past_the_wall_clock_budget_is_stopped(self):
        path = self.tmp / "nested.dxf"
        path.write_text(nested_blocks_dxf(6))  # ~20 s to read in full
        started = time.monotonic()
        report = run_import(path, limits=self.limits(wall_seconds=2))
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn("took longer than an import may take (2 s)", report.errors[0].message)
        self.assertEqual(LandAsset.objects.count(), 0)

    def test_reading_past_the_memory_budget_is_stopped(self):
        # The child's cap is what it maps at the fork plus the budget, and the heap the test process has freed but
        # kept (it varies along the suite) is reused without new mappings: 200 MB of reading once fit in that, and
        # the DXF's missing CRS refused the file instead. So the CRS is named, and the file needs ~2 GB to read.
        path = self.tmp / "nested.dxf"
        path.write_text(nested_blocks_dxf(7))
        report = run_import(path, srid="23837", limits=self.limits(memory_bytes=64 * 1024 * 1024, wall_seconds=120))
        self.assertRegex(report.errors[0].message, r"(more memory than an import may use|for want of memory).*64 MB")
        self.assertEqual(LandAsset.objects.count(), 0)

    def test_gdal_out_of_memory_in_a_step_that_words_its_errors_refuses_the_file(self):
        # Under the address-space cap GDAL sometimes reports a failed allocation as a plain error and goes on; the
        # steps that catch GDAL's errors (the extent for the CRS check, a geometry's WKB) must not take it for a
        # fact about the file (no extent; one bad geometry) and import what was read so far.
        path = self.tmp / "one.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [self.feature(1)]}))
        out_of_memory = RuntimeError("CPLMalloc(): Out of memory allocating 24 bytes.")
        for owner, target in ((ogr.Layer, "GetExtent"), (geometry, "_finish")):  # a geometry's step
            with self.subTest(target), mock.patch.object(owner, target, side_effect=out_of_memory):
                report = run_import(path)  # the reading's child is forked from here: it has the patch
                self.assertIn("more memory than an import may use", report.errors[0].message)
                self.assertEqual(LandAsset.objects.count(), 0)
        self.assertFalse(run_import(path).errors)  # the same file with memory to spare
        self.assertEqual(LandAsset.objects.count(), 1)

    def test_too_many_features_are_refused(self):
        features = [self.feature(n) for n in range(1, 31)]
        path = self.tmp / "many.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        report = run_import(path, limits=self.limits(max_features=10))
        self.assertIn("more than 10 features", report.errors[0].message)

    def test_a_text_longer_than_the_limit_is_a_feature_error(self):
        feature = self.feature(1, keterangan="x" * 500)
        path = self.tmp / "long.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
        report = run_import(path, limits=self.limits(max_text_length=100))
        [error] = report.errors
        self.assertEqual((error.feature, error.field), (1, "keterangan"))
        self.assertIn("500 characters long; at most 100", error.message)

    def test_every_zip_based_format_gets_the_archive_limits(self):
        bomb = self.tmp / "register.xlsx"  # an XLSX is a zip: 20 MB of spaces compress ~1000 times
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/worksheets/sheet1.xml", b" " * (20 << 20))
        self.assertIn("possible zip bomb", run_import(bomb).errors[0].message)
        disguised = self.tmp / "parcels.geojson"  # a zip whatever its name says
        disguised.write_bytes(bomb.read_bytes())
        self.assertIn("possible zip bomb", run_import(disguised).errors[0].message)

    def test_a_kml_larger_than_its_memory_cost_allows_is_refused(self):
        placemark = "<Placemark><name>x</name></Placemark>"
        kml = f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{placemark * 500}</Document></kml>'
        kmz = self.tmp / "parcels.kmz"
        with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("doc.kml", kml)
        report = run_import(kmz, limits=self.limits(max_xml_bytes=4096))
        self.assertIn("at most 4096 are accepted (a KML is read whole, in memory)", report.errors[0].message)

    def test_server_paths_stay_out_of_messages(self):
        broken = self.tmp / "broken.gpkg"
        broken.write_bytes(b"SQLite format 3\x00" + b"\x01" * 4096)
        message = run_import(broken).errors[0].message
        self.assertIn("broken.gpkg", message)
        self.assertNotIn(str(self.tmp), message)


class NoOutboundRequestTests(ImportTestCase):
    """Finding 4: a GeoJSON crs link made the reader fetch the URL. Refused by name when it is near the top; and the
    reading's network is closed, so a link further down fetches nothing either."""

    def setUp(self):
        super().setUp()
        # A listening socket nobody accepts on: a connection attempt completes in the kernel's backlog, where a
        # non-blocking accept() finds it afterwards (no thread, no waiting).
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(5)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.addCleanup(self.listener.close)

    def assert_no_connection(self) -> None:
        try:
            conn, _address = self.listener.accept()
        except BlockingIOError:
            return
        conn.close()
        self.fail("reading the file opened a connection")

    def geojson(self, features: int, crs_first: bool) -> str:
        crs = {"type": "link", "properties": {"href": f"http://127.0.0.1:{self.port}/x", "type": "proj4"}}
        geometry = json.loads(self.parcel().json)
        body = [
            {"type": "Feature", "geometry": geometry, "properties": {"n": i, "pad": "p" * 200}} for i in range(features)
        ]
        head = {"crs": crs} if crs_first else {}
        tail = {} if crs_first else {"crs": crs}
        return json.dumps({"type": "FeatureCollection", **head, "features": body, **tail})

    def test_a_crs_link_is_refused_and_nothing_is_fetched(self):
        near = self.tmp / "near.geojson"
        near.write_text(self.geojson(3, crs_first=True))
        self.assertIn("as a link (a URL)", run_import(near).errors[0].message)
        far = self.tmp / "far.geojson"  # the link after more than the first megabyte: GDAL meets it
        far.write_text(self.geojson(5000, crs_first=False))
        self.assertGreater(far.stat().st_size, 1 << 20)
        report = run_import(far)
        self.assertFalse(report.committed)
        self.assert_no_connection()


class BudgetedJobTests(ImportTestCase):
    def test_a_job_past_its_budget_ends_refused_with_the_reason_and_is_not_run_again(self):
        temp_media_root(self.addCleanup)
        officer = make_user("officer", permissions.OFFICER, self.agency)
        job = ImportJob(user=officer, original_name="nested.dxf")
        job.file.save("nested.dxf", ContentFile(nested_blocks_dxf(6).encode()), save=True)
        with self.settings(SIPANAH_IMPORT_LIMITS={**ImportLimits.from_settings().__dict__, "wall_seconds": 2}):
            self.assertEqual(worker.work(once=True), 1)
            job.refresh_from_db()
            self.assertEqual(job.status, ImportJob.Status.REFUSED)
            self.assertIn("took longer than an import may take", job.report["errors"][0]["message"])
            self.assertEqual(worker.work(once=True), 0)  # nothing queued again


class EveryFormatUnderTheBudgetTests(ImportTestCase):
    """Every format the importer accepts is read inside the budget: with no time at all each one is stopped by the
    wall clock (a format read outside the sandbox would not be), and with a small budget each one reads."""

    def files(self) -> dict[str, Path]:
        from osgeo import gdal

        lon, lat = 116.85, -1.25
        ring = [[lon, lat], [lon + 0.001, lat], [lon + 0.001, lat + 0.001], [lon, lat]]
        feature = {"type": "Feature", "properties": {"kode_barang": "1.3.1.01.01.01.001", "no_reg": "1"},
                   "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip
        source = self.tmp / "one.geojson"
        source.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
        made = {".geojson": source, ".topojson": self.tmp / "one.topojson"}
        polygon = {"type": "Polygon", "arcs": [[0]], "properties": {}}
        parcels = {"type": "GeometryCollection", "geometries": [polygon]}
        made[".topojson"].write_text(json.dumps({"type": "Topology", "arcs": [ring], "objects": {"parcels": parcels}}))
        for suffix, driver in ((".gpkg", "GPKG"), (".kml", "KML"), (".dxf", "DXF"), (".csv", "CSV"),
                               (".xlsx", "XLSX"), (".shp", "ESRI Shapefile")):  # fmt: skip
            path = self.tmp / f"one{suffix}"
            options = ["GEOMETRY=AS_WKT"] if suffix == ".csv" else []
            gdal.VectorTranslate(str(path), str(source), format=driver, layerCreationOptions=options)
            made[suffix] = path
        made[".json"] = self.tmp / "one.json"
        made[".json"].write_bytes(source.read_bytes())
        made[".kmz"] = self.tmp / "one.kmz"
        with zipfile.ZipFile(made[".kmz"], "w") as archive:
            archive.write(made[".kml"], "doc.kml")
        made[".zip"] = self.tmp / "one-shp.zip"
        with zipfile.ZipFile(made[".zip"], "w") as archive:
            for part in self.tmp.glob("one.*"):
                if part.suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                    archive.write(part, part.name)
        self.assertEqual(set(made), set(SUFFIX_FORMATS))
        return made

    def test_no_format_escapes_the_wall_clock(self):
        for suffix, path in self.files().items():
            with self.subTest(suffix):
                report = run_import(path, dry_run=True, srid="4326", limits=ImportLimits.from_settings(wall_seconds=0))
                self.assertIn("took longer than an import may take (0 s)", _messages(report))

    def test_every_format_is_read_within_a_small_budget(self):
        small = ImportLimits.from_settings(wall_seconds=60, memory_bytes=256 * 1024 * 1024)
        for suffix, path in self.files().items():
            with self.subTest(suffix):
                report = run_import(path, dry_run=True, srid="4326", limits=small)
                self.assertTrue(report.format and report.layer, _messages(report))  # the reading opened it
                self.assertNotIn("an import may", _messages(report))
