"""Pemanfaatan: agreements (identity numbers, dates, the used part), stopping with a reason, the payment schedule
(sums to the rupiah, overdue rows), and the pages with their permission checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase, override_settings
from django.urls import reverse

from assets.encumbrance import selectors, services
from assets.encumbrance.models import CaseStage, Payment, Utilisation, UtilisationStatus
from assets.models import Agency
from tests.encumbrance.helpers import TODAY, lease, located_asset, open_case, part_of, users
from tests.factories import load_reference


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class UtilisationTests(TestCase):
    def setUp(self):
        super().setUp()
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the assertions read English pages

    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.asset = located_asset(cls.agency)
        cls.users = users(cls.agency, cls.other)

    def test_agreement_rules(self):
        u = lease(
            self.asset, partner_npwp="01.234.567.8-901.000", partner_nik="6471051234560001", geom=part_of(self.asset)
        )
        self.assertEqual(u.partner_npwp, "012345678901000")
        self.assertGreater(u.area_m2, 0)
        self.assertLess(u.area_m2, self.asset.luas_gis_m2)
        with self.assertRaises(ValidationError) as caught:
            lease(self.asset, partner_npwp="123", partner_nik="99")
        self.assertEqual(set(caught.exception.message_dict), {"partner_npwp", "partner_nik"})
        with self.assertRaisesMessage(ValidationError, "before the start"):
            lease(self.asset, start=TODAY, end=TODAY - dt.timedelta(days=1))
        with self.assertRaisesMessage(ValidationError, "Say why"):
            services.utilisation_update(utilisation=u, user=None, status=UtilisationStatus.DIHENTIKAN)
        services.utilisation_update(
            utilisation=u, user=None, status=UtilisationStatus.DIHENTIKAN, status_reason="Wanprestasi"
        )
        u.refresh_from_db()
        self.assertEqual((u.status, u.status_reason), (UtilisationStatus.DIHENTIKAN, "Wanprestasi"))
        self.assertEqual(u.history.count(), 2)
        self.assertEqual(Utilisation.objects.count(), 1)

    def test_payments_sum_to_the_rupiah_and_overdue(self):
        u = lease(self.asset)
        rows = [
            services.payment_add(
                utilisation=u, user=None, due_date=TODAY - dt.timedelta(days=40), amount_due=Decimal("1000001")
            ),
            services.payment_add(
                utilisation=u, user=None, due_date=TODAY - dt.timedelta(days=5), amount_due=Decimal("2500000")
            ),
            services.payment_add(
                utilisation=u, user=None, due_date=TODAY + dt.timedelta(days=30), amount_due=Decimal("2500000")
            ),
        ]
        services.payment_record(
            payment=rows[0],
            user=None,
            paid_amount=Decimal("1000001"),
            paid_date=TODAY - dt.timedelta(days=39),
            receipt_number="KW-1",
        )
        services.payment_record(payment=rows[1], user=None, paid_amount=Decimal("999999"), paid_date=TODAY)
        overdue = list(selectors.overdue_payments())
        self.assertEqual(overdue, [rows[1]])
        self.assertEqual(overdue[0].outstanding, Decimal("1500001"))
        year_rows = {y: (due, paid) for y, due, paid in selectors.revenue_by_year()}
        self.assertEqual(sum(d for d, _p in year_rows.values()), Decimal("6000001"))
        self.assertEqual(sum(p for _d, p in year_rows.values()), Decimal("2000000"))
        with self.assertRaisesMessage(ValidationError, "Say when"):
            services.payment_record(payment=rows[2], user=None, paid_amount=Decimal("1"), paid_date=None)
        with self.assertRaisesMessage(ValidationError, "future"):
            services.payment_record(
                payment=rows[2], user=None, paid_amount=Decimal("1"), paid_date=TODAY + dt.timedelta(days=1)
            )

    def test_permissions_in_services(self):
        with self.assertRaises(PermissionDenied):
            lease(self.asset, user=self.users["other_officer"])
        with self.assertRaises(PermissionDenied):
            lease(self.asset, user=self.users["auditor"])
        u = lease(self.asset, user=self.users["officer"])
        with self.assertRaises(PermissionDenied):
            services.payment_add(utilisation=u, user=self.users["planner"], due_date=TODAY, amount_due=Decimal(1))
        lease(self.asset, user=self.users["bpkad"])

    def test_pages_by_role(self):
        u = lease(self.asset)
        case = open_case(self.asset)
        read = [reverse("encumbrance-cases"), reverse("encumbrance-case", args=[case.pk]),
                reverse("encumbrance-utilisations"), reverse("encumbrance-utilisation", args=[u.pk]),
                reverse("asset-detail", args=[self.asset.pk])]  # fmt: skip
        edit = [reverse("encumbrance-case-new", args=[self.asset.pk]), reverse("encumbrance-case-edit", args=[case.pk]),
                reverse("encumbrance-utilisation-new", args=[self.asset.pk]),
                reverse("encumbrance-utilisation-edit", args=[u.pk])]  # fmt: skip
        for role, can_edit in (("officer", True), ("bpkad", True), ("other_officer", False), ("auditor", False),
                               ("planner", False)):  # fmt: skip
            self.client.force_login(self.users[role])
            for url in read:
                self.assertEqual(self.client.get(url).status_code, 200, (role, url))
            for url in edit:
                self.assertEqual(self.client.get(url).status_code, 200 if can_edit else 403, (role, url))
        detail = self.client.get(reverse("asset-detail", args=[self.asset.pk])).content.decode()
        self.assertIn(case.title, detail)
        self.assertIn(u.agreement_number, detail)
        self.assertIn("Open case", detail)  # the dispute badge of a case, not a certificate stage
        self.assertIn("badge badge--neutral", detail)  # the certificate stage still shown beside it

    def test_forms_write_through_the_services(self):
        self.client.force_login(self.users["officer"])
        response = self.client.post(reverse("encumbrance-case-new", args=[self.asset.pk]), {
            "kind": "OKUPASI", "title": "Kios liar", "parties": "Pak Budi", "opened_on": TODAY.isoformat(),
            "next_hearing": "", "court_case_numbers": "", "officer": "", "geom": "", "other_assets": "",
            "description": "",
        })  # fmt: skip
        self.assertEqual(response.status_code, 302, response.content.decode()[:2000])
        case = self.asset.dispute_cases.get()
        response = self.client.post(reverse("encumbrance-case-stage", args=[case.pk]),
                                    {"to_stage": "SELESAI", "date": TODAY.isoformat(), "note": ""})  # fmt: skip
        case.refresh_from_db()
        self.assertEqual(case.stage, CaseStage.IDENTIFIKASI)  # refused: no reason
        self.client.post(reverse("encumbrance-case-stage", args=[case.pk]),
                         {"to_stage": "SELESAI", "date": TODAY.isoformat(), "note": "Dibongkar sukarela"})  # fmt: skip
        case.refresh_from_db()
        self.assertEqual(case.stage, CaseStage.SELESAI)
        response = self.client.post(reverse("encumbrance-utilisation-new", args=[self.asset.pk]), {
            "form": "SEWA", "partner_name": "Koperasi", "agreement_number": "1/2026", "agreement_date": "2026-01-02",
            "start_date": "2026-01-02", "end_date": "2025-01-01", "purpose": "Kantin", "tariff": "100",
        })  # fmt: skip
        self.assertEqual(response.status_code, 200)  # refused: ends before it starts
        self.assertContains(response, "The end lies before the start.")
        self.assertEqual(Utilisation.objects.count(), 0)
        self.client.force_login(self.users["other_officer"])
        u = lease(self.asset)
        pay = services.payment_add(utilisation=u, user=None, due_date=TODAY, amount_due=Decimal(5))
        response = self.client.post(
            reverse("encumbrance-payment", args=[pay.pk]), {"paid_amount": "5", "paid_date": TODAY.isoformat()}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(Payment.objects.get(pk=pay.pk).paid_amount, 0)


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class CaseEditFormTests(TestCase):
    def setUp(self):
        super().setUp()
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the assertions read English pages

    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.asset = located_asset(cls.agency)
        cls.users = users(cls.agency, cls.other)

    def test_edit_adds_an_asset_and_draws_the_part(self):
        case = open_case(self.asset)
        second = located_asset(self.agency)
        part = part_of(self.asset)
        self.client.force_login(self.users["officer"])
        page = self.client.get(reverse("encumbrance-case-edit", args=[case.pk]))
        point = self.asset.geom.point_on_surface  # the map opens on the parcel the part is drawn on
        self.assertContains(page, f'"center": [{point.x}, {point.y}], "zoom": 18')
        data = {
            "kind": "SENGKETA_BATAS", "title": "Batas dengan warga", "parties": "", "description": "",
            "court_case_numbers": "", "next_hearing": (TODAY + dt.timedelta(days=3)).isoformat(), "officer": "",
            "outcome": "", "geom": part.ewkt, "other_assets": f"{second.kode_barang}/{second.nomor_register}",
        }  # fmt: skip
        response = self.client.post(reverse("encumbrance-case-edit", args=[case.pk]), data)
        self.assertEqual(response.status_code, 302, response.content.decode()[:3000])
        case.refresh_from_db()
        self.assertEqual(set(case.assets.values_list("pk", flat=True)), {self.asset.pk, second.pk})
        self.assertGreater(case.area_m2, 0)
        self.assertTrue(second.__class__.objects.get(pk=second.pk).bermasalah)
        data["other_assets"] = "1.3.1.01.01.01.001/999999"
        response = self.client.post(reverse("encumbrance-case-edit", args=[case.pk]), data)
        self.assertContains(response, "no asset 1.3.1.01.01.01.001/999999 in the register")
