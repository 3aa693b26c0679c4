"""The import rules: derived fields, one bad feature writes nothing and is named, dry run, upsert, own agency,
repair, certificate columns and history."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from assets.models import Agency, Certificate, LandAsset, PlottingStatus, Stage
from assets.register import permissions
from assets.transfer.importing.run import run_import
from tests.factories import import_messages as _messages
from tests.factories import make_asset, make_user
from tests.transfer.import_case import ImportTestCase


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
        self.assertIn("2:agency:This asset belongs to ", text)  # the honest reason: the agency
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
