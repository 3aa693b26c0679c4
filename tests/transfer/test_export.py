"""The register export: the download view (roles, filters, bad parameters) and manage.py export_assets."""

from __future__ import annotations

import io
import json

from django.core.management import call_command
from django.urls import reverse
from osgeo import ogr

from assets.models import Agency
from assets.register import permissions
from tests.factories import make_asset, make_user
from tests.transfer.import_case import ImportTestCase


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
