"""Import file formats (DXF, KMZ, SIMDA XLSX, a Latin-1 DBF), hostile files, and the inputs a fuzz run found: each is
imported or refused precisely, never a hang, traceback or half-written register."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import reverse
from django.utils import translation
from osgeo import gdal, ogr, osr

from assets.models import ImportJob, LandAsset
from assets.ops import worker
from assets.register import permissions
from assets.transfer import exports
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.mapping import FieldMapping
from assets.transfer.importing.report import ImportReport
from assets.transfer.importing.run import run_import
from tests.factories import every_record, make_asset, make_user, point_inside, temp_media_root
from tests.factories import import_messages as _messages
from tests.transfer import test_import_crs, test_import_jobs
from tests.transfer.import_case import ImportTestCase, _srs


class FormatTests(ImportTestCase):
    def test_dxf_closed_polyline_in_tm3(self):
        path = self.tmp / "draft.dxf"
        dataset = ogr.GetDriverByName("DXF").CreateDataSource(str(path))
        layer = dataset.CreateLayer("entities")
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkt(
            "LINESTRING(352137 1359873,352187 1359873,352187 1359923,352137 1359923,352137 1359873)"))  # fmt: skip
        layer.CreateFeature(feature)
        dataset = None
        mapping = FieldMapping(
            columns={"nomor_register": "$feature"},
            constants={"kode_barang": "1.3.1.01.01.01.001", "agency": "1.01.01", "nama_barang": "Tanah (gambar BPN)",
                       "tahun_perolehan": 2020, "asal_usul": "HIBAH", "nilai_perolehan": 0, "luas_kib_m2": 2500},
        )  # fmt: skip
        report = run_import(path, mapping=mapping)
        self.assertIn("EPSG:23837", report.errors[0].message)
        report = run_import(path, mapping=mapping, srid="23837")
        self.assertTrue(report.committed, _messages(report))
        self.assertAlmostEqual(float(LandAsset.objects.get().luas_gis_m2), 2500, delta=10)

    def test_kmz(self):
        asset = make_asset(agency=self.agency, geom=self.parcel())
        kml = self.tmp / "doc.kml"
        exports.write_export(every_record(), fmt="kml", path=kml)
        LandAsset.objects.all().delete()
        kmz = self.tmp / "parcels.kmz"
        gdal.VectorTranslate(str(kmz), str(kml), format="LIBKML")  # a KMZ as Google Earth writes it: zipped doc.kml
        with zipfile.ZipFile(kmz) as archive:
            self.assertIn("doc.kml", archive.namelist())
        report = run_import(kmz)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(LandAsset.objects.get().nomor_register, asset.nomor_register)

    def test_simda_xlsx_without_geometry(self):
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["No", "Nama Barang", "Kode Barang", "Nomor Register", "Luas (M2)", "Tahun Pengadaan",
                      "Letak / Alamat", "Hak", "Sertifikat Tanggal", "Sertifikat Nomor", "Penggunaan", "Asal Usul",
                      "Harga (Rp)", "Keterangan", "Kode OPD"])  # fmt: skip
        sheet.append([1, "Tanah Kantor Lurah", "1.3.1.01.01.01.001", 12, 350, 1998, "Jl. A. Yani", "Hak Pakai",
                      "01-02-2003", "00045", "Kantor", "Pembelian", 150000000, "", "1.01.01"])  # fmt: skip
        path = self.tmp / "kib_a.xlsx"
        workbook.save(path)
        report = run_import(path)
        self.assertTrue(report.committed, _messages(report))
        asset = LandAsset.objects.get()
        self.assertEqual(
            (asset.nomor_register, asset.plotting_status, asset.status_sertifikat), ("0012", "unknown", "terbit")
        )
        self.assertEqual(report.mapping["alamat"], "Letak / Alamat")
        sheet.insert_rows(1)  # a title row above the table, as SIMDA prints it: the header is found under it
        sheet["A1"] = "KARTU INVENTARIS BARANG (KIB) A - TANAH"
        sheet["E3"] = "350 m2?"
        workbook.save(path)
        report = run_import(path)
        self.assertEqual([(i.feature, i.field) for i in report.errors], [(3, "luas_kib_m2")], _messages(report))
        layout = "Sheet Sheet: header on row 2, data on row 3 (1 row). Skipped: the title row 1."
        self.assertEqual(report.layout, layout)
        sheet["E3"] = "350"
        workbook.save(path)
        report = run_import(path)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual((report.created, report.updated, report.unchanged), (0, 0, 1))  # the same row again

    def test_latin1_dbf_without_cpg(self):
        folder = self.tmp / "shp"
        folder.mkdir()
        dataset = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(folder / "latin.shp"))
        layer = dataset.CreateLayer("latin", _srs(4326), ogr.wkbPolygon, ["ENCODING=ISO-8859-1"])
        for name in ("kode_brg", "no_reg", "nama", "opd", "thn_oleh", "asal_usul", "nilai", "luas_kib"):
            layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
        feature = ogr.Feature(layer.GetLayerDefn())
        names = ("kode_brg", "no_reg", "nama", "opd", "thn_oleh", "asal_usul", "nilai", "luas_kib")
        values = ("1.3.1.01.01.01.001", "1", "Tanah Café Señor", "1.01.01", "2001", "HIBAH", "0", "10")
        for name, value in zip(names, values, strict=True):
            feature.SetField(name, value)
        feature.SetGeometry(
            ogr.CreateGeometryFromWkt(self.parcel().wkt.replace("MULTIPOLYGON (((", "POLYGON ((").replace(")))", "))"))
        )
        layer.CreateFeature(feature)
        dataset = None
        (folder / "latin.cpg").unlink()
        self.assertIn(b"Caf\xe9", (folder / "latin.dbf").read_bytes())
        report = run_import(folder / "latin.shp")
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(LandAsset.objects.get().nama_barang, "Tanah Café Señor")
        self.assertIn("ISO-8859-1", " ".join(report.warnings))


class HostileFileTests(ImportTestCase):
    def test_zip_bomb_refused_before_extraction(self):
        path = self.tmp / "bomb.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("parcels.shp", b"\0" * (20 << 20))
        report = run_import(path)
        self.assertIn("possible zip bomb", report.errors[0].message)

    def test_archive_path_escape_refused(self):
        path = self.tmp / "escape.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("../../etc/parcels.shp", b"x")
        self.assertIn("points outside the archive folder", run_import(path).errors[0].message)

    def test_size_limit_malformed_and_unknown(self):
        broken = self.tmp / "broken.geojson"
        broken.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat', encoding="utf-8")
        self.assertIn("cannot be read as GeoJSON", run_import(broken).errors[0].message)
        not_zip = self.tmp / "fake.zip"
        not_zip.write_bytes(b"PK\x03\x04 not really")
        self.assertIn("is not a readable zip archive", run_import(not_zip).errors[0].message)
        self.assertIn(
            "is not supported",
            run_import(self.tmp / "x.exe").errors[0].message.replace("does not exist", "is not supported"),
        )
        big = self.tmp / "big.geojson"
        big.write_bytes(b" " * 2048)
        small = ImportLimits.from_settings(max_file_bytes=1024)
        self.assertIn("at most 1024 are accepted", run_import(big, limits=small).errors[0].message)
        self.assertEqual(LandAsset.objects.count(), 0)

    def test_cli_exit_status_and_no_traceback(self):
        broken = self.tmp / "broken.geojson"
        broken.write_text("{", encoding="utf-8")
        out = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("import_assets", str(broken), stdout=out)
        self.assertIn("Nothing was imported", out.getvalue())
        self.assertNotIn("Traceback", out.getvalue())


class FuzzFoundInputTests(ImportTestCase):
    """Inputs a fuzz run found: each is refused per feature or per file, never a hang, traceback or Internal error."""

    HEADER = test_import_crs.CrsTests.HEADER
    good_feature = test_import_jobs.ImportJobTests.good_feature

    def setUp(self):
        super().setUp()
        temp_media_root(self.addCleanup)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.client.force_login(make_user("officer", permissions.OFFICER, self.agency))

    def row(self, wkt: str, register: str) -> str:
        return f'"{wkt}",1.3.1.01.01.01.001,{register},Tanah,1.01.01,2010,HIBAH,0,100\n'

    def run_import_guarded(self, *args: Any, seconds: float = 60, **kwargs: Any) -> ImportReport:
        """run_import in a thread on this test's connection: a hang (GDAL 3.6's Transform looped forever on
        huge coordinates) fails the test after ``seconds`` instead of stalling the suite."""
        conn = connections[DEFAULT_DB_ALIAS]
        result: dict[str, Any] = {}
        language = translation.get_language()  # the active language is per thread

        def target() -> None:
            connections[DEFAULT_DB_ALIAS] = conn  # as LiveServerTestCase shares its connection with its thread
            try:
                with translation.override(language):
                    result["report"] = run_import(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                result["error"] = exc

        conn.inc_thread_sharing()
        try:
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            thread.join(seconds)
        finally:
            conn.dec_thread_sharing()
        self.assertFalse(thread.is_alive(), f"the import still runs after {seconds} s: it hangs")
        if "error" in result:
            raise result["error"]
        return result["report"]

    def test_absurd_projected_coordinates_are_refused_not_hanging(self):
        good = self.good_feature()
        lon, lat = point_inside("64.71.05.1002")
        x0, y0, _z = osr.CoordinateTransformation(_srs(4326), _srs(3857)).TransformPoint(lon, lat)
        good["geometry"] = {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 30, y0], [x0 + 30, y0 + 30], [x0, y0]]]}
        absurd = self.good_feature()
        absurd["properties"]["no_register"] = "4"
        absurd["geometry"] = {
            "type": "Polygon",
            "coordinates": [[[1e20, 1e20], [2e20, 1e20], [2e20, 2e20], [1e20, 2e20], [1e20, 1e20]]],
        }
        path = self.tmp / "mercator.geojson"
        crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
        path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": [good, absurd]}))
        mapping = FieldMapping(constants={"agency": "1.01.01"})
        report = self.run_import_guarded(path, mapping=mapping)
        self.assertEqual(report.crs, "EPSG:3857")
        self.assertEqual([(i.feature, i.field) for i in report.errors], [(2, "geom")], _messages(report))
        self.assertIn("(1e+20, 1e+20) to (2e+20, 2e+20) are outside what EPSG:3857 can describe",
                      report.errors[0].message)  # fmt: skip
        self.assertFalse(report.committed)
        self.assertEqual(LandAsset.objects.count(), 0)
        path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": [good]}))
        report = self.run_import_guarded(path, mapping=mapping)  # the same reprojection keeps the sane feature
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(LandAsset.objects.get().kelurahan.code, "64.71.05.1002")

    def test_unclosed_wkt_ring_is_a_feature_error(self):
        lon, lat = point_inside("64.71.05.1002")
        closed = f"POLYGON(({lon} {lat},{lon + 0.0004} {lat},{lon + 0.0004} {lat + 0.0004},{lon} {lat}))"
        unclosed = f"POLYGON(({lon} {lat},{lon + 0.0004} {lat},{lon + 0.0004} {lat + 0.0004}))"
        csv = self.tmp / "parcels.csv"
        csv.write_text(self.HEADER + self.row(closed, "1") + self.row(unclosed, "2"))
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["Geometri WKT (EPSG:4326)", "kode_barang", "no_reg", "nama_barang", "opd", "tahun", "asal_usul",
                      "nilai", "luas"])  # fmt: skip
        sheet.append([closed, "1.3.1.01.01.01.001", "1", "Tanah", "1.01.01", 2010, "HIBAH", 0, 100])
        sheet.append([unclosed, "1.3.1.01.01.01.001", "2", "Tanah", "1.01.01", 2010, "HIBAH", 0, 100])
        xlsx = self.tmp / "parcels.xlsx"
        workbook.save(xlsx)
        for path in (csv, xlsx):
            report = run_import(path, srid="4326")
            self.assertEqual([(i.feature, i.field) for i in report.errors], [(2, "geom")], f"{path}: {report}")
            self.assertIn("The geometry cannot be read", report.errors[0].message)
            self.assertIn("do not form a closed linestring", report.errors[0].message)
            self.assertEqual(LandAsset.objects.count(), 0)
        out = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("import_assets", str(csv), "--srid", "4326", stdout=out)
        self.assertIn("Feature 2 [geom]: The geometry cannot be read", out.getvalue())
        self.assertNotIn("Traceback", out.getvalue())
        self.assertEqual(LandAsset.objects.count(), 0)

    def test_unparseable_csv_wkt_rows_are_feature_errors(self):
        lon, lat = point_inside("64.71.05.1002")
        closed = f"POLYGON(({lon} {lat},{lon + 0.0004} {lat},{lon + 0.0004} {lat + 0.0004},{lon} {lat}))"
        rows = [closed, "POLYGON((", closed.replace(str(lon), "nan"), closed]
        csv = self.tmp / "parcels.csv"
        csv.write_text(self.HEADER + "".join(self.row(wkt, str(n)) for n, wkt in enumerate(rows, start=1)))
        report = run_import(csv, srid="4326")  # GDAL's CSV driver raises on rows 2 and 3, reads on
        self.assertEqual(report.features, 4)
        self.assertEqual([(i.feature, i.field) for i in report.errors], [(2, ""), (3, "")], _messages(report))
        self.assertIn("This feature cannot be read", report.errors[0].message)
        self.assertFalse(report.committed)
        self.assertEqual(LandAsset.objects.count(), 0)

    def damaged_xlsx(self) -> bytes:
        """A valid zip whose worksheet XML is cut in the middle of a tag."""
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["kode_barang", "no_reg", "nama_barang", "opd", "tahun", "asal_usul", "nilai", "luas"])
        for n in range(1, 20):
            sheet.append(["1.3.1.01.01.01.001", str(n), "Tanah", "1.01.01", 2010, "HIBAH", 0, 100])
        good, damaged = io.BytesIO(), io.BytesIO()
        workbook.save(good)
        with zipfile.ZipFile(good) as source, zipfile.ZipFile(damaged, "w") as target:
            for member in source.infolist():
                data = source.read(member.filename)
                if member.filename == "xl/worksheets/sheet1.xml":
                    data = data[: len(data) * 2 // 3]
                target.writestr(member, data)
        return damaged.getvalue()

    def test_damaged_xlsx_is_a_file_error(self):
        path = self.tmp / "kib_a.xlsx"
        path.write_bytes(self.damaged_xlsx())
        report = run_import(path)
        self.assertEqual([(i.feature, i.field) for i in report.errors], [(0, "")], _messages(report))
        self.assertIn("could not be read", report.errors[0].message)
        self.assertIn("XML parsing", report.errors[0].message)
        out = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("import_assets", str(path), stdout=out)
        self.assertIn("File: The file could not be read", out.getvalue())
        self.assertNotIn("Traceback", out.getvalue())
        response = self.client.post(
            reverse("import-list"), {"file": SimpleUploadedFile("kib_a.xlsx", self.damaged_xlsx())}
        )
        self.assertEqual(response.status_code, 302)
        worker.work(once=True)
        job = ImportJob.objects.get()
        self.assertEqual(job.status, ImportJob.Status.REFUSED)
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, "could not be read")
        self.assertNotContains(page, "Internal error")
        self.assertEqual(LandAsset.objects.count(), 0)
