"""The encumbrance findings in the audit framework: planted and clean cases per finding, counts against a recount
straight from the tables, a past reference date, and the finding pages (table, CSV) with them."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from django.db.models import F
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from assets.audit import findings
from assets.encumbrance import services
from assets.encumbrance.models import CaseKind, CaseStageEvent, DisputeCase, Payment, Utilisation
from assets.models import Agency
from assets.register import history
from tests.encumbrance.helpers import TODAY, lease, located_asset, open_case, part_of, users
from tests.factories import load_reference, make_asset


def run(slug, as_of=None):
    """The finding on today's register (the assets were all made today), with ``as_of`` as the reference date."""
    return findings.run_finding(slug, history.snapshot(), as_of=as_of)


class EncumbranceFindingTests(TestCase):
    def setUp(self):
        super().setUp()
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the assertions read English pages

    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.users = users(cls.agency, cls.other)
        cls.occupied = located_asset(cls.agency, nama_barang="Tanah diokupasi")
        cls.leased = located_asset(cls.agency, nama_barang="Tanah disewakan")
        cls.clean = located_asset(cls.other, nama_barang="Tanah bersih")
        cls.bare = make_asset(agency=cls.other, nama_barang="Tanah tanpa lokasi")
        long_ago = TODAY - dt.timedelta(days=400)
        # occupation on land with no agreement (planted), and one on land with an agreement (clean for that finding)
        cls.okupasi = open_case(cls.occupied, opened_on=long_ago, parties="Warga RT 05")
        cls.claim = open_case(cls.bare, kind=CaseKind.KLAIM, opened_on=TODAY - dt.timedelta(days=20),
                              next_hearing=TODAY + dt.timedelta(days=14))  # fmt: skip
        open_case(cls.leased, opened_on=TODAY - dt.timedelta(days=30), next_hearing=TODAY + dt.timedelta(days=15))
        closed = open_case(cls.clean, opened_on=long_ago, next_hearing=TODAY + dt.timedelta(days=3))
        services.case_move(
            case=closed, user=None, to_stage="SELESAI", date=TODAY - dt.timedelta(days=100), note="Damai"
        )
        # agreements: one expired but still active (planted), one active and current, one stopped after expiry
        cls.expired = lease(cls.leased, start=long_ago, end=TODAY - dt.timedelta(days=1), geom=part_of(cls.leased, 0.9))
        cls.current = lease(
            cls.leased, start=long_ago, end=TODAY + dt.timedelta(days=200), geom=part_of(cls.leased, 0.9)
        )
        stopped = lease(cls.clean, start=long_ago, end=TODAY - dt.timedelta(days=50))
        services.utilisation_update(utilisation=stopped, user=None, status="BERAKHIR")
        # payments: overdue and partly paid, paid in full, not yet due
        cls.late = services.payment_add(utilisation=cls.current, user=None, due_date=TODAY - dt.timedelta(days=31),
                                        amount_due=Decimal("3000000"))  # fmt: skip
        services.payment_record(payment=cls.late, user=None, paid_amount=Decimal("1000000"), paid_date=TODAY)
        paid = services.payment_add(utilisation=cls.current, user=None, due_date=TODAY - dt.timedelta(days=60),
                                    amount_due=Decimal("3000000"))  # fmt: skip
        services.payment_record(payment=paid, user=None, paid_amount=Decimal("3000000"), paid_date=TODAY)
        services.payment_add(utilisation=cls.current, user=None, due_date=TODAY, amount_due=Decimal("3000000"))

    def test_registered_in_the_framework(self):
        for slug in ("open-cases", "hearings", "expired-in-use", "occupied-without-agreement", "payments-overdue",
                     "utilised-over-parcel"):  # fmt: skip
            self.assertIn(slug, findings.FINDINGS)

    def test_open_cases_by_kind_and_age_match_a_recount(self):
        rows = run("open-cases")
        recount = DisputeCase.objects.filter(closed_on__isnull=True).values_list("assets", flat=True)
        self.assertEqual(sorted(r.asset.id for r in rows), sorted(recount))
        by_asset = {r.asset.id: r.values for r in rows}
        self.assertEqual(by_asset[self.occupied.pk]["age_days"], 400)
        self.assertNotIn(self.clean.pk, by_asset)  # its case is closed
        self.assertIn(self.bare.pk, by_asset)  # a case on land without a certificate or location

    def test_hearings_within_14_days(self):
        rows = run("hearings")
        self.assertEqual([r.asset.id for r in rows], [self.bare.pk])  # 14 days yes, 15 no, closed case no

    def test_expired_but_in_use(self):
        rows = run("expired-in-use")
        self.assertEqual([(r.asset.id, r.values["days"]) for r in rows], [(self.leased.pk, 1)])
        recount = Utilisation.objects.filter(status__in=["AKTIF", "DIPERPANJANG"], end_date__lt=TODAY).count()
        self.assertEqual(len(rows), recount)

    def test_occupied_without_agreement(self):
        rows = run("occupied-without-agreement")
        self.assertEqual([r.asset.id for r in rows], [self.occupied.pk])
        self.assertEqual(rows[0].values["parties"], "Warga RT 05")

    def test_payments_overdue_with_the_amount(self):
        rows = run("payments-overdue")
        self.assertEqual([(r.asset.id, r.values["outstanding"], r.values["days"]) for r in rows],
                         [(self.leased.pk, Decimal("2000000"), 31)])  # fmt: skip
        recount = sum(p.amount_due - p.paid_amount for p in
                      Payment.objects.filter(due_date__lt=TODAY, paid_amount__lt=F("amount_due")))  # fmt: skip
        self.assertEqual(sum(r.values["outstanding"] for r in rows), recount)

    def test_utilised_area_exceeding_the_parcel(self):
        rows = run("utilised-over-parcel")  # two parts of 81 % each on one parcel
        self.assertEqual([r.asset.id for r in rows], [self.leased.pk])
        used = sum(u.area_m2 for u in Utilisation.objects.filter(asset=self.leased, status="AKTIF"))
        self.assertEqual(rows[0].values["used_m2"], used)
        self.assertEqual(rows[0].values["excess_m2"], used - self.leased.luas_gis_m2)
        services.utilisation_update(utilisation=self.expired, user=None, status="BERAKHIR")
        self.assertEqual(run("utilised-over-parcel"), [])  # one part alone fits

    def test_as_of_a_past_date(self):
        before = TODAY - dt.timedelta(days=200)
        # recorded today: as recorded 200 days ago, nothing was open yet
        self.assertEqual(run("open-cases", before), [])
        self.assertEqual(history.open_case_asset_ids(before), set())
        # recorded when they happened
        long_ago = timezone.now() - dt.timedelta(days=400)
        DisputeCase.objects.update(created_at=long_ago)
        CaseStageEvent.objects.filter(to_stage="IDENTIFIKASI").update(created_at=long_ago)
        CaseStageEvent.objects.exclude(to_stage="IDENTIFIKASI").update(
            created_at=timezone.now() - dt.timedelta(days=100)
        )
        rows = run("open-cases", before)
        # then: only the two cases opened 400 days ago were open (the closed one closed 100 days ago)
        self.assertEqual(sorted(r.asset.id for r in rows), sorted([self.occupied.pk, self.clean.pk]))
        self.assertEqual(history.open_case_asset_ids(before), {self.occupied.pk, self.clean.pk})
        self.assertEqual(history.open_case_asset_ids(None), {self.occupied.pk, self.leased.pk, self.bare.pk})
        # the register's dispute flag as of the date: the snapshot counts the open cases
        flags = {a.id: a.bermasalah for a in history.snapshot(as_of=TODAY)}
        self.assertTrue(flags[self.occupied.pk])
        self.assertFalse(flags[self.clean.pk])  # its case is closed

    def test_pages_and_csv(self):
        self.client.force_login(self.users["bpkad"])
        for slug in ("open-cases", "payments-overdue", "utilised-over-parcel"):
            response = self.client.get(reverse("audit-finding", args=[slug]))
            self.assertEqual(response.status_code, 200, slug)
        csv = self.client.get(reverse("audit-finding", args=["payments-overdue"]), {"format": "csv"})
        self.assertEqual(csv.status_code, 200)
        text = b"".join(csv.streaming_content).decode()
        self.assertIn("2000000", text.replace(".", "").replace(",", ""))
        overview = self.client.get(reverse("audit-findings"))
        self.assertContains(overview, "Occupied land without any pemanfaatan")


class DashboardTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.users = users(cls.agency, cls.other)
        cls.asset = located_asset(cls.agency)
        second = located_asset(cls.agency)
        services.case_open(user=None, assets=[cls.asset, second], kind=CaseKind.SENGKETA_BATAS, title="Batas")
        case = open_case(cls.asset)
        services.case_move(case=case, user=None, to_stage="GUGATAN", date=TODAY)
        closed = open_case(cls.asset)
        services.case_move(case=closed, user=None, to_stage="DIHENTIKAN", date=TODAY, note="Dicabut")
        u = lease(cls.asset)
        for due, amount, paid in ((dt.date(2025, 3, 1), "1000001", "1000001"), (dt.date(2025, 9, 1), "500000", "0"),
                                  (dt.date(2026, 3, 1), "750000", "250000")):  # fmt: skip
            p = services.payment_add(utilisation=u, user=None, due_date=due, amount_due=Decimal(amount))
            if paid != "0":
                services.payment_record(payment=p, user=None, paid_amount=Decimal(paid), paid_date=due)

    def test_revenue_and_cases_by_stage(self):
        from assets.encumbrance import selectors

        self.assertEqual(selectors.revenue_by_year(), [
            (2025, Decimal("1500001"), Decimal("1000001")), (2026, Decimal("750000"), Decimal("250000")),
        ])  # fmt: skip
        ((name, counts, total),) = selectors.open_cases_by_kecamatan_stage()
        self.assertEqual(name, self.asset.kecamatan.name)
        self.assertEqual((counts, total), ({"IDENTIFIKASI": 1, "GUGATAN": 1}, 2))  # the case on two assets once

    def test_dashboard_section_and_csv(self):
        self.client.force_login(self.users["auditor"])
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the headings read in English below
        page = self.client.get(reverse("audit-dashboard"))
        self.assertContains(page, "Utilisation revenue per year")
        # the two charts are dashboard charts: SVG (and PNG) downloads, and their numbers in the workbook
        for slug in ("revenue", "cases"):
            self.assertContains(page, reverse("audit-dashboard-svg", kwargs={"slug": slug}))
            svg = self.client.get(reverse("audit-dashboard-svg", kwargs={"slug": slug}))
            self.assertEqual(svg.status_code, 200)
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(b"".join(self.client.get(reverse("audit-dashboard-xlsx")).streaming_content)))
        rows = [[c.value for c in row] for ws in book.worksheets for row in ws.iter_rows()]
        self.assertIn([2025, 1500001, 1000001, 500000], rows)  # year, due, paid, outstanding to the rupiah
        text = b"".join(self.client.get(reverse("encumbrance-revenue-csv")).streaming_content).decode()
        self.assertIn("2025,1500001,1000001,500000", text)
        text = b"".join(self.client.get(reverse("encumbrance-cases-csv")).streaming_content).decode()
        self.assertIn(f"{self.asset.kecamatan.name},1,0,1,", text)
        self.client.force_login(self.users["planner"])
        self.assertEqual(self.client.get(reverse("encumbrance-revenue-csv")).status_code, 403)
        self.assertEqual(self.client.get(reverse("audit-dashboard")).status_code, 200)


