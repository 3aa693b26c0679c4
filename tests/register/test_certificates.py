"""The certificate pipeline: stage events, allowed moves, and the derived asset status."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import SimpleTestCase, TestCase
from django.urls import reverse
from django.utils import timezone

from assets.models import Agency, CertificateStageEvent, CertificateStatus, Stage
from assets.register import permissions, rules, selectors, services
from tests.factories import load_reference, make_asset, make_user, square


class DeriveStatusTests(SimpleTestCase):
    def test_no_certificate_is_belum(self):
        self.assertEqual(rules.derive_certificate_status([]), ("belum", "BELUM", False))

    def test_issued_wins_over_in_process(self):
        status = rules.derive_certificate_status([("PENGUKURAN", False), ("SERTIFIKAT_TERBIT", True)])
        self.assertEqual(status, ("terbit", "SERTIFIKAT_TERBIT", False))

    def test_in_process_and_rejected(self):
        self.assertEqual(rules.derive_certificate_status([("DIAJUKAN_KE_BPN", False)])[0], "proses")
        self.assertEqual(rules.derive_certificate_status([("DITOLAK", False)]), ("belum", "DITOLAK", False))

    def test_dispute_marks_the_asset_and_keeps_an_issued_certificate_issued(self):
        self.assertEqual(rules.derive_certificate_status([("SENGKETA", True)]), ("terbit", "SENGKETA", True))
        self.assertEqual(rules.derive_certificate_status([("DIBLOKIR", False)]), ("proses", "DIBLOKIR", True))

    def test_allowed_moves(self):
        self.assertEqual(
            rules.allowed_next_stages("SK_HAK_TERBIT"), ["SERTIFIKAT_TERBIT", "DITOLAK", "SENGKETA", "DIBLOKIR"]
        )
        self.assertNotIn("DITOLAK", rules.allowed_next_stages("SERTIFIKAT_TERBIT"))
        self.assertIn("PERSIAPAN_BERKAS", rules.allowed_next_stages("DITOLAK"))
        self.assertNotIn("BELUM", rules.allowed_next_stages("PENGUKURAN"))


class CertificatePipelineTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.officer = make_user("officer1", permissions.OFFICER, cls.agency)

    def setUp(self):
        self.asset = make_asset(agency=self.agency, geom=square(116.83, -1.25))

    def test_full_pipeline_records_every_stage_with_user_document_and_time_in_stage(self):
        start = timezone.localdate() - dt.timedelta(days=400)
        cert = services.certificate_create(
            asset=self.asset,
            user=self.officer,
            stage=Stage.PERSIAPAN_BERKAS,
            tanggal_tahap=start,
            nomor_dokumen="ND-1/2025",
            catatan="Berkas alas hak dikumpulkan",
        )
        self.asset.refresh_from_db()
        self.assertEqual(self.asset.status_sertifikat, CertificateStatus.PROSES)
        moves = [
            (Stage.DIAJUKAN_KE_BPN, 30, "BRK-0012/2025"),
            (Stage.PENGUKURAN, 90, "SPU-77"),
            (Stage.PETA_BIDANG_TERBIT, 150, "PBT-301"),
            (Stage.SK_HAK_TERBIT, 300, "SK-15/HP/2025"),
        ]
        for stage, day, doc in moves:
            services.certificate_change_stage(
                certificate=cert,
                user=self.officer,
                to_stage=stage,
                tanggal_tahap=start + dt.timedelta(days=day),
                nomor_dokumen=doc,
            )
        services.certificate_change_stage(
            certificate=cert,
            user=self.officer,
            to_stage=Stage.SERTIFIKAT_TERBIT,
            tanggal_tahap=start + dt.timedelta(days=380),
            nomor_dokumen="SHP 00123",
            jenis_hak="HP",
            nomor="00123",
            tanggal=start + dt.timedelta(days=380),
            nib="64710101000123",
            luas_sertifikat_m2=4400,
        )
        self.asset.refresh_from_db()
        self.assertEqual(self.asset.status_sertifikat, CertificateStatus.TERBIT)
        self.assertEqual(self.asset.tahap_sertifikat, Stage.SERTIFIKAT_TERBIT)

        events = list(CertificateStageEvent.objects.filter(certificate=cert).order_by("tanggal", "id"))
        self.assertEqual([e.to_stage for e in events][:2], ["PERSIAPAN_BERKAS", "DIAJUKAN_KE_BPN"])
        self.assertEqual(len(events), 6)
        self.assertEqual(events[1].from_stage, "PERSIAPAN_BERKAS")
        self.assertTrue(all(e.user_id == self.officer.id for e in events))
        self.assertEqual(events[3].nomor_dokumen, "PBT-301")

        spans = selectors.stage_timeline(selectors.asset_detail(pk=self.asset.pk).certificates.get())
        self.assertEqual([s.days for s in spans[:-1]], [30, 60, 60, 150, 80])
        self.assertIsNone(spans[-1].end)
        self.assertEqual(spans[-1].days, 20)

    def test_backward_move_is_refused(self):
        cert = services.certificate_create(asset=self.asset, user=None, stage=Stage.PENGUKURAN)
        with self.assertRaisesMessage(ValidationError, "cannot move from"):
            services.certificate_change_stage(
                certificate=cert, user=None, to_stage=Stage.PERSIAPAN_BERKAS, tanggal_tahap=timezone.localdate()
            )
        self.assertEqual(CertificateStageEvent.objects.filter(certificate=cert).count(), 1)

    def test_issue_needs_number_date_and_right(self):
        cert = services.certificate_create(asset=self.asset, user=None, stage=Stage.SK_HAK_TERBIT)
        with self.assertRaisesMessage(
            ValidationError, "An issued certificate needs its type of right, number and date."
        ):
            services.certificate_change_stage(
                certificate=cert, user=None, to_stage=Stage.SERTIFIKAT_TERBIT, tanggal_tahap=timezone.localdate()
            )
        cert.refresh_from_db()
        self.assertEqual(cert.stage, Stage.SK_HAK_TERBIT)
        self.asset.refresh_from_db()
        self.assertEqual(self.asset.status_sertifikat, CertificateStatus.PROSES)

    def test_dates_must_not_go_back_or_into_the_future(self):
        cert = services.certificate_create(
            asset=self.asset, user=None, stage=Stage.PERSIAPAN_BERKAS, tanggal_tahap=dt.date(2025, 3, 1)
        )
        with self.assertRaisesMessage(ValidationError, "before the previous stage change (2025-03-01)"):
            services.certificate_change_stage(
                certificate=cert, user=None, to_stage=Stage.DIAJUKAN_KE_BPN, tanggal_tahap=dt.date(2025, 2, 1)
            )
        with self.assertRaisesMessage(ValidationError, "is in the future"):
            services.certificate_change_stage(
                certificate=cert,
                user=None,
                to_stage=Stage.DIAJUKAN_KE_BPN,
                tanggal_tahap=timezone.localdate() + dt.timedelta(days=2),
            )

    def test_dispute_marks_the_asset(self):
        cert = services.certificate_create(asset=self.asset, user=None, stage=Stage.PENGUKURAN)
        services.certificate_change_stage(
            certificate=cert,
            user=None,
            to_stage=Stage.SENGKETA,
            tanggal_tahap=timezone.localdate(),
            catatan="Dikuasai warga",
        )
        self.asset.refresh_from_db()
        self.assertTrue(self.asset.bermasalah)
        self.assertEqual(self.asset.tahap_sertifikat, Stage.SENGKETA)
        services.certificate_change_stage(
            certificate=cert, user=None, to_stage=Stage.PENGUKURAN, tanggal_tahap=timezone.localdate()
        )
        self.asset.refresh_from_db()
        self.assertFalse(self.asset.bermasalah)

    def test_officer_of_another_agency_cannot_touch_the_pipeline(self):
        other = make_user("officer2", permissions.OFFICER, Agency.objects.get(code="1.02.01"))
        with self.assertRaises(PermissionDenied):
            services.certificate_create(asset=self.asset, user=other)
        cert = services.certificate_create(asset=self.asset, user=self.officer)
        with self.assertRaises(PermissionDenied):
            services.certificate_change_stage(
                certificate=cert, user=other, to_stage=Stage.PERSIAPAN_BERKAS, tanggal_tahap=timezone.localdate()
            )

    def test_nib_must_have_13_or_14_digits(self):
        with self.assertRaisesMessage(ValidationError, "NIB must be 13 digits"):
            services.certificate_create(asset=self.asset, user=None, nib="12345")


class CertificateAdminTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.admin = make_user("admin", permissions.ADMIN)
        cls.admin.is_staff = cls.admin.is_superuser = True
        cls.admin.save()

    def test_moving_a_certificate_in_the_admin_recomputes_both_assets(self):
        old, new = make_asset(geom=None), make_asset(geom=None)
        cert = services.certificate_create(
            asset=old, user=None, stage=Stage.SERTIFIKAT_TERBIT, jenis_hak="HP", nomor="00012",
            tanggal=dt.date(2020, 1, 6),
        )  # fmt: skip
        old.refresh_from_db()
        self.assertEqual(old.status_sertifikat, CertificateStatus.TERBIT)
        self.client.force_login(self.admin)
        url = reverse("admin:assets_certificate_change", args=[cert.pk])
        data = {k: v for k, v in self.client.get(url).context["adminform"].form.initial.items() if v is not None}
        data.update(asset=new.pk, tanggal="2020-01-06", luas_sertifikat_m2="", tanggal_surat_ukur="")
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 302, response.context and response.context["adminform"].form.errors)
        old.refresh_from_db()
        new.refresh_from_db()
        self.assertEqual((old.status_sertifikat, old.tahap_sertifikat), (CertificateStatus.BELUM, Stage.BELUM))
        self.assertEqual(
            (new.status_sertifikat, new.tahap_sertifikat), (CertificateStatus.TERBIT, Stage.SERTIFIKAT_TERBIT)
        )
