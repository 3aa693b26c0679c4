"""The REST API's cases and agreements: GeoJSON features with the drawn part, filters, bad filters named, no NIK,
machine clients only (401 without credentials)."""

from __future__ import annotations

from decimal import Decimal

from django.test import TestCase

from assets.encumbrance import services
from assets.models import Agency
from tests.encumbrance.helpers import TODAY, lease, located_asset, open_case, part_of, users
from tests.factories import load_reference


class EncumbranceApiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.users = users(cls.agency, cls.other)
        cls.asset = located_asset(cls.agency)
        cls.case = open_case(cls.asset, geom=part_of(cls.asset), court_case_numbers="12/Pdt.G/2026/PN Bpp")
        closed = open_case(cls.asset)
        services.case_move(case=closed, user=None, to_stage="SELESAI", date=TODAY, note="Damai")
        cls.lease = lease(cls.asset, partner_nik="6471051234560001", geom=part_of(cls.asset, 0.4))
        services.payment_add(utilisation=cls.lease, user=None, due_date=TODAY, amount_due=Decimal("1500000"))

    def test_cases_and_agreements(self):
        self.client.force_login(self.users["planner"])
        data = self.client.get("/api/v1/cases/", {"open": "1"}).json()
        self.assertEqual(data["type"], "FeatureCollection")
        self.assertEqual([f["id"] for f in data["features"]], [self.case.pk])
        feature = data["features"][0]
        self.assertEqual(feature["geometry"]["type"], "MultiPolygon")
        self.assertEqual(feature["properties"]["assets"], [self.asset.pk])
        self.assertEqual(feature["properties"]["area_m2"], float(self.case.area_m2))
        self.assertEqual(feature["properties"]["events"][0]["to_stage"], "IDENTIFIKASI")
        self.assertEqual(self.client.get("/api/v1/cases/", {"open": "0"}).json()["count"], 1)
        self.assertEqual(self.client.get("/api/v1/cases/", {"kind": "PERKARA"}).json()["count"], 0)
        bad = self.client.get("/api/v1/cases/", {"kind": "NOPE"})
        self.assertEqual(bad.status_code, 400)
        self.assertIn("kind", bad.json())
        agreement = self.client.get(f"/api/v1/utilisations/{self.lease.pk}/").json()
        self.assertEqual(agreement["properties"]["payments"][0]["amount_due"], 1500000)
        self.assertNotIn("partner_nik", agreement["properties"])
        self.assertNotIn("6471051234560001", self.client.get("/api/v1/utilisations/").content.decode())

    def test_anonymous_gets_401(self):
        self.assertEqual(self.client.get("/api/v1/cases/").status_code, 401)
        self.assertEqual(self.client.get("/api/v1/utilisations/").status_code, 401)