class QueryTests(TestCase):
    """The planners' query reports the disputed and let-out area inside the drawn shape."""

    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.users = users(cls.agency, cls.other)
        cls.asset = located_asset(cls.agency)
        cls.part = part_of(cls.asset, 0.5)
        cls.case = open_case(cls.asset, geom=cls.part)
        cls.lease = lease(cls.asset, geom=part_of(cls.asset, 0.5))  # the same part: counted on its own line

    def test_area_inside_a_shape(self):
        from assets.register.geo import geodesic_area_m2

        self.client.force_login(self.users["planner"])
        west, south, east, north = self.asset.geom.extent
        mid = (west + east) / 2  # the western half of the parcel: half of each part
        page = self.client.get("/query/", {"bbox": f"{west - 0.001},{south - 0.001},{mid},{north + 0.001}"})
        encumbered = page.context["encumbered"]
        half = geodesic_area_m2(self.part) / 2
        self.assertEqual((encumbered.cases, encumbered.agreements), (1, 1))
        self.assertAlmostEqual(encumbered.disputed_m2, half, delta=half * 0.01)
        self.assertAlmostEqual(encumbered.used_m2, half, delta=half * 0.01)
        services.case_move(case=self.case, user=None, to_stage="DIHENTIKAN", date=TODAY, note="Dicabut")
        page = self.client.get("/query/", {"bbox": f"{west - 0.001},{south - 0.001},{mid},{north + 0.001}"})
        self.assertEqual(page.context["encumbered"].disputed_m2, 0)
        self.assertContains(page, 'id="total-used"')


class AsOfContractTests(TestCase):
    """Agreements and payments as of a date come from their history, as recorded by the end of that day."""

    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.asset = located_asset(cls.agency)

    def test_expired_agreement_and_payment_as_of_before_they_were_settled(self):
        agreement = lease(self.asset, start=TODAY - dt.timedelta(days=400), end=TODAY - dt.timedelta(days=30))
        payment = services.payment_add(utilisation=agreement, user=None, due_date=TODAY - dt.timedelta(days=60),
                                       amount_due=Decimal("900000"))  # fmt: skip
        ten_days_ago = timezone.now() - dt.timedelta(days=10)
        Utilisation.history.update(history_date=ten_days_ago)
        Payment.history.update(history_date=ten_days_ago)
        # today: the agreement is ended and the payment made
        services.utilisation_update(utilisation=agreement, user=None, status="BERAKHIR")
        services.payment_record(payment=payment, user=None, paid_amount=Decimal("900000"), paid_date=TODAY)
        self.assertEqual(run("expired-in-use"), [])
        self.assertEqual(run("payments-overdue"), [])
        before = TODAY - dt.timedelta(days=5)
        rows = run("expired-in-use", before)
        self.assertEqual([(r.asset.id, r.values["days"]) for r in rows], [(self.asset.pk, 25)])
        rows = run("payments-overdue", before)
        self.assertEqual([(r.values["outstanding"], r.values["days"]) for r in rows], [(900000, 55)])
        # before anything was recorded: nothing
        self.assertEqual(run("expired-in-use", TODAY - dt.timedelta(days=20)), [])
