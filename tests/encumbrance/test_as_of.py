"""As of a date, the encumbrance surfaces show the cases open then and the agreements in use then, as recorded by the
end of that day: the map layer, the dashboard's two charts and their CSVs, the REST API and the OGC collections,
across case and contract changes recorded on their own days (the clock is set to each day while writing)."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import mapbox_vector_tile
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from assets.audit import dashboard
from assets.encumbrance import selectors, services
from assets.encumbrance.models import CaseKind
from assets.models import Agency
from tests.encumbrance.helpers import TODAY, lease, located_asset, open_case, part_of, users
from tests.encumbrance.test_map import tile_of
from tests.factories import load_reference

OPENED = TODAY - dt.timedelta(days=100)  # case A opened, the agreement signed and its first payment row added
SUED = TODAY - dt.timedelta(days=60)  # case A moved to gugatan
THEN = TODAY - dt.timedelta(days=50)  # the date looked at: A open (gugatan), the agreement in use, nothing paid
PAID = TODAY - dt.timedelta(days=30)
STOPPED = TODAY - dt.timedelta(days=20)  # the agreement stopped
SETTLED = TODAY - dt.timedelta(days=10)  # case A settled; case B is opened today
BEFORE = TODAY - dt.timedelta(days=150)  # nothing recorded yet


@contextmanager
def recorded_on(day: dt.date):
    """Everything written inside is recorded at noon of ``day`` (created_at, the history's date, today)."""
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


class EncumbranceAsOfTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.users = users(cls.agency, cls.other)
        with recorded_on(OPENED):
            cls.asset = located_asset(cls.agency)
            cls.case_a = open_case(cls.asset, opened_on=OPENED, geom=part_of(cls.asset, 0.5), title="Okupasi A")
            cls.lease = lease(cls.asset, start=OPENED, end=TODAY + dt.timedelta(days=300),
                              geom=part_of(cls.asset, 0.8))  # fmt: skip
            cls.payment = services.payment_add(utilisation=cls.lease, user=None, due_date=OPENED,
                                               amount_due=Decimal("1000001"))  # fmt: skip
        with recorded_on(SUED):
            services.case_move(case=cls.case_a, user=None, to_stage="GUGATAN", date=SUED,
                               court_case_number="7/Pdt.G/2026/PN Bpp")  # fmt: skip
        with recorded_on(PAID):
            services.payment_record(payment=cls.payment, user=None, paid_amount=Decimal("1000001"), paid_date=PAID)
        with recorded_on(STOPPED):
            services.utilisation_update(utilisation=cls.lease, user=None, status="DIHENTIKAN",
                                        status_reason="Mitra mengundurkan diri")  # fmt: skip
        with recorded_on(SETTLED):
            services.case_move(case=cls.case_a, user=None, to_stage="SELESAI", date=SETTLED, note="Damai")
        cls.case_b = open_case(cls.asset, kind=CaseKind.KLAIM, opened_on=TODAY - dt.timedelta(days=5),
                               geom=part_of(cls.asset, 0.3), title="Klaim B")  # fmt: skip

    def setUp(self):
        super().setUp()
        self.client.force_login(self.users["bpkad"])

    # --- the selectors every surface reads --------------------------------------------------------------------

    def test_open_cases_and_agreements_in_use_then(self):
        self.assertEqual(set(selectors.open_case_ids(THEN).values_list("pk", flat=True)), {self.case_a.pk})
        self.assertEqual(list(selectors.case_rows_at(THEN).values_list("id", "stage")), [(self.case_a.pk, "GUGATAN")])
        self.assertEqual(list(selectors.case_rows_at(None).values_list("id", flat=True)), [self.case_b.pk])
        self.assertEqual(list(selectors.case_rows_at(BEFORE)), [])
        self.assertEqual(
            list(selectors.utilisation_rows_at(THEN).values_list("id", "status")), [(self.lease.pk, "AKTIF")]
        )
        self.assertEqual(list(selectors.utilisation_rows_at(None)), [])
        # the day the agreement was stopped: no longer in use by its end
        self.assertEqual(list(selectors.utilisation_rows_at(STOPPED)), [])

    # --- map ------------------------------------------------------------------------------------------------

    def tile(self, **params):
        c = self.asset.geom.centroid
        x, y = tile_of(c.x, c.y, 17)
        response = self.client.get(reverse("encumbrance-tile", kwargs={"z": 17, "x": x, "y": y}), params)
        self.assertEqual(response.status_code, 200)
        layers = mapbox_vector_tile.decode(response.content) if response.content else {}
        return {name: [(f["properties"]["id"], f["properties"]["st"]) for f in layer["features"]]
                for name, layer in layers.items()}  # fmt: skip

    def test_map_layer_as_of(self):
        self.assertEqual(self.tile(), {"disputes": [(self.case_b.pk, "IDENTIFIKASI")]})
        self.assertEqual(
            self.tile(as_of=THEN.isoformat()),
            {"disputes": [(self.case_a.pk, "GUGATAN")], "utilisations": [(self.lease.pk, "AKTIF")]},
        )
        self.assertEqual(self.tile(as_of=BEFORE.isoformat()), {})  # neither the asset nor its cases recorded yet
        # the register's filters as of the date: the asset was the agency's then
        self.assertIn("disputes", self.tile(as_of=THEN.isoformat(), agency=self.agency.code))
        self.assertEqual(self.tile(as_of=THEN.isoformat(), agency=self.other.code), {})
        c = self.asset.geom.centroid
        x, y = tile_of(c.x, c.y, 17)
        bad = self.client.get(reverse("encumbrance-tile", kwargs={"z": 17, "x": x, "y": y}), {"as_of": "2026-02-30"})
        self.assertEqual(bad.status_code, 400)
        self.assertIn("as_of", bad.content.decode())
        # the map page as of a date carries the layer (with the date in its tile URL)
        page = self.client.get(reverse("asset-map"), {"as_of": THEN.isoformat()})
        self.assertContains(page, "SipanahEncumbrance.disputeStyle")
        self.assertContains(page, f"as_of={THEN.isoformat()}")

    # --- dashboard ------------------------------------------------------------------------------------------

    def test_dashboard_charts_and_csv_as_of(self):
        year = OPENED.year
        self.assertEqual(selectors.revenue_by_year(as_of=THEN), [(year, Decimal("1000001"), Decimal(0))])
        self.assertEqual(selectors.revenue_by_year(), [(year, Decimal("1000001"), Decimal("1000001"))])
        self.assertEqual(selectors.revenue_by_year(as_of=BEFORE), [])
        kecamatan = self.asset.kecamatan.name
        self.assertEqual(selectors.open_cases_by_kecamatan_stage(as_of=THEN), [(kecamatan, {"GUGATAN": 1}, 1)])
        self.assertEqual(selectors.open_cases_by_kecamatan_stage(), [(kecamatan, {"IDENTIFIKASI": 1}, 1)])
        self.assertEqual(selectors.open_cases_by_kecamatan_stage(as_of=BEFORE), [])
        charts = {c.slug: c for c in dashboard.encumbrance_charts(THEN)}
        self.assertEqual(charts["revenue"].rows, [[year, Decimal("1000001"), Decimal(0), Decimal("1000001")]])
        revenue = self.client.get(reverse("encumbrance-revenue-csv"), {"as_of": THEN.isoformat()})
        self.assertIn(f"{THEN.isoformat()}.csv", revenue["Content-Disposition"])
        self.assertIn(f"{year},1000001,0,1000001", b"".join(revenue.streaming_content).decode())
        cases = self.client.get(reverse("encumbrance-cases-csv"), {"as_of": THEN.isoformat()})
        self.assertIn(f"{kecamatan},0,0,1,", b"".join(cases.streaming_content).decode())  # gugatan, the 3rd stage
        self.assertEqual(self.client.get(reverse("encumbrance-cases-csv"), {"as_of": "kemarin"}).status_code, 400)
        # the dashboard page as of the date draws them from the same rows
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        xlsx = self.client.get(reverse("audit-dashboard-xlsx"), {"as_of": THEN.isoformat()})
        self.assertEqual(xlsx.status_code, 200)

    # --- REST -----------------------------------------------------------------------------------------------

    def test_rest_cases_as_of(self):
        data = self.client.get("/api/v1/cases/", {"as_of": THEN.isoformat()}).json()
        self.assertEqual([f["id"] for f in data["features"]], [self.case_a.pk])  # B was not opened yet
        props = data["features"][0]["properties"]
        self.assertEqual((props["stage"], props["is_open"], props["closed_on"]), ("GUGATAN", True, None))
        self.assertEqual([e["to_stage"] for e in props["events"]], ["IDENTIFIKASI", "GUGATAN"])
        self.assertEqual(props["assets"], [self.asset.pk])
        self.assertEqual(self.client.get("/api/v1/cases/", {"as_of": THEN.isoformat(), "open": "0"}).json()["count"], 0)
        now = self.client.get("/api/v1/cases/", {"open": "0"}).json()
        self.assertEqual([f["id"] for f in now["features"]], [self.case_a.pk])  # settled since
        self.assertEqual(now["features"][0]["properties"]["stage"], "SELESAI")
        one = self.client.get(f"/api/v1/cases/{self.case_a.pk}/", {"as_of": THEN.isoformat()}).json()
        self.assertEqual(one["properties"]["stage"], "GUGATAN")
        self.assertEqual(self.client.get(f"/api/v1/cases/{self.case_b.pk}/", {"as_of": THEN.isoformat()}).status_code,
                         404)  # fmt: skip
        bad = self.client.get("/api/v1/cases/", {"as_of": "2026-13-01"})
        self.assertEqual(bad.status_code, 400)
        self.assertIn("as_of", bad.json())
        schema = self.client.get("/api/v1/schema/?format=json", HTTP_ACCEPT="application/json").json()
        for path in ("/api/v1/cases/", "/api/v1/utilisations/", "/api/v1/cases/{id}/"):
            names = [p["name"] for p in schema["paths"][path]["get"]["parameters"]]
            self.assertIn("as_of", names, path)

    def test_rest_utilisations_as_of(self):
        data = self.client.get("/api/v1/utilisations/", {"as_of": THEN.isoformat()}).json()
        (feature,) = data["features"]
        self.assertEqual(feature["properties"]["status"], "AKTIF")
        self.assertEqual([(p["amount_due"], p["paid_amount"]) for p in feature["properties"]["payments"]],
                         [(1000001, 0)])  # fmt: skip
        now = self.client.get("/api/v1/utilisations/").json()["features"][0]["properties"]
        self.assertEqual((now["status"], now["payments"][0]["paid_amount"]), ("DIHENTIKAN", 1000001))
        in_use = self.client.get("/api/v1/utilisations/", {"as_of": THEN.isoformat(), "status": "AKTIF"}).json()
        self.assertEqual(in_use["count"], 1)
        self.assertEqual(self.client.get("/api/v1/utilisations/", {"as_of": BEFORE.isoformat()}).json()["count"], 0)

    # --- OGC ------------------------------------------------------------------------------------------------

    def test_ogc_collections_as_of(self):
        def items(collection, **params):
            response = self.client.get(f"/ogc/collections/{collection}/items", {"f": "json", **params})
            self.assertEqual(response.status_code, 200)
            return [(f["id"], f["properties"]["stage" if collection == "disputes" else "status"])
                    for f in response.json()["features"]]  # fmt: skip

        self.assertEqual(items("disputes"), [(self.case_b.pk, "IDENTIFIKASI")])
        self.assertEqual(items("disputes", as_of=THEN.isoformat()), [(self.case_a.pk, "GUGATAN")])
        self.assertEqual(items("utilisations"), [])
        self.assertEqual(items("utilisations", as_of=THEN.isoformat()), [(self.lease.pk, "AKTIF")])
        self.assertEqual(items("utilisations", as_of=BEFORE.isoformat()), [])
        # bbox and datetime refine the rows of that date too
        self.assertEqual(items("disputes", as_of=THEN.isoformat(), bbox="100,-10,101,-9"), [])
        self.assertEqual(
            items("disputes", as_of=THEN.isoformat(), datetime=f"{OPENED.isoformat()}T00:00:00Z/.."),
            [(self.case_a.pk, "GUGATAN")],
        )
        html = self.client.get("/ogc/collections/disputes/items", {"f": "html", "as_of": THEN.isoformat()})
        self.assertContains(html, "Okupasi A")
