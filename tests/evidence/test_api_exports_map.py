"""Documents in the REST API (metadata and a download link that checks the same permission), the XLSX export's
documents count and checklist status, and the photos as arrows on the asset's map."""

from __future__ import annotations

import io
import json
import re

from django.test import TestCase, override_settings
from django.urls import reverse
from openpyxl import load_workbook

from assets.evidence import services
from assets.evidence.models import DocumentRequirement, DocumentType
from assets.models import Agency, AsalUsul
from assets.register import permissions
from tests.evidence import files
from tests.factories import load_reference, make_asset, make_user, square, temp_media_root

LON, LAT = 116.83, -1.25


def add(asset, name, data, doc_type):
    return services.document_add(
        asset=asset, user=None, name=name, data=data, fields=services.DocumentFields(doc_type=doc_type, number="No. 7")
    )


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class EvidenceOutTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency_a = Agency.objects.get(code="1.01.01")
        cls.users = {
            "officer_a": make_user("officer_a", permissions.OFFICER, cls.agency_a),
            "officer_b": make_user("officer_b", permissions.OFFICER, Agency.objects.get(code="1.02.01")),
            "auditor": make_user("auditor", permissions.AUDITOR),
            "planner": make_user("planner", permissions.PLANNER),
        }

    def setUp(self):
        temp_media_root(self.addCleanup)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # pages in English, as the assertions
        self.asset = make_asset(
            agency=self.agency_a, geom=square(LON, LAT), asal_usul=AsalUsul.HIBAH, nama_barang="Tanah Hibah"
        )
        self.pdf = add(self.asset, "bast.pdf", files.pdf_bytes(), DocumentType.BAST)
        self.near = add(self.asset, "dekat.jpg", files.photo_bytes(LON + 0.0001, LAT, 30), DocumentType.FOTO_LAPANGAN)
        self.far = add(self.asset, "jauh.jpg", files.photo_bytes(LON + 0.005, LAT, 270), DocumentType.FOTO_LAPANGAN)

    def test_the_api_lists_documents_with_download_links_for_those_who_may_read_them(self):
        url = reverse("api-asset-documents", args=[self.asset.pk])
        for role in ("officer_a", "auditor"):
            self.client.force_login(self.users[role])
            data = self.client.get(url).json()
            self.assertEqual({d["original_name"] for d in data}, {"bast.pdf", "dekat.jpg", "jauh.jpg"})
            bast = next(d for d in data if d["original_name"] == "bast.pdf")
            self.assertEqual(bast["sha256"], self.pdf.sha256)
            self.assertEqual(bast["doc_type"], "BAST")
            self.assertTrue(bast["download"].endswith(reverse("document-file", args=[self.pdf.pk])))
            download = self.client.get(bast["download"])
            self.assertEqual(download.status_code, 200)
        for role in ("officer_b", "planner"):
            self.client.force_login(self.users[role])
            self.assertEqual(self.client.get(url).status_code, 403)
        self.client.logout()
        self.assertEqual(self.client.get(url).status_code, 401)
        self.client.force_login(self.users["auditor"])
        self.assertEqual(self.client.get(reverse("api-asset-documents", args=[999999])).status_code, 404)

    def test_the_xlsx_export_has_the_documents_count_and_checklist_status(self):
        DocumentRequirement.objects.all().delete()
        DocumentRequirement.objects.create(asal_usul=AsalUsul.HIBAH, doc_type=DocumentType.BAST)
        DocumentRequirement.objects.create(asal_usul=AsalUsul.HIBAH, doc_type=DocumentType.SK_HIBAH)
        services.document_withdraw(document=self.near, user=None, reason="buram")
        other = make_asset(agency=self.agency_a, geom=None, nama_barang="Tanah Beli")
        self.client.force_login(self.users["auditor"])
        response = self.client.get(reverse("asset-export"), {"format": "xlsx"})
        sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
        rows = list(sheet.iter_rows(values_only=True))
        header = rows[0]
        self.assertEqual(header[-2:], ("Documents", "Document checklist"))
        by_name = {
            row[header.index(next(h for h in header if h and "Nama" in str(h) or h and "Name" in str(h)))]: row
            for row in rows[1:]
        }
        hibah = next(r for r in rows[1:] if "Tanah Hibah" in r)
        beli = next(r for r in rows[1:] if other.nama_barang in r)
        self.assertEqual(hibah[-2], 2)  # the withdrawn photo does not count
        self.assertIn("missing Grant decree (SK hibah) (1/2)", hibah[-1])
        self.assertEqual(beli[-2:], (0, "complete (0/0)"))
        self.assertTrue(by_name)

    def test_photos_are_arrows_on_the_asset_map_far_ones_marked_and_hidden_from_those_without_access(self):
        url = reverse("asset-detail", args=[self.asset.pk])
        self.client.force_login(self.users["officer_a"])
        page = self.client.get(url).content.decode()
        match = re.search(r"SipanahMap\.photoLayer\(\w+, (\{.*?\})\);", page)
        data = json.loads(match.group(1))
        photos = {f["properties"]["label"]: f for f in data["features"]}
        self.assertEqual(set(photos), {"dekat.jpg", "jauh.jpg (501 m)"})
        near, far = photos["dekat.jpg"], photos["jauh.jpg (501 m)"]
        self.assertEqual((near["properties"]["direction"], near["properties"]["far"]), (30.0, False))
        self.assertEqual((far["properties"]["direction"], far["properties"]["far"]), (270.0, True))
        self.assertAlmostEqual(far["geometry"]["coordinates"][0], LON + 0.005, places=6)
        self.assertAlmostEqual(far["geometry"]["coordinates"][1], LAT, places=6)
        self.client.force_login(self.users["planner"])
        self.assertNotIn("SipanahMap.photoLayer", self.client.get(url).content.decode())
