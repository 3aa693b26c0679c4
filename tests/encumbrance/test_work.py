"""Work queue sources: agreements ending within 90/30 days (across month and year ends), payments overdue with the
amount, hearings within 14 days; BPKAD sees every agency's, an officer their agency's, auditors and planners none."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import TestCase
from django.utils import timezone

from assets.encumbrance import services, work
from assets.lib import formats
from assets.models import Agency
from assets.work import registry
from tests.encumbrance.helpers import lease, located_asset, open_case, users
from tests.factories import load_reference


def counts(items):
    return [(i.title, i.count) for i in items]


class WorkSourceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.asset = located_asset(cls.agency)
        cls.other_asset = located_asset(cls.other)
        cls.users = users(cls.agency, cls.other)

    def test_registered(self):
        self.assertTrue({"utilisations_ending", "payments_overdue", "hearings_soon"} <= set(registry.sources()))

    def test_ending_alerts_across_the_year_end(self):
        today = dt.date(2026, 12, 20)
        start = dt.date(2025, 1, 1)
        lease(self.asset, start=start, end=dt.date(2027, 1, 19))  # 30 days ahead: the 30-day alert
        lease(self.asset, start=start, end=dt.date(2027, 1, 20))  # 31 days: the 90-day alert
        lease(self.asset, start=start, end=dt.date(2027, 3, 20))  # 90 days
        lease(self.asset, start=start, end=dt.date(2027, 3, 21))  # 91 days: no alert yet
        lease(self.other_asset, start=start, end=dt.date(2026, 12, 31))
        ended = lease(self.asset, start=start, end=dt.date(2026, 12, 25))
        services.utilisation_update(utilisation=ended, user=None, status="BERAKHIR")  # no longer in use
        lease(self.asset, start=start, end=dt.date(2026, 12, 19))  # already past: a finding, not an alert
        bpkad = [i.count for i in work.utilisations_ending(self.users["bpkad"], today)]
        officer = [i.count for i in work.utilisations_ending(self.users["officer"], today)]
        self.assertEqual(bpkad, [2, 2])
        self.assertEqual(officer, [1, 2])
        self.assertEqual(work.utilisations_ending(self.users["auditor"], today), [])
        self.assertEqual(work.utilisations_ending(self.users["planner"], today), [])
        # across a month end (31 Jan -> 2 Mar is 30 days in 2026)
        self.assertEqual([i.count for i in work.utilisations_ending(self.users["officer"], dt.date(2027, 2, 18))][0], 1)

    def test_overdue_payments_with_the_amount(self):
        u = lease(self.asset)
        v = lease(self.other_asset)
        today = timezone.localdate()
        for target, amount in ((u, "1000000"), (u, "250000"), (v, "7")):
            p = services.payment_add(utilisation=target, user=None, due_date=today - dt.timedelta(days=1),
                                     amount_due=Decimal(amount))  # fmt: skip
        services.payment_record(payment=p, user=None, paid_amount=Decimal("7"), paid_date=today)
        services.payment_add(utilisation=u, user=None, due_date=today, amount_due=Decimal("5"))  # due today: not yet
        (item,) = work.payments_overdue(self.users["officer"])
        self.assertEqual(item.count, 2)
        self.assertIn(formats.rupiah(Decimal("1250000")), item.detail)
        (item,) = work.payments_overdue(self.users["bpkad"])
        self.assertEqual(item.count, 2)  # the other agency's is paid
        self.assertEqual(work.payments_overdue(self.users["other_officer"])[0].count, 0)
        response = self.client_for("officer").get(item.url)
        self.assertContains(response, u.agreement_number)

    def test_hearings_within_14_days(self):
        today = dt.date(2026, 12, 25)
        open_case(self.asset, opened_on=dt.date(2026, 1, 1), next_hearing=dt.date(2027, 1, 8))  # 14 days
        open_case(self.asset, opened_on=dt.date(2026, 1, 1), next_hearing=dt.date(2027, 1, 9))  # 15 days
        open_case(self.other_asset, opened_on=dt.date(2026, 1, 1), next_hearing=dt.date(2026, 12, 25))
        closed = open_case(self.asset, opened_on=dt.date(2026, 1, 1), next_hearing=dt.date(2026, 12, 30))
        services.case_move(case=closed, user=None, to_stage="DIHENTIKAN", date=dt.date(2026, 2, 1), note="Dicabut")
        self.assertEqual(work.hearings_soon(self.users["bpkad"], today)[0].count, 2)
        self.assertEqual(work.hearings_soon(self.users["officer"], today)[0].count, 1)
        self.assertEqual(work.hearings_soon(self.users["auditor"], today), [])

    def client_for(self, role):
        self.client.force_login(self.users[role])
        return self.client
