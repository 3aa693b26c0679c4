"""Accepting a row found only in the official register creates the asset (register's entry service, history naming
the run, created unlocated), or says why not; the matching's database joins give what the in-memory matcher gives."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from assets.ledger import matching, selectors, services
from assets.ledger.models import Category, Decision, OfficialRow, ReconciliationItem, ReconciliationRun
from assets.models import LandAsset, PlottingStatus
from tests.factories import make_asset
from tests.ledger.ledger_case import KODE, PRINTED, LedgerCase


class CreateFromOfficialTests(LedgerCase):
    def setUp(self):
        super().setUp()
        self.run = services.start_run(PRINTED, user=self.bpkad, system="SIMDA BMD")
        (self.lonely,) = selectors.items(self.run, Category.ONLY_OFFICIAL)

    def test_creates_the_asset_unlocated_with_history_naming_the_run(self):
        row = self.lonely.official
        decision = services.create_from_official(item=self.lonely, user=self.bpkad)
        asset = decision.created_asset
        self.assertEqual((asset.kode_barang, asset.nomor_register, asset.agency_id),
                         (KODE, "0005", row.agency_id))  # fmt: skip
        self.assertEqual((asset.nilai_perolehan, asset.luas_kib_m2, asset.tahun_perolehan),
                         (row.nilai_perolehan, row.luas_kib_m2, row.tahun_perolehan))  # fmt: skip
        self.assertIsNone(asset.geom)
        self.assertEqual(asset.plotting_status, PlottingStatus.UNKNOWN)
        created = asset.history.get(history_type="+")
        self.assertEqual(created.history_change_reason,
                         f"Reconciliation run #{self.run.pk}: created from official row {row.number}")  # fmt: skip
        self.assertEqual(created.history_user, self.bpkad)
        self.assertEqual(decision.action, Decision.Action.CREATE)
        self.lonely.refresh_from_db()
        self.assertTrue(self.lonely.resolved)
        with self.assertRaisesMessage(ValidationError, "created from this row already"):
            services.create_from_official(item=self.lonely, user=self.bpkad)
        self.assertEqual(LandAsset.objects.filter(kode_barang=KODE, nomor_register="0005").count(), 1)

    def test_says_why_it_cannot(self):
        OfficialRow.objects.filter(pk=self.lonely.official_id).update(asal_usul="", nilai_perolehan=None)
        self.lonely.refresh_from_db()
        with self.assertRaises(ValidationError) as caught:
            services.create_from_official(item=self.lonely, user=self.bpkad)
        message = " ".join(caught.exception.messages)
        self.assertIn("cannot be created from this row", message)
        self.assertIn("origin", message)
        self.assertIn("acquisition value", message)
        self.assertFalse(LandAsset.objects.filter(nomor_register="0005").exists())
        self.assertFalse(Decision.objects.filter(action=Decision.Action.CREATE).exists())

    def test_a_register_number_taken_by_a_removed_asset_is_named(self):
        gone = make_asset(self.dinas, kode_barang=KODE, nomor_register="0005")
        LandAsset.objects.filter(pk=gone.pk).update(removed_at=dt.date(2020, 1, 1))
        with self.assertRaisesMessage(ValidationError, "cannot be created from this row"):
            services.create_from_official(item=self.lonely, user=self.bpkad)

    def test_only_lone_official_rows_and_only_reconcilers(self):
        with self.assertRaises(PermissionDenied):
            services.create_from_official(item=self.lonely, user=self.officer)
        (differs,) = selectors.items(self.run, Category.DIFFERS)
        with self.assertRaisesMessage(ValidationError, "Only a row found only in the official register"):
            services.create_from_official(item=differs, user=self.bpkad)

    def test_through_the_page(self):
        self.client.force_login(self.bpkad)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        url = reverse("ledger-item", args=[self.lonely.pk])
        self.assertContains(self.client.get(url), "Create the asset in Sipanah")
        response = self.client.post(url, {"action": "create"}, follow=True)
        self.assertContains(response, "The asset was created in Sipanah")
        self.assertContains(response, "Created unlocated: the official register has no geometry.")
        self.assertTrue(LandAsset.objects.filter(kode_barang=KODE, nomor_register="0005").exists())
        self.assertNotContains(self.client.get(url), "Create the asset in Sipanah")  # once only


class StreamedMatchingTests(LedgerCase):
    """The database joins of steps 1 and 2 against the in-memory matcher (matching.match) on awkward data:
    duplicate NIBARs and kode/register numbers in the official file, "7" against "0007", a removed asset, a NIBAR
    pointing to an asset whose kode/register another row also names."""

    def test_same_pairs_in_chunks_of_two(self):
        """Chunk boundaries inside an asset's rows and between the two joins change nothing."""
        with mock.patch.object(selectors, "CHUNK", 2):
            self.test_same_pairs_as_the_in_memory_matcher()

    def test_same_pairs_as_the_in_memory_matcher(self):
        a7 = make_asset(self.dinas, kode_barang=KODE, nomor_register="7", nibar="N-7", luas_kib_m2=Decimal(500))
        a8 = make_asset(self.dinas, kode_barang=KODE, nomor_register="0008", nibar="N-8")
        gone = make_asset(self.dinas, kode_barang=KODE, nomor_register="0009")
        LandAsset.objects.filter(pk=gone.pk).update(removed_at=dt.date(2021, 1, 1))
        a10 = make_asset(self.dinas, kode_barang=KODE, nomor_register="123456")
        run = ReconciliationRun.objects.create(source_name="crafted.csv")
        base = {"kode_barang": KODE, "agency_id": self.dinas.pk, "tahun_perolehan": 2010,
                "nilai_perolehan": Decimal(1_250_000_000), "luas_kib_m2": Decimal(1200)}  # fmt: skip
        crafted = [
            ("N-7", "0099"),  # NIBAR of a7
            ("N-7", "0007"),  # the same NIBAR again: a7 is taken; by kode/register also a7: alone
            ("", "0008"),  # kode/register of a8, which another row (below) takes by NIBAR first
            ("N-8", "0500"),
            ("", "0009"),  # only a removed asset has it: alone
            ("", "123456"),  # six digits
            ("", "123456"),  # twice
            ("", "0001"),  # the fixture's "equal" asset
        ]
        for number, (nibar, register) in enumerate(crafted, start=1):
            OfficialRow.objects.create(run=run, number=number, nibar=nibar, nomor_register=register, **base)
        services.match_run(run)
        stored = {(i.official_id, i.asset_id, i.method) for i in run.items.all()}
        expected = {(p.official, p.asset, p.method)
                    for p in matching.match(map(selectors.official_record, run.rows.order_by("id")),
                                            selectors.register_records())}  # fmt: skip
        self.assertEqual(stored, expected)
        rows = {r.number: r.pk for r in run.rows.all()}
        self.assertIn((rows[1], a7.pk, "nibar"), stored)
        self.assertIn((rows[4], a8.pk, "nibar"), stored)
        self.assertIn((rows[6], a10.pk, "kode_register"), stored)
        self.assertIn((rows[8], self.equal.pk, "kode_register"), stored)
        self.assertEqual(run.items.count(), len(expected))
        self.assertEqual(run.register_rows, LandAsset.objects.filter(removed_at__isnull=True).count())
        lone = set(ReconciliationItem.objects.filter(run=run, asset__isnull=True).values_list("official_id", flat=True))
        self.assertTrue({rows[2], rows[5], rows[7]} <= lone)
