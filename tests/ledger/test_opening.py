"""The opening balance: the go-live load dated back, so the register as of an earlier date shows it."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from assets.ledger import opening
from assets.ledger.models import OpeningBalance
from assets.register.reads import RegisterSelection
from tests.ledger.ledger_case import LedgerCase, certify


def ids_on(day: str) -> set[int]:
    return {s.id for s in RegisterSelection.from_params({"as_of": day}).states()}


class OpeningBalanceTests(LedgerCase):
    def setUp(self):
        super().setUp()
        self.today = timezone.localdate()
        self.old = self.alone  # recorded long ago: outside the go-live window
        self.old.history.update(history_date=dt.datetime(2019, 3, 1, tzinfo=dt.UTC))

    def apply(self, **changes):
        args = {"user": self.bpkad, "mode": OpeningBalance.Mode.DATE, "effective_date": dt.date(2025, 12, 31),
                "recorded_from": self.today, "recorded_until": self.today, "reason": "KIB A 2025"}  # fmt: skip
        args.update(changes)
        return opening.apply(**args)

    def test_on_the_effective_date(self):
        self.assertNotIn(self.equal.pk, ids_on("2025-12-31"))
        done = self.apply()
        self.assertEqual((done.assets_moved, done.certificates_moved), (3, 2))  # the old asset stays where it was
        on_year_end = ids_on("2025-12-31")
        self.assertTrue({self.equal.pk, self.differs.pk, self.likely.pk} <= on_year_end)
        self.assertNotIn(self.equal.pk, ids_on("2025-12-30"))
        self.assertIn(self.old.pk, ids_on("2020-01-01"))
        state = next(
            s for s in RegisterSelection.from_params({"as_of": "2025-12-31"}).states() if s.id == self.equal.pk
        )
        self.assertEqual(state.status_sertifikat, "terbit")  # its certificate came along

    def test_since_each_acquisition_date(self):
        dated = self.equal  # no acquisition date: 1 January 1998 (its year)
        certify(self.likely, "777", dt.date(2011, 1, 5))
        self.apply(mode=OpeningBalance.Mode.ACQUISITION, effective_date=None)
        self.assertIn(dated.pk, ids_on("1998-01-01"))
        self.assertNotIn(dated.pk, ids_on("1997-12-31"))
        self.assertIn(self.likely.pk, ids_on("2010-01-01"))

    def test_checks_and_permissions(self):
        with self.assertRaises(PermissionDenied):
            self.apply(user=self.auditor)
        with self.assertRaises(ValidationError) as caught:
            self.apply(effective_date=None, reason=" ", recorded_until=self.today + dt.timedelta(days=1))
        self.assertEqual(set(caught.exception.message_dict), {"effective_date", "reason", "recorded_until"})
        self.assertFalse(OpeningBalance.objects.exists())

    def test_page(self):
        url = reverse("ledger-opening-balance")
        self.client.force_login(self.officer)
        self.assertEqual(self.client.get(url).status_code, 403)
        self.client.force_login(self.auditor)
        self.assertNotContains(self.client.get(url), '<form class="form" method="post"')
        self.assertEqual(self.client.post(url, {}).status_code, 403)
        self.client.force_login(self.bpkad)
        today = self.today.isoformat()
        response = self.client.post(url, {"mode": "date", "effective_date": "2025-12-31", "recorded_from": today,
                                          "recorded_until": today, "reason": "Saldo awal"})  # fmt: skip
        self.assertRedirects(response, url)
        self.assertEqual(OpeningBalance.objects.get().assets_moved, 3)


class EmptyAsOfTests(LedgerCase):
    """As-of pages that find nothing because of the date say why, from one place (register.reads.empty_before)."""

    def setUp(self):
        super().setUp()
        self.alone.history.update(history_date=dt.datetime(2019, 3, 1, 4, tzinfo=dt.UTC))  # the earliest record
        self.client.force_login(self.auditor)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def pages(self, day):
        return [self.client.get(reverse(name) + f"?as_of={day}")
                for name in ("asset-list", "audit-findings", "audit-dashboard")]  # fmt: skip

    def test_before_the_first_record_the_pages_say_why(self):
        self.assertEqual(ids_on("2019-02-28"), set())
        for page in self.pages("2019-02-28"):
            self.assertContains(page, "The register holds nothing before 1 March 2019, the date of its earliest "
                                      "record; 28 February 2019 is before it.")  # fmt: skip
            self.assertContains(page, "No opening balance (saldo awal) is recorded")
        for page in self.pages("2019-03-01"):  # the first day holds the asset: nothing to explain
            self.assertNotContains(page, "data-as-of-empty")
        for page in [self.client.get(reverse("asset-list"))]:  # live: nothing to explain either
            self.assertNotContains(page, "data-as-of-empty")

    def test_the_opening_balance_is_named(self):
        today = timezone.localdate()
        opening.apply(user=self.bpkad, mode=OpeningBalance.Mode.DATE, effective_date=dt.date(2018, 12, 31),
                      recorded_from=today, recorded_until=today, reason="KIB A 2018")  # fmt: skip
        self.assertIn(self.equal.pk, ids_on("2018-12-31"))
        page = self.client.get(reverse("asset-list") + "?as_of=2018-12-30")
        self.assertContains(page, "The register holds nothing before 31 December 2018")
        self.assertContains(page, "The opening balance (saldo awal, “KIB A 2018”) is dated 31 December 2018.")
        self.assertIsNone(RegisterSelection.from_params({"as_of": "2018-12-31"}).empty_reason())

    def test_api_exports_and_report_say_why(self):
        listed = self.client.get("/api/v1/assets/", {"as_of": "2019-02-28"}).json()
        self.assertEqual(listed["count"], 0)
        self.assertIn("The register holds nothing before 1 March 2019", listed["note"])
        totals = self.client.get("/api/v1/assets/aggregate/", {"as_of": "2019-02-28"}).json()
        self.assertEqual(totals["count"], 0)
        self.assertIn("No opening balance (saldo awal) is recorded", totals["note"])
        self.assertNotIn("note", self.client.get("/api/v1/assets/", {"as_of": "2019-03-01"}).json())
        export = self.client.get(reverse("asset-export"), {"as_of": "2019-02-28", "format": "csv"})
        self.assertEqual(export.status_code, 200)
        self.assertIn("1 March 2019", export["Sipanah-As-Of-Note"])
        from assets.audit.exports import report_meta

        meta = dict(report_meta(user=self.auditor, as_of=dt.date(2019, 2, 28)))
        self.assertIn("The register holds nothing before 1 March 2019", meta["Note"])
        self.assertNotIn("Note", dict(report_meta(user=self.auditor, as_of=dt.date(2019, 3, 1))))
