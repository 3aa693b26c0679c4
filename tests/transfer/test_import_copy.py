"""The importer's fast write path (COPY on PostgreSQL, one executemany INSERT on SQLite, history rows copied by
INSERT ... SELECT: assets.lib.copy_insert) writes exactly the rows of the bulk_create path."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from unittest import mock

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import IntegrityError, connection, transaction
from django.test import TestCase

from assets.lib import copy_insert
from assets.models import Agency, Certificate, CertificateStageEvent, LandAsset
from assets.transfer.importing.run import run_import
from assets.transfer.importing.writer import StagedRows
from tests.factories import load_reference, make_asset, point_inside

VOLATILE = {"id", "created_at", "updated_at", "history_id", "history_date", "asset_id", "certificate_id"}


class CopyPathTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write_file(self) -> Path:
        lon, lat = point_inside("64.71.05.1002")
        ring = ((lon, lat), (lon + 4e-4, lat), (lon + 4e-4, lat + 4e-4), (lon, lat + 4e-4), (lon, lat))
        square = json.loads(MultiPolygon(Polygon(ring), srid=4326).json)
        base = {
            "kode_barang": "1.3.1.01.01.01.001", "nama_barang": "Tanah Kantor", "opd": "1.01.01",
            "tahun_perolehan": 2012, "asal_usul": "Pembelian", "harga": "1.250.000", "luas": "1200,5",
        }  # fmt: skip
        certificate = {"hak": "Hak Pakai", "no_sertifikat": "00123", "tgl_sertifikat": "02/03/2015"}
        features = [
            {
                "type": "Feature",
                "properties": {**base, "no_register": "1", "nibar": "6471000000001"},
                "geometry": square,
            },
            {"type": "Feature", "properties": {**base, "no_register": "2", **certificate}, "geometry": None},
            {
                "type": "Feature",
                "properties": {**base, "no_register": "3", "alamat": "Jl. Café\tNo. 5 \\N\nRT 01"},
                "geometry": square,
            },
        ]
        path = self.tmp / "in.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
        return path

    def snapshot(self) -> dict[str, list[dict]]:
        def rows(queryset) -> list[dict]:
            out = []
            for row in queryset.values():
                row = {k: v for k, v in row.items() if k not in VOLATILE}
                if row.get("geom") is not None:
                    row["geom"] = row["geom"].hexewkb
                out.append(row)
            return sorted(out, key=repr)

        return {
            "assets": rows(LandAsset.objects.all()),
            "history": rows(LandAsset.history.all()),
            "certificates": rows(Certificate.objects.all()),
            "events": rows(CertificateStageEvent.objects.all()),
        }

    def test_path_choice(self):
        self.assertEqual(copy_insert.supported(), connection.vendor in ("postgresql", "sqlite"))

    def test_copy_writes_the_same_rows_as_bulk_create(self):
        path = self.write_file()
        report = run_import(path)
        self.assertTrue(report.committed, report.errors)
        copied = self.snapshot()
        self.assertEqual((len(copied["assets"]), len(copied["history"]), len(copied["events"])), (3, 3, 1))
        # the ids are real: history and certificate rows point to their asset, and the sequence is past them
        for asset in LandAsset.objects.all():
            self.assertEqual(asset.history.get().history_type, "+")
        self.assertEqual(Certificate.objects.get().asset.nomor_register, "0002")
        self.assertEqual(Certificate.objects.get().events.get().catatan, "Imported from in.geojson")
        later = make_asset(agency=self.agency, nomor_register="9")
        self.assertGreater(later.pk, max(LandAsset.objects.exclude(pk=later.pk).values_list("pk", flat=True)))
        later.delete()
        LandAsset.history.filter(nomor_register="0009").delete()

        CertificateStageEvent.objects.all().delete()
        Certificate.objects.all().delete()
        LandAsset.objects.all().delete()
        LandAsset.history.all().delete()
        Certificate.history.all().delete()
        with mock.patch.object(copy_insert, "supported", return_value=False):
            report = run_import(path)
        self.assertTrue(report.committed, report.errors)
        self.assertEqual(self.snapshot(), copied)
        self.assertIsInstance(LandAsset.objects.get(nomor_register="0001").created_at, dt.datetime)

    def test_rows_staged_in_a_file_are_written_as_those_kept_in_memory(self):
        path = self.write_file()
        report = run_import(path)
        self.assertTrue(report.committed, report.errors)
        in_memory = self.snapshot()
        CertificateStageEvent.objects.all().delete()
        Certificate.objects.all().delete()
        LandAsset.objects.all().delete()
        LandAsset.history.all().delete()
        Certificate.history.all().delete()
        spilled: list[StagedRows] = []

        def staged() -> StagedRows:
            spilled.append(StagedRows(rows_in_memory=1))  # every batch past the first row goes to the file
            return spilled[-1]

        with mock.patch("assets.transfer.importing.run.StagedRows", staged):
            report = run_import(path)
        self.assertTrue(report.committed, report.errors)
        self.assertIsNotNone(spilled[0].file)
        self.assertEqual(self.snapshot(), in_memory)
        self.assertEqual([label for _pk, label in report.created_assets],
                         [str(a) for a in LandAsset.objects.order_by("nomor_register")])  # fmt: skip
        # the times the write sets: one instant for the rows, the same in their history rows
        asset = LandAsset.objects.get(nomor_register="0001")
        self.assertEqual(asset.created_at, asset.updated_at)
        self.assertEqual(asset.history.get().created_at, asset.created_at)
        self.assertLessEqual(asset.created_at, asset.history.get().history_date)
        certificate = Certificate.objects.get()
        self.assertEqual(certificate.asset.nomor_register, "0002")
        self.assertEqual(certificate.history.get().asset_id, certificate.asset_id)

    def test_a_failing_copy_raises_djangos_error_and_rolls_back(self):
        existing = make_asset(agency=self.agency, nibar="6471000000009")
        duplicate = LandAsset.objects.get(pk=existing.pk)
        duplicate.pk, duplicate.nomor_register = None, "0999"  # same NIBAR: the unique constraint refuses it
        with self.assertRaises(IntegrityError), transaction.atomic():
            copy_insert.copy_insert(LandAsset, [duplicate])
        self.assertEqual(LandAsset.objects.count(), 1)
