"""Import and export: every format round-trips, bad files are refused precisely, nothing is half-written."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import tempfile
import threading
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone, translation
from osgeo import gdal, ogr, osr

from assets.models import Agency, Certificate, ImportJob, LandAsset, PlottingStatus, Stage
from assets.ops import worker
from assets.register import kib, permissions, place, services
from assets.transfer import exports, jobs
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.mapping import FieldMapping
from assets.transfer.importing.report import ImportReport
from assets.transfer.importing.run import run_import
from tests.helpers import every_record, load_reference, make_asset, make_user, point_inside, temp_media_root
from tests.helpers import import_messages as _messages

DATA = Path(__file__).parent / "data"
MAPPINGS = DATA / "mappings"


def _mapping(name: str) -> FieldMapping:
    return FieldMapping.load(MAPPINGS / f"{name}.json")


class ImportTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def parcel(self, code: str = "64.71.05.1002", size: float = 0.0004) -> MultiPolygon:
        lon, lat = point_inside(code)
        ring = ((lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat))
        return MultiPolygon(Polygon(ring), srid=4326)


class RoundTripTests(ImportTestCase):
    """Export then import gives back the same assets, in every format."""

    def make_register(self) -> None:
        issued = make_asset(agency=self.agency, geom=self.parcel(), nibar="6471000000001", nama_barang="Tanah SD Café")
        services.certificate_create(
            asset=issued, user=None, stage=Stage.SERTIFIKAT_TERBIT, tanggal_tahap=dt.date(2015, 3, 2),
            jenis_hak="HP", nomor="16.01.05.02.4.00123", tanggal=dt.date(2015, 3, 2), nib="16010502000123",
            atas_nama="Pemerintah Kota Balikpapan", luas_sertifikat_m2=Decimal("1999.50"),
        )  # fmt: skip
        in_process = make_asset(agency=self.agency, geom=self.parcel("64.71.02.1001"), alamat="Jl. Soekarno-Hatta")
        services.certificate_create(
            asset=in_process, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=dt.date(2024, 1, 5)
        )
        make_asset(agency=Agency.objects.get(code="1.02.01"), geom=None, keterangan="Lokasi belum diketahui")

    def snapshot(self) -> list[tuple]:
        rows = []
        for a in LandAsset.objects.order_by("kode_barang", "nomor_register"):
            cert = a.certificates.first()
            rows.append((
                a.kode_barang, a.nomor_register, a.nibar, a.nama_barang, a.alamat, a.agency_id, a.tanggal_perolehan,
                a.tahun_perolehan, a.asal_usul, a.nilai_perolehan, a.penggunaan, a.luas_kib_m2, a.keterangan,
                a.plotting_status, a.luas_gis_m2, a.kelurahan_id, a.status_sertifikat, a.tahap_sertifikat,
                cert and (cert.jenis_hak, cert.nomor, cert.tanggal, cert.nib, cert.luas_sertifikat_m2, cert.stage),
            ))  # fmt: skip
        return rows

    def round_trip(self, fmt: str, srid: int = 4326) -> None:
        self.make_register()
        before = self.snapshot()
        geoms = {a.nomor_register: a.geom for a in LandAsset.objects.all()}
        path = self.tmp / f"export{exports.FORMATS[fmt].suffix}"
        self.assertEqual(exports.write_export(every_record(), fmt=fmt, path=path, srid=srid), 3)
        LandAsset.objects.all().delete()
        report = run_import(path)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual((report.created, report.updated, report.without_geometry), (3, 0, 1))
        after = self.snapshot()
        for row_before, row_after in zip(before, after, strict=True):
            self.assertEqual(row_before[:14], row_after[:14])
            self.assertAlmostEqual(float(row_before[14] or 0), float(row_after[14] or 0), delta=0.05)
            self.assertEqual(row_before[15:], row_after[15:])
        for asset in LandAsset.objects.exclude(geom=None):
            expected = geoms[asset.nomor_register].normalize(clone=True)
            self.assertTrue(asset.geom.normalize(clone=True).equals_exact(expected, tolerance=1e-7))

    def test_geojson(self):
        self.round_trip("geojson")

    def test_geopackage(self):
        self.round_trip("gpkg")

    def test_geopackage_in_tm3(self):
        self.round_trip("gpkg", srid=23837)

    def test_shapefile_zip(self):
        self.round_trip("shp")

    def test_kml(self):
        self.round_trip("kml")

    def test_csv(self):
        self.round_trip("csv")

    def test_csv_in_tm3(self):
        self.round_trip("csv", srid=23837)

    def test_xlsx(self):
        self.round_trip("xlsx")

    def test_shapefile_zip_has_prj_and_cpg(self):
        self.make_register()
        path = self.tmp / "e.zip"
        exports.write_export(every_record(), fmt="shp", path=path, srid=23837)
        with zipfile.ZipFile(path) as archive:
            names = sorted(archive.namelist())
            self.assertEqual([Path(n).suffix for n in names], [".cpg", ".dbf", ".prj", ".shp", ".shx"])
            self.assertIn("UTF-8", archive.read("land_assets.cpg").decode())
            self.assertIn("TM-3", archive.read("land_assets.prj").decode().replace("_", "-"))

    def test_xlsx_has_the_kib_a_columns(self):
        from openpyxl import load_workbook

        self.make_register()
        path = self.tmp / "kib.xlsx"
        exports.write_export(every_record(), fmt="xlsx", path=path)
        header = [c.value for c in next(load_workbook(path, read_only=True)["KIB A"].iter_rows(max_row=1))]
        self.assertEqual(header[:4], ["No", "Nama Barang / Jenis Barang", "Kode Barang", "Nomor Register"])
        self.assertEqual(header[1:], [c.label for c in kib.xlsx_columns()] + ["Geometri WKT (EPSG:4326)"])


class ImportRuleTests(ImportTestCase):
    def write_geojson(self, features: list[dict], name: str = "in.geojson", crs: str | None = None) -> Path:
        data: dict = {"type": "FeatureCollection", "features": features}
        if crs:
            data["crs"] = {"type": "name", "properties": {"name": crs}}
        path = self.tmp / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    def feature(self, register: str, geom: dict | None, **props) -> dict:
        properties = {
            "kode_barang": "1.3.1.01.01.01.001", "no_register": register, "nama_barang": "Tanah Kantor",
            "opd": "1.01.01", "tahun_perolehan": 2012, "asal_usul": "Pembelian", "harga": "1.250.000",
            "luas": "1200,5",
        }  # fmt: skip
        properties.update(props)
        return {"type": "Feature", "properties": properties, "geometry": geom}

    def square(self, code: str = "64.71.05.1002") -> dict:
        return json.loads(self.parcel(code).json)

    def test_valid_file_imports_with_derived_fields_and_mapping_report(self):
        path = self.write_geojson([self.feature("1", self.square()), self.feature("2", None)])
        report = run_import(path)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(report.mapping["nomor_register"], "no_register")
        self.assertEqual(report.mapping["nilai_perolehan"], "harga")
        located = LandAsset.objects.get(nomor_register="0001")
        self.assertEqual(located.nilai_perolehan, Decimal("1250000"))
        self.assertEqual(located.luas_kib_m2, Decimal("1200.50"))
        self.assertEqual(located.kelurahan.code, "64.71.05.1002")
        self.assertEqual(located.plotting_status, PlottingStatus.LOCATED)
        self.assertGreater(located.luas_gis_m2, 1000)
        self.assertEqual(LandAsset.objects.get(nomor_register="0002").plotting_status, PlottingStatus.UNKNOWN)
        self.assertEqual(LandAsset.history.count(), 2)

    def test_one_bad_feature_writes_nothing_and_names_it(self):
        bad = {
            "type": "Polygon",
            "coordinates": [[[116.8, -1.2], [116.81, -1.21], [116.81, -1.2], [116.8, -1.21], [116.8, -1.2]]],
        }
        path = self.write_geojson([
            self.feature("1", self.square()),
            self.feature("2", bad),
            self.feature("3", None, tahun_perolehan="dua ribu"),
            self.feature("1", None),
            self.feature("4", None, opd="9.99.99"),
            self.feature("5", None, kode_barang="1.3.2.01"),
        ])  # fmt: skip
        report = run_import(path)
        self.assertFalse(report.committed)
        self.assertEqual(LandAsset.objects.count(), 0)
        text = _messages(report)
        self.assertIn("2:geom:Invalid geometry: Self-intersection", text)
        self.assertIn("3:tahun_perolehan:dua ribu is not a year.", text)
        self.assertIn("4:nomor_register:Duplicate of feature 1 inside the file", text)
        self.assertIn("5:agency:Unknown agency 9.99.99", text)
        self.assertIn("6:kode_barang:1.3.2.01 is not a land code", text)

    def test_dry_run_reports_and_writes_nothing(self):
        path = self.write_geojson([self.feature("1", self.square())])
        report = run_import(path, dry_run=True)
        self.assertTrue(report.ok)
        self.assertFalse(report.committed)
        self.assertEqual(report.created, 1)
        self.assertEqual(LandAsset.objects.count(), 0)

    def test_upsert_updates_and_never_erases_a_located_geometry(self):
        self.assertTrue(run_import(self.write_geojson([self.feature("1", self.square())])).committed)
        asset = LandAsset.objects.get()
        report = run_import(self.write_geojson([self.feature("1", None, nama_barang="Tanah Kantor Baru")], "b.geojson"))
        self.assertEqual((report.created, report.updated), (0, 1))
        asset.refresh_from_db()
        self.assertEqual(asset.nama_barang, "Tanah Kantor Baru")
        self.assertIsNotNone(asset.geom)
        self.assertEqual(asset.version, 2)
        self.assertIn("keeps its located geometry", " ".join(report.warnings))

    def test_upsert_by_nibar_and_conflict(self):
        make_asset(agency=self.agency, kode_barang="1.3.1.01.01.01.001", nomor_register="7", nibar="6471000000007")
        make_asset(agency=self.agency, kode_barang="1.3.1.01.01.01.001", nomor_register="8")
        report = run_import(self.write_geojson([self.feature("9", None, nibar="6471000000007")]))
        self.assertEqual((report.created, report.updated), (0, 1), _messages(report))
        self.assertEqual(LandAsset.objects.get(nibar="6471000000007").nomor_register, "0009")
        report = run_import(self.write_geojson([self.feature("8", None, nibar="6471000000007")], "c.geojson"))
        self.assertIn("Conflict", _messages(report))

    def test_officer_imports_only_for_own_agency(self):
        officer = make_user("officer", permissions.OFFICER, self.agency)
        planner = make_user("planner", permissions.PLANNER)
        other = make_asset(agency=Agency.objects.get(code="1.02.01"), nomor_register="5")
        path = self.write_geojson(
            [self.feature("1", None, opd="1.02.01"), self.feature(other.nomor_register, None, opd="")]
        )
        report = run_import(path, user=officer)
        text = _messages(report)
        self.assertIn("1:agency:1.02.01 is not your agency", text)
        self.assertIn("2:agency:You may only change the assets of your own agency.", text)
        self.assertEqual(run_import(path, user=planner).errors[0].message, "Your role does not allow importing assets.")

    def test_repair_reports_each_repair(self):
        bow = {
            "type": "Polygon",
            "coordinates": [[[116.85, -1.25], [116.851, -1.251], [116.851, -1.25], [116.85, -1.251], [116.85, -1.25]]],
        }
        path = self.write_geojson([self.feature("1", bow)])
        self.assertFalse(run_import(path).ok)
        report = run_import(path, repair=True)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual([(r.feature, r.field) for r in report.repairs], [(1, "geom")])
        self.assertIn("Self-intersection", report.repairs[0].message)
        self.assertTrue(LandAsset.objects.get().geom.valid)

    def test_certificate_columns_create_a_certificate_and_status(self):
        certificate = {
            "hak": "Hak Pakai",
            "no_sertifikat": "00123",
            "tgl_sertifikat": "02/03/2015",
            "nib": "16010502000123",
        }
        path = self.write_geojson([self.feature("1", None, **certificate)])
        report = run_import(path)
        self.assertTrue(report.committed, _messages(report))
        asset = LandAsset.objects.get()
        certificate = Certificate.objects.get()
        self.assertEqual(
            (certificate.jenis_hak, certificate.tanggal, certificate.stage),
            ("HP", dt.date(2015, 3, 2), Stage.SERTIFIKAT_TERBIT),
        )
        self.assertEqual((asset.status_sertifikat, asset.tahap_sertifikat), ("terbit", Stage.SERTIFIKAT_TERBIT))
        self.assertEqual(certificate.events.get().to_stage, Stage.SERTIFIKAT_TERBIT)

    def test_imported_assets_and_certificates_have_their_history_with_user_and_file(self):
        user = make_user("bpkad-importer", permissions.BPKAD)
        path = self.write_geojson(
            [self.feature("1", None, hak="Hak Pakai", no_sertifikat="9", tgl_sertifikat="02/03/2015")]
        )
        report = run_import(path, user=user)
        self.assertTrue(report.committed, _messages(report))
        for model in (LandAsset, Certificate):
            [record] = model.history.all()
            self.assertEqual((record.history_type, record.history_user_id), ("+", user.id))
            self.assertIn(path.name, record.history_change_reason)


class CrsTests(ImportTestCase):
    def write_csv(self, text: str) -> Path:
        path = self.tmp / "parcels.csv"
        path.write_text(text, encoding="utf-8")
        return path

    HEADER = "wkt,kode_barang,no_reg,nama_barang,opd,tahun,asal_usul,nilai,luas\n"

    def row(self, wkt: str, register: str = "1") -> str:
        return f'"{wkt}",1.3.1.01.01.01.001,{register},Tanah,1.01.01,2010,HIBAH,0,100\n'

    def test_no_crs_refused_with_balikpapan_hint_then_accepted_with_srid(self):
        wkt = "POLYGON((352137 1359873,352187 1359873,352187 1359923,352137 1359923,352137 1359873))"
        path = self.write_csv(self.HEADER + self.row(wkt))
        report = run_import(path)
        self.assertIn("declares no coordinate reference system", report.errors[0].message)
        self.assertIn("EPSG:23837", report.errors[0].message)
        self.assertIn("EPSG:32750", report.errors[0].message)
        report = run_import(path, srid="EPSG:23837")
        self.assertTrue(report.committed, _messages(report))
        self.assertIsNotNone(LandAsset.objects.get().kelurahan_id)

    def test_swapped_lat_lon_is_named(self):
        lon, lat = point_inside("64.71.05.1002")
        wkt = f"POLYGON(({lat} {lon},{lat} {lon + 0.001},{lat + 0.001} {lon + 0.001},{lat} {lon}))"
        path = self.write_csv(self.HEADER + self.row(wkt))
        report = run_import(path, srid="4326")
        self.assertIn("Latitude and longitude are swapped", report.errors[0].message)
        self.assertIn("fall in Kota Balikpapan only when swapped", report.errors[0].message)

    def test_custom_wkt_and_bad_wkt(self):
        from pyproj import CRS

        custom = CRS.from_epsg(23837).to_wkt()
        wkt = "POLYGON((352137 1359873,352187 1359873,352187 1359923,352137 1359923,352137 1359873))"
        path = self.write_csv(self.HEADER + self.row(wkt))
        prj = self.tmp / "custom.prj"
        prj.write_text(custom, encoding="utf-8")
        self.assertTrue(run_import(path, srid=str(prj), dry_run=True).ok)
        report = run_import(path, srid='PROJCS["broken",GEOGCS[')
        self.assertIn("not a coordinate reference system pyproj knows", report.errors[0].message)

    def test_accepted_epsg_codes_transform(self):
        lon, lat = point_inside("64.71.04.1001")
        for epsg in place.city().accepted_epsg:
            transformer = osr.CoordinateTransformation(_srs(4326), _srs(epsg))
            x0, y0, _z = transformer.TransformPoint(lon, lat)
            x1, y1, _z = transformer.TransformPoint(lon + 0.0005, lat + 0.0005)
            wkt = f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"
            path = self.write_csv(self.HEADER + self.row(wkt, register=str(epsg)))
            report = run_import(path, srid=str(epsg))
            self.assertTrue(report.committed, f"EPSG:{epsg}: {_messages(report)}")
        kelurahan = set(LandAsset.objects.values_list("kelurahan__code", flat=True))
        self.assertEqual(kelurahan, {"64.71.04.1001"})

    def test_point_is_refused_as_a_parcel(self):
        path = self.write_csv("lon,lat,kode_barang,no_reg,nama_barang,opd,tahun,asal_usul,nilai,luas\n"
                              "116.85,-1.25,1.3.1.01.01.01.001,1,Tanah,1.01.01,2010,HIBAH,0,100\n")  # fmt: skip
        report = run_import(path, srid="4326")
        self.assertIn("1:geom:A point (116.850000, -1.250000) is not a parcel", _messages(report))


def _srs(epsg: int) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


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
        self.assertEqual((report.created, report.updated), (0, 1))

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


class SharedDataTests(ImportTestCase):
    """Subsets of ../shared/data (see tests/data/ATTRIBUTION.md): each imports, or is refused precisely."""

    def test_paris18_geojson(self):
        report = run_import(DATA / "paris18_200.geojson", mapping=_mapping("paris18"))
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(report.created, 200)
        asset = LandAsset.objects.get(nibar="75118000AA0002")
        self.assertIsNone(asset.kelurahan_id)  # outside Balikpapan: no kelurahan, still imported

    def test_epinay_lambert93_shapefile(self):
        report = run_import(DATA / "epinay_l93_250.shp", mapping=_mapping("epinay_strict"))
        self.assertEqual(_messages(report), "208:luas_kib_m2:luas_kib_m2 is empty.")
        self.assertEqual(LandAsset.objects.count(), 0)
        report = run_import(DATA / "epinay_l93_250.shp", mapping=_mapping("epinay"))
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(report.crs, "EPSG:2154")
        lon = LandAsset.objects.get(nibar="91216000AC0389").geom.centroid.x
        self.assertAlmostEqual(lon, 2.3187, places=3)

    def test_cambridge_topojson_invalid_and_duplicates(self):
        path = DATA / "cambridge_subset.topojson"
        self.assertIn(
            "declares no coordinate reference system",
            run_import(path, mapping=_mapping("cambridge")).errors[0].message,
        )
        report = run_import(path, mapping=_mapping("cambridge"), srid="4326")
        self.assertEqual(report.error_count, 6)
        self.assertTrue(all(e.field == "geom" and "Invalid geometry" in e.message for e in report.errors))
        report = run_import(path, mapping=_mapping("cambridge_ml_nibar"), srid="4326", repair=True)
        self.assertIn("is also on feature", _messages(report))
        report = run_import(path, mapping=_mapping("cambridge"), srid="4326", repair=True)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual((report.created, len(report.repairs)), (149, 6))

    def test_flanders_lambert72(self):
        report = run_import(DATA / "flanders_reference_100.geojson", mapping=_mapping("flanders_reference"))
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(report.crs, "EPSG:31370")
        path = DATA / "flanders_topo_parcels_nocrs.geojson"
        report = run_import(path, mapping=_mapping("flanders_topo"))
        self.assertIn("cannot be longitude/latitude", report.errors[0].message)
        report = run_import(path, mapping=_mapping("flanders_topo"), srid="31370")
        self.assertTrue(report.committed, _messages(report))


class ExportViewTests(ImportTestCase):
    def setUp(self):
        super().setUp()
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        make_asset(agency=self.agency, geom=self.parcel(), nama_barang="Tanah A")
        make_asset(agency=Agency.objects.get(code="1.02.01"), geom=None, nama_barang="Tanah B")

    def test_auditor_downloads_the_filtered_selection(self):
        self.client.force_login(make_user("auditor", permissions.AUDITOR))
        response = self.client.get(reverse("asset-export"), {"format": "geojson", "agency": "1.01.01"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response["Content-Disposition"])
        data = json.loads(b"".join(response.streaming_content))
        self.assertEqual([f["properties"]["nama_barang"] for f in data["features"]], ["Tanah A"])
        response = self.client.get(reverse("asset-export"), {"format": "xlsx", "srid": "23837"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(b"".join(response.streaming_content)[:2], b"PK")

    def test_roles_and_bad_parameters(self):
        self.client.force_login(make_user("planner", permissions.PLANNER))
        self.assertEqual(self.client.get(reverse("asset-export")).status_code, 403)
        self.client.force_login(make_user("bpkad", permissions.BPKAD))
        self.assertEqual(self.client.get(reverse("asset-export"), {"format": "exe"}).status_code, 400)
        self.assertEqual(self.client.get(reverse("asset-export"), {"format": "kml", "srid": "23837"}).status_code, 400)
        page = self.client.get(reverse("asset-list"), {"agency": "1.01.01"})
        self.assertContains(page, 'action="/assets/export/"')
        self.assertContains(page, 'name="agency" value="1.01.01"')

    def test_export_command(self):
        out = io.StringIO()
        path = self.tmp / "out.gpkg"
        call_command("export_assets", "--format", "gpkg", "-o", str(path), "--plotting", "unknown", stdout=out)
        self.assertIn("1 assets written", out.getvalue())
        dataset = ogr.Open(str(path))  # kept: a layer outlives its dataset only in a segfault
        self.assertEqual(dataset.GetLayer(0).GetFeatureCount(), 1)


class ImportJobTests(ImportTestCase):
    """Web upload: check (dry run) in the background, then confirm; the worker never loses a job."""

    def setUp(self):
        super().setUp()
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        temp_media_root(self.addCleanup)
        self.officer = make_user("officer", permissions.OFFICER, self.agency)
        self.client.force_login(self.officer)

    def upload(self, features: list[dict]) -> ImportJob:
        content = json.dumps({"type": "FeatureCollection", "features": features}).encode()
        response = self.client.post(reverse("import-list"), {"file": SimpleUploadedFile("parcels.geojson", content)})
        self.assertEqual(response.status_code, 302)
        return ImportJob.objects.get()

    def good_feature(self) -> dict:
        properties = {"kode_barang": "1.3.1.01.01.01.001", "no_register": "3", "nama_barang": "Tanah Taman",
                      "tahun_perolehan": 2019, "asal_usul": "HIBAH", "nilai": 0, "luas": 500}  # fmt: skip
        return {"type": "Feature", "properties": properties, "geometry": json.loads(self.parcel().json)}

    def test_upload_preview_confirm_import(self):
        job = self.upload([self.good_feature()])
        self.assertEqual(job.status, ImportJob.Status.QUEUED)
        self.assertTrue(Path(job.file.path).is_file())
        self.assertEqual(worker.work(once=True), 1)
        job.refresh_from_db()
        self.assertEqual((job.status, job.created, job.error_count), (ImportJob.Status.PREVIEWED, 1, 0))
        self.assertEqual(LandAsset.objects.count(), 0)
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, "Confirm the import")
        self.assertContains(page, "<svg")
        self.client.post(reverse("import-detail", args=[job.pk]))
        status = self.client.get(reverse("import-status", args=[job.pk])).json()
        self.assertEqual(status["status"], "queued")
        worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.DONE)
        self.assertEqual(LandAsset.objects.get().agency, self.agency)  # an officer's import is for their agency
        self.assertEqual(self.client.get(reverse("import-status", args=[job.pk])).json()["created"], 1)

    def test_refused_file_lists_errors_and_cannot_be_confirmed(self):
        feature = self.good_feature()
        feature["properties"]["tahun_perolehan"] = "kemarin"
        job = self.upload([feature])
        worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.REFUSED)
        self.assertContains(self.client.get(reverse("import-detail", args=[job.pk])), "kemarin is not a year.")
        self.client.post(reverse("import-detail", args=[job.pk]))
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.REFUSED)

    def test_a_job_that_dies_before_recording_its_result_writes_nothing(self):
        # The rows and the job's final status commit together: a job queued again never imports twice.
        job = self.upload([self.good_feature()])
        worker.work(once=True)
        self.client.post(reverse("import-detail", args=[job.pk]))  # confirm: the next run writes
        with mock.patch.object(jobs, "record_report", side_effect=OperationalError("the worker's connection died")):
            worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.FAILED)
        self.assertEqual(LandAsset.objects.count(), 0)
        self.assertEqual(LandAsset.history.count(), 0)
        self.client.post(reverse("import-detail", args=[job.pk]))  # "Run the import again"
        worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual((job.status, job.created, LandAsset.objects.count()), (ImportJob.Status.DONE, 1, 1))

    def test_command_line_import_with_a_user_is_kept_in_the_import_log(self):
        source = self.tmp / "parcels.geojson"
        source.write_text(json.dumps({"type": "FeatureCollection", "features": [self.good_feature()]}))
        call_command("import_assets", str(source), "--dry-run", "--user", "officer", stdout=io.StringIO())
        self.assertFalse(ImportJob.objects.exists())  # a check is not an import
        call_command("import_assets", str(source), "--user", "officer", stdout=io.StringIO(), stderr=io.StringIO())
        job = ImportJob.objects.get()
        done = (self.officer, ImportJob.Status.DONE, 1, True)
        self.assertEqual((job.user, job.status, job.created, job.commit), done)
        self.assertEqual(Path(job.file.path).read_bytes(), source.read_bytes())
        self.assertEqual(LandAsset.history.get().history_user, self.officer)
        self.assertContains(self.client.get(reverse("import-detail", args=[job.pk])), "parcels.geojson")
        # A Shapefile given as its .shp is kept with its side files, zipped.
        exports.write_export(every_record(), fmt="shp", path=self.tmp / "export.zip", srid=4326)
        with zipfile.ZipFile(self.tmp / "export.zip") as archive:
            archive.extractall(self.tmp / "shp")
            members = sorted(archive.namelist())
        shp = next((self.tmp / "shp").glob("*.shp"))
        call_command("import_assets", str(shp), "--user", "officer", stdout=io.StringIO(), stderr=io.StringIO())
        job = ImportJob.objects.order_by("-id").first()
        self.assertEqual((job.status, job.updated), (ImportJob.Status.DONE, 1))
        with zipfile.ZipFile(job.file.path) as kept:
            self.assertEqual(sorted(kept.namelist()), members)
        with self.assertRaisesMessage(CommandError, "No user 'nobody'"):
            call_command("import_assets", str(source), "--user", "nobody", stdout=io.StringIO())

    def test_stale_job_is_requeued_then_failed(self):
        job = self.upload([self.good_feature()])
        self.assertEqual(worker.claim_next().pk, job.pk)
        self.assertIsNone(worker.claim_next())  # claimed once only
        later = timezone.now() + jobs.stale_after() * 2
        self.assertEqual(worker.recover_stale(now=later), 1)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.QUEUED)
        worker.claim_next()
        worker.recover_stale(now=later)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.FAILED)

    def test_other_users_and_roles(self):
        job = self.upload([self.good_feature()])
        self.client.force_login(make_user("other", permissions.OFFICER, Agency.objects.get(code="1.02.01")))
        self.assertEqual(self.client.get(reverse("import-detail", args=[job.pk])).status_code, 403)
        self.client.force_login(make_user("planner", permissions.PLANNER))
        self.assertEqual(self.client.get(reverse("import-list")).status_code, 403)
        worker.work(once=True)  # previewed: the uploader could confirm it now
        # Auditors read the import log, every import's report and file, but neither upload nor confirm.
        self.client.force_login(make_user("auditor", permissions.AUDITOR))
        log = self.client.get(reverse("import-list"))
        self.assertContains(log, "parcels.geojson")
        self.assertNotContains(log, 'type="file"')
        self.assertEqual(
            self.client.post(reverse("import-list"), {"file": SimpleUploadedFile("p.geojson", b"{}")}).status_code, 403
        )
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, "parcels.geojson")
        self.assertNotContains(page, "Confirm the import")
        self.assertEqual(self.client.post(reverse("import-detail", args=[job.pk])).status_code, 403)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.PREVIEWED)
        self.assertEqual(ImportJob.objects.count(), 1)
        self.client.force_login(self.officer)
        response = self.client.post(reverse("import-list"), {"file": SimpleUploadedFile("x.exe", b"MZ")})
        self.assertContains(response, "this format is not accepted")


class FuzzFoundInputTests(ImportTestCase):
    """Inputs a fuzz run found: each is refused per feature or per file, never a hang, traceback or Internal error."""

    HEADER = CrsTests.HEADER
    good_feature = ImportJobTests.good_feature

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
