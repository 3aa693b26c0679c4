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
