"""The register export (/assets/export/, manage.py export_assets) as of a date: the values then, not today's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse

from assets.models import Stage
from assets.register import history, kib
from tests.audit.test_audit_history import AsOfLife


class AsOfExportTests(AsOfLife, TestCase):
    def setUp(self):
        self.client.force_login(self.auditor)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.tmp = Path(folder.name)

    def features(self, **params) -> list[dict]:
        response = self.client.get(reverse("asset-export"), {"format": "geojson", **params})
        self.assertEqual(response.status_code, 200)
        return json.loads(b"".join(response.streaming_content))["features"]

    def test_export_before_the_edit_has_the_old_values_and_geometry(self):
        response = self.client.get(reverse("asset-export"), {"format": "geojson", "as_of": "2024-12-31"})
        self.assertIn("per-20241231", response["Content-Disposition"])
        [feature] = json.loads(b"".join(response.streaming_content))["features"]
        props = feature["properties"]
        self.assertEqual(props["nama_barang"], "Nama Lama")
        self.assertIn(props.get("alamat"), (None, ""))
        self.assertEqual((props["status_sertifikat"], props["stage"]), ("proses", Stage.PENGUKURAN))
        self.assertIsNone(props.get("nomor_sertifikat"))
        geometry = GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
        self.assertAlmostEqual(geometry.centroid.x, self.old_geom.centroid.x, places=6)

    def test_export_between_edit_and_removal_has_the_values_then(self):
        [feature] = self.features(as_of="2025-06-30")
        props = feature["properties"]
        self.assertEqual((props["nama_barang"], props["alamat"]), ("Nama Baru", "Jl. Baru"))
        self.assertEqual((props["status_sertifikat"], props["nomor_sertifikat"]), ("terbit", "77"))
        self.assertEqual(props["atas_nama"], "PT Lain")
        geometry = GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
        self.assertAlmostEqual(geometry.centroid.x, self.new_geom.centroid.x, places=6)

    def test_after_removal_and_before_creation_the_export_is_empty(self):
        self.assertEqual(self.features(as_of="2025-12-31"), [])
        self.assertEqual(self.features(as_of="2024-05-31"), [])
        [removed] = self.features(as_of="2025-12-31", removed="include")
        self.assertEqual(removed["properties"]["nama_barang"], "Nama Baru")
        # Today's register without as_of: removed, so not exported either.
        self.assertEqual(self.features(), [])

    def test_filters_apply_to_the_status_then(self):
        self.assertEqual(len(self.features(as_of="2024-12-31", status="proses")), 1)
        self.assertEqual(self.features(as_of="2024-12-31", status="terbit"), [])

    def test_xlsx_as_of(self):
        from openpyxl import load_workbook

        response = self.client.get(reverse("asset-export"), {"format": "xlsx", "as_of": "2024-12-31"})
        self.assertEqual(response.status_code, 200)
        rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[1][1], "Nama Lama")

    def test_bad_as_of_is_a_clear_error(self):
        bad = self.client.get(reverse("asset-export"), {"format": "geojson", "as_of": "31-12-2024"})
        self.assertContains(bad, "as_of must be a date written YYYY-MM-DD", status_code=400)
        bad = self.client.get(reverse("asset-export"), {"format": "geojson", "as_of": "2024-12-31", "status": "x"})
        self.assertContains(
            bad, "status: Select a valid choice. x is not one of the available choices.", status_code=400
        )

    def test_export_command_as_of(self):
        path = self.tmp / "kib.csv"
        out = io.StringIO()
        call_command("export_assets", "--format", "csv", "-o", str(path), "--as-of", "2024-12-31", stdout=out)
        self.assertIn("1 assets written", out.getvalue())
        with path.open(newline="", encoding="utf-8") as handle:
            [row] = list(csv.DictReader(handle))
        # The CSV's header has the printed KIB A's words (assets.register.kib labels), not field names.
        name, status = kib.BY_NAME["nama_barang"].label, kib.BY_NAME["status_sertifikat"].label
        self.assertEqual((row[name], row[status]), ("Nama Lama", "proses"))
        call_command("export_assets", "--format", "csv", "-o", str(path), "--as-of", "2025-12-31", stdout=out)
        self.assertIn("0 assets written", out.getvalue())
        with self.assertRaisesMessage(CommandError, "--as-of: as_of must be a date written YYYY-MM-DD"):
            call_command("export_assets", "--format", "csv", "-o", str(path), "--as-of", "yesterday")

    def test_as_of_records_reuse_the_snapshot(self):
        [record] = list(history.as_of_records(as_of=dt.date(2024, 12, 31)))
        self.assertEqual(record.id, self.asset.id)
        self.assertEqual(record.agency.code, self.asset.agency.code)
        self.assertEqual([c.stage for c in record.certificates.all()], [Stage.PENGUKURAN])
