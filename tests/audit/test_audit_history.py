"""History, removal and the register as of a date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from assets.audit import findings
from assets.models import Agency, Certificate, LandAsset, Stage
from assets.register import history, permissions, services
from tests.factories import load_reference, make_asset, make_user, point_inside, square


def backdate(obj, when: dt.date) -> None:
    """Move the newest history row of ``obj`` to noon of ``when`` (tests cannot wait a year)."""
    record = obj.history.order_by("-history_date", "-history_id").first()
    record.history_date = timezone.make_aware(dt.datetime.combine(when, dt.time(12)))
    record.save()


def ids(as_of: dt.date | None, **params) -> set[int]:
    return {a.id for a in history.snapshot(as_of=as_of, params=params or None)}


class RemovalTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.officer = make_user("officer", permissions.OFFICER, cls.agency)
        cls.bpkad = make_user("bpkad", permissions.BPKAD)
        cls.asset = make_asset(agency=cls.agency, geom=None, nama_barang="Tanah Dihapus")

    def test_removal_needs_sk_number_and_date_and_keeps_the_record(self):
        with self.assertRaises(ValidationError) as ctx:
            services.asset_remove(asset=self.asset, user=self.officer, sk_nomor=" ", tanggal=dt.date(2025, 1, 1))
        self.assertIn("removal_sk_nomor", ctx.exception.error_dict)
        future = timezone.localdate() + dt.timedelta(days=3)
        with self.assertRaises(ValidationError) as ctx:
            services.asset_remove(asset=self.asset, user=self.officer, sk_nomor="SK 1", tanggal=future)
        self.assertIn("is in the future", str(ctx.exception))
        self.asset.refresh_from_db()
        self.assertIsNone(self.asset.removed_at)  # nothing half-written

        services.asset_remove(asset=self.asset, user=self.officer, sk_nomor="SK 12/2025", tanggal=dt.date(2025, 3, 1))
        self.asset.refresh_from_db()
        self.assertEqual((self.asset.removed_at, self.asset.removal_sk_nomor), (dt.date(2025, 3, 1), "SK 12/2025"))
        self.assertTrue(LandAsset.objects.filter(pk=self.asset.pk).exists())
        with self.assertRaises(ValidationError):
            services.asset_remove(asset=self.asset, user=self.bpkad, sk_nomor="SK 2", tanggal=dt.date(2025, 3, 2))

    def test_only_bpkad_reverses_a_removal(self):
        services.asset_remove(asset=self.asset, user=None, sk_nomor="SK 12/2025", tanggal=dt.date(2025, 3, 1))
        with self.assertRaises(PermissionDenied):
            services.asset_restore(asset=self.asset, user=self.officer, reason="salah input")
        with self.assertRaises(ValidationError):
            services.asset_restore(asset=self.asset, user=self.bpkad, reason="")
        services.asset_restore(asset=self.asset, user=self.bpkad, reason="SK dibatalkan")
        self.asset.refresh_from_db()
        self.assertIsNone(self.asset.removed_at)
        reasons = list(self.asset.history.values_list("history_change_reason", flat=True))
        self.assertIn("SK dibatalkan", reasons)
        self.assertIn("penghapusan SK SK 12/2025", reasons)

    def test_the_register_hides_removed_assets_unless_asked(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        kept = make_asset(agency=self.agency, geom=None, nama_barang="Tanah Tetap")
        services.asset_remove(asset=self.asset, user=None, sk_nomor="SK 12/2025", tanggal=dt.date(2025, 3, 1))
        self.client.force_login(self.bpkad)
        page = self.client.get(reverse("asset-list"))
        self.assertContains(page, "Tanah Tetap")
        self.assertNotContains(page, "Tanah Dihapus")
        self.assertContains(self.client.get(reverse("asset-list"), {"removed": "include"}), "Tanah Dihapus")
        only = self.client.get(reverse("asset-list"), {"removed": "only"})
        self.assertContains(only, "Tanah Dihapus")
        self.assertNotContains(only, "Tanah Tetap")
        self.assertEqual(self.client.get(reverse("home")).context["totals"].count, 1)
        self.assertEqual(kept.removed_at, None)

    def test_remove_and_restore_pages(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        other = make_asset(agency=Agency.objects.get(code="1.02.01"), geom=None)
        self.client.force_login(self.officer)
        self.assertEqual(self.client.get(reverse("asset-remove", args=[other.pk])).status_code, 403)
        response = self.client.post(
            reverse("asset-remove", args=[self.asset.pk]), {"removal_sk_nomor": "", "removed_at": ""}
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "This field is required")
        response = self.client.post(
            reverse("asset-remove", args=[self.asset.pk]), {"removal_sk_nomor": "SK 7", "removed_at": "2025-02-01"}
        )
        self.assertRedirects(response, reverse("asset-detail", args=[self.asset.pk]))
        detail = self.client.get(reverse("asset-detail", args=[self.asset.pk]))
        self.assertContains(detail, "by decree (SK) SK 7")
        self.assertEqual(self.client.get(reverse("asset-restore", args=[self.asset.pk])).status_code, 403)
        self.client.force_login(self.bpkad)
        response = self.client.post(reverse("asset-restore", args=[self.asset.pk]), {"reason": "dibatalkan"})
        self.assertRedirects(response, reverse("asset-detail", args=[self.asset.pk]))
        self.asset.refresh_from_db()
        self.assertIsNone(self.asset.removed_at)
        # The timeline on the asset shows who removed it, with the values before and after.
        detail = self.client.get(reverse("asset-detail", args=[self.asset.pk]))
        self.assertContains(detail, "officer")
        self.assertContains(detail, "SK 7")
        self.assertContains(detail, "dibatalkan")


class AsOfLife:
    """Created mid-2024 (certificate in measurement), renamed and moved in February 2025, certified in March
    2025, removed in August 2025."""

    @classmethod
    def setUpTestData(cls):
        load_reference()
        lon, lat = point_inside("64.71.05.1002")
        cls.old_geom = square(lon, lat, 0.0002)
        cls.new_geom = square(lon + 0.001, lat, 0.0003)
        cls.asset = make_asset(geom=cls.old_geom, nama_barang="Nama Lama", luas_kib_m2=Decimal("1000"))
        backdate(cls.asset, dt.date(2024, 6, 1))
        cls.certificate = services.certificate_create(
            asset=cls.asset, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=dt.date(2024, 6, 2)
        )
        backdate(cls.certificate, dt.date(2024, 6, 2))
        services.asset_update(
            asset=cls.asset, user=None, data={"nama_barang": "Nama Baru", "alamat": "Jl. Baru"}, geom=cls.new_geom
        )
        backdate(cls.asset, dt.date(2025, 2, 1))
        services.certificate_change_stage(
            certificate=cls.certificate,
            user=None,
            to_stage=Stage.SERTIFIKAT_TERBIT,
            tanggal_tahap=dt.date(2025, 3, 1),
            jenis_hak="HP",
            nomor="77",
            tanggal=dt.date(2025, 3, 1),
            atas_nama="PT Lain",
        )
        backdate(cls.certificate, dt.date(2025, 3, 1))
        services.asset_remove(asset=cls.asset, user=None, sk_nomor="SK 9/2025", tanggal=dt.date(2025, 8, 1))
        backdate(cls.asset, dt.date(2025, 8, 1))
        cls.auditor = make_user("auditor", permissions.AUDITOR)


class AsOfTests(AsOfLife, TestCase):
    """One asset's life (AsOfLife) read back as of dates."""

    def state(self, as_of: dt.date, **params) -> history.AssetState | None:
        found = [a for a in history.snapshot(as_of=as_of, params=params or None) if a.id == self.asset.id]
        return found[0] if found else None

    def test_before_creation_the_asset_is_absent(self):
        self.assertIsNone(self.state(dt.date(2024, 5, 31)))

    def test_across_edits_the_values_then_are_shown(self):
        first = self.state(dt.date(2024, 12, 31))
        self.assertEqual(first.nama_barang, "Nama Lama")
        self.assertEqual((first.status, first.tahap), ("proses", Stage.PENGUKURAN))
        later = self.state(dt.date(2025, 6, 30))
        self.assertEqual(later.nama_barang, "Nama Baru")
        self.assertEqual(later.status, "terbit")
        self.assertEqual(later.certificates[0].atas_nama, "PT Lain")
        # The status filter applies to the status as of the date, not today's field.
        self.assertIsNotNone(self.state(dt.date(2024, 12, 31), status="proses"))
        self.assertIsNone(self.state(dt.date(2024, 12, 31), status="terbit"))

    def test_after_removal_the_asset_leaves_the_register_and_findings(self):
        self.assertIsNone(self.state(dt.date(2025, 12, 31)))
        self.assertEqual(self.state(dt.date(2025, 12, 31), removed="include").removal_sk_nomor, "SK 9/2025")
        # The findings as of a date see the certificate as it was: in the name of a company after March 2025.
        mid = history.snapshot(as_of=dt.date(2025, 6, 30), with_geom=True)
        self.assertEqual([r.asset.id for r in findings.run_finding("holder", mid)], [self.asset.id])
        early = history.snapshot(as_of=dt.date(2024, 12, 31), with_geom=True)
        self.assertEqual(findings.run_finding("holder", early), [])
        self.assertEqual([r.asset.id for r in findings.run_finding("area-mismatch", early)], [self.asset.id])
        late = history.snapshot(as_of=dt.date(2025, 12, 31), with_geom=True)
        self.assertEqual(findings.run_all(late)["holder"], [])

    def test_stuck_days_are_counted_to_the_as_of_date(self):
        rows = findings.run_finding(
            "stuck",
            history.snapshot(as_of=dt.date(2024, 12, 31)),
            options=findings.FindingOptions(stuck_days=180),
            as_of=dt.date(2024, 12, 31),
        )
        self.assertEqual([(r.asset.id, r.values["days"]) for r in rows], [(self.asset.id, 212)])

    def test_rows_without_history_exist_since_their_creation(self):
        bulk = LandAsset.objects.bulk_create([LandAsset(**self._copy_fields(nomor_register="9001"))])[0]
        LandAsset.objects.filter(pk=bulk.pk).update(created_at=timezone.make_aware(dt.datetime(2025, 1, 15, 8)))
        self.assertFalse(bulk.history.exists())
        self.assertNotIn(bulk.id, ids(dt.date(2025, 1, 14)))
        self.assertIn(bulk.id, ids(dt.date(2025, 1, 15)))
        # Changed later through the services: it has history now, but no "created" row. Before the change
        # it still exists, in its earliest recorded state; before its created_at it still does not.
        bulk.refresh_from_db()
        services.asset_update(asset=bulk, user=None, data={"nama_barang": "Diubah"})
        backdate(bulk, dt.date(2025, 3, 1))
        self.assertNotIn(bulk.id, ids(dt.date(2025, 1, 14)))
        self.assertIn(bulk.id, ids(dt.date(2025, 2, 1)))
        self.assertIn(bulk.id, ids(dt.date(2025, 3, 2)))
        self.assertEqual(len([a for a in history.snapshot(as_of=dt.date(2025, 3, 2)) if a.id == bulk.id]), 1)

    def _copy_fields(self, **changes):
        fields = {
            f: getattr(self.asset, f)
            for f in ("kode_barang", "nama_barang", "agency_id", "tahun_perolehan", "asal_usul", "nilai_perolehan")
        }
        fields.update(luas_kib_m2=Decimal("10"), **changes)
        return fields

    def test_the_register_page_as_of_a_date(self):
        user = self.auditor
        self.client.force_login(user)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        response = self.client.get(reverse("asset-list"), {"as_of": "2024-12-31"})
        self.assertContains(response, "Nama Lama")
        self.assertContains(response, "rebuilt from the change history")
        self.assertEqual(response.context["totals"].count, 1)
        self.assertContains(self.client.get(reverse("asset-list"), {"as_of": "2025-06-30"}), "Nama Baru")
        self.assertEqual(self.client.get(reverse("asset-list"), {"as_of": "2025-12-31"}).context["totals"].count, 0)
        bad = self.client.get(reverse("asset-list"), {"as_of": "31-12-2024"})
        self.assertEqual(bad.status_code, 400)
        self.assertContains(bad, "as_of must be a date written YYYY-MM-DD", status_code=400)

    def test_certificate_rows_deleted_leave_the_snapshot(self):
        Certificate.objects.filter(pk=self.certificate.pk).delete()
        self.assertEqual(self.state(dt.date.today(), removed="include").certificates, [])

    def test_an_unknown_status_in_the_url_is_a_clear_error(self):
        with self.assertRaisesMessage(history.FilterError, "Unknown certificate status or stage: nope"):
            history.snapshot(as_of=dt.date(2025, 1, 1), params={"status": "nope"})

    def test_register_filters_apply_to_the_history(self):
        day = dt.date(2024, 12, 31)
        code = self.asset.agency.code
        self.assertIsNotNone(self.state(day, agency=code))
        self.assertIsNone(self.state(day, agency="1.02.01" if code != "1.02.01" else "1.01.01"))
        self.assertIsNotNone(self.state(day, q="Nama Lama"))
        self.assertIsNone(self.state(day, q="Nama Baru"))  # the name it had then, not today's
        self.assertIsNotNone(self.state(day, kecamatan=self.asset.kecamatan.code))
