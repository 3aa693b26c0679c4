"""Dispute and occupation cases: the stage rules, the drawn part (geometry rules, geodesic area), closing with a
reason, the append-only events, the history, and the register's dispute flag from open cases."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from assets.encumbrance import rules, services
from assets.encumbrance.models import CaseKind, CaseStage, CaseStageEvent, DisputeCase
from assets.models import Agency, LandAsset, Stage
from assets.register import services as register_services
from assets.register.geo import geodesic_area_m2
from tests.encumbrance.helpers import TODAY, located_asset, open_case, part_of, users
from tests.factories import load_reference, make_asset, square


class StageRuleTests(TestCase):
    def test_forward_with_skips_and_stop(self):
        self.assertEqual(
            rules.allowed_next_case_stages(CaseStage.PUTUSAN_PN),
            [CaseStage.PUTUSAN_PT, CaseStage.PUTUSAN_MA, CaseStage.INKRACHT, CaseStage.EKSEKUSI, CaseStage.SELESAI,
             CaseStage.DIHENTIKAN],
        )  # fmt: skip
        self.assertNotIn(CaseStage.IDENTIFIKASI, rules.allowed_next_case_stages(CaseStage.KLARIFIKASI))
        self.assertEqual(rules.allowed_next_case_stages(CaseStage.SELESAI), [])
        self.assertEqual(rules.allowed_next_case_stages(CaseStage.DIHENTIKAN), [])

    def test_identity_numbers(self):
        self.assertEqual(rules.clean_npwp("01.234.567.8-901.000"), "012345678901000")
        self.assertIsNone(rules.clean_npwp("12345"))
        self.assertEqual(rules.clean_nik("6471 0512 3456 0001"), "6471051234560001")
        self.assertIsNone(rules.clean_nik("64710512345600011"))


class CaseTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.asset = located_asset(cls.agency)
        cls.users = users(cls.agency, cls.other)

    def test_open_case_marks_the_asset_until_closed(self):
        self.assertFalse(self.asset.bermasalah)
        case = open_case(self.asset, user=self.users["officer"])
        self.assertTrue(LandAsset.objects.get(pk=self.asset.pk).bermasalah)
        self.assertEqual(list(case.events.values_list("to_stage", flat=True)), [CaseStage.IDENTIFIKASI])
        services.case_move(case=case, user=None, to_stage=CaseStage.KLARIFIKASI, date=TODAY - dt.timedelta(days=5))
        self.assertTrue(LandAsset.objects.get(pk=self.asset.pk).bermasalah)
        services.case_move(case=case, user=None, to_stage=CaseStage.SELESAI, date=TODAY, note="Mediasi berhasil")
        case.refresh_from_db()
        self.assertEqual((case.closed_on, case.close_reason), (TODAY, "Mediasi berhasil"))
        self.assertFalse(LandAsset.objects.get(pk=self.asset.pk).bermasalah)
        self.assertEqual(case.events.count(), 3)
        self.assertEqual(case.history.count(), 4)  # created, its assets set, moved, closed

    def test_certificate_dispute_and_case_together(self):
        certificate = register_services.certificate_create(asset=self.asset, user=None)
        certificate.stage = Stage.SENGKETA
        register_services.certificate_save(certificate=certificate, user=None)
        case = open_case(self.asset)
        services.case_move(case=case, user=None, to_stage=CaseStage.DIHENTIKAN, date=TODAY, note="Dicabut")
        self.assertTrue(LandAsset.objects.get(pk=self.asset.pk).bermasalah)  # the certificate still is SENGKETA

    def test_case_on_land_without_certificate_or_geometry(self):
        bare = make_asset(agency=self.agency)
        case = open_case(bare, kind=CaseKind.KLAIM, geom=None)
        self.assertIsNone(case.geom)
        self.assertEqual(bare.certificates.count(), 0)
        self.assertTrue(LandAsset.objects.get(pk=bare.pk).bermasalah)

    def test_several_assets(self):
        second = located_asset(self.agency)
        case = services.case_open(user=None, assets=[self.asset, second], kind=CaseKind.SENGKETA_BATAS, title="Batas")
        self.assertEqual(set(case.assets.values_list("pk", flat=True)), {self.asset.pk, second.pk})
        self.assertTrue(
            all(LandAsset.objects.filter(pk__in=[self.asset.pk, second.pk]).values_list("bermasalah", flat=True))
        )
        services.case_update(case=case, user=None, assets=[second])
        self.assertFalse(LandAsset.objects.get(pk=self.asset.pk).bermasalah)  # no longer on the case
        self.assertTrue(LandAsset.objects.get(pk=second.pk).bermasalah)

    def test_stage_moves_are_checked(self):
        case = open_case(self.asset)
        services.case_move(
            case=case, user=None, to_stage=CaseStage.GUGATAN, date=TODAY, court_case_number="12/Pdt.G/2026/PN Bpp"
        )
        case.refresh_from_db()
        self.assertEqual(case.court_case_numbers, "12/Pdt.G/2026/PN Bpp")
        with self.assertRaisesMessage(ValidationError, "cannot move to"):
            services.case_move(case=case, user=None, to_stage=CaseStage.KLARIFIKASI, date=TODAY)
        with self.assertRaisesMessage(ValidationError, "Say why"):
            services.case_move(case=case, user=None, to_stage=CaseStage.DIHENTIKAN, date=TODAY, note="  ")
        with self.assertRaisesMessage(ValidationError, "future"):
            services.case_move(case=case, user=None, to_stage=CaseStage.PUTUSAN_PN, date=TODAY + dt.timedelta(days=1))
        services.case_move(case=case, user=None, to_stage=CaseStage.DIHENTIKAN, date=TODAY, note="Damai")
        with self.assertRaisesMessage(ValidationError, "closed"):
            services.case_move(case=case, user=None, to_stage=CaseStage.SELESAI, date=TODAY, note="x")
        self.assertEqual(CaseStageEvent.objects.filter(case=case).count(), 3)

    def test_disputed_part_geometry_and_area(self):
        part = part_of(self.asset)
        case = open_case(self.asset, geom=part)
        self.assertEqual(case.geom.srid, 4326)
        self.assertEqual(case.geom.geom_type, "MultiPolygon")
        self.assertAlmostEqual(float(case.area_m2), geodesic_area_m2(part), places=2)
        self.assertGreater(float(case.area_m2), 0)
        # GeoJSON text works too; a line is refused by the register's rules; a part elsewhere is refused
        with self.assertRaises(ValidationError) as caught:
            open_case(self.asset, geom="LINESTRING(116.8 -1.2, 116.9 -1.3)")
        self.assertIn("geom", caught.exception.message_dict)
        c = self.asset.geom.centroid
        with self.assertRaisesMessage(ValidationError, "outside the parcel"):
            open_case(self.asset, geom=square(c.x + 0.01, c.y))
        bowtie = "SRID=4326;POLYGON((116.80 -1.20, 116.81 -1.21, 116.81 -1.20, 116.80 -1.21, 116.80 -1.20))"
        with self.assertRaises(ValidationError):
            open_case(self.asset, geom=bowtie)
        self.assertEqual(DisputeCase.objects.count(), 1)  # nothing half-written

    def test_permissions(self):
        with self.assertRaises(PermissionDenied):
            open_case(self.asset, user=self.users["other_officer"])
        for role in ("auditor", "planner"):
            with self.assertRaises(PermissionDenied):
                open_case(self.asset, user=self.users[role])
        case = open_case(self.asset, user=self.users["bpkad"])
        with self.assertRaises(PermissionDenied):
            services.case_move(case=case, user=self.users["other_officer"], to_stage=CaseStage.KLARIFIKASI, date=TODAY)
        services.case_move(case=case, user=self.users["officer"], to_stage=CaseStage.KLARIFIKASI, date=TODAY)
        other_asset = located_asset(self.other)
        with self.assertRaises(PermissionDenied):  # an officer cannot pull another agency's asset into the case
            services.case_update(case=case, user=self.users["officer"], assets=[self.asset, other_asset])
        self.assertEqual(case.assets.count(), 1)
