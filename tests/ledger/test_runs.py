"""Reconciliation runs: the printed SIMDA sample read as a snapshot, each category, decisions writing history that
names the run, nothing written on upload, reopen and compare."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError

from assets.ledger import selectors, services
from assets.ledger.models import Category, Decision, Method, ReconciliationItem, ReconciliationRun
from assets.models import Certificate, LandAsset
from tests.ledger.ledger_case import PRINTED, LedgerCase


class RunTests(LedgerCase):
    def start(self, user=None):
        return services.start_run(PRINTED, user=user or self.bpkad, system="SIMDA BMD")

    def line(self, run, category):
        (item,) = selectors.items(run, category)
        return item

    def test_upload_touches_nothing_of_the_register(self):
        before = list(LandAsset.history.values_list("history_id", flat=True))
        versions = dict(LandAsset.objects.values_list("pk", "version"))
        certificates = Certificate.history.count()
        run = self.start()
        self.assertEqual(list(LandAsset.history.values_list("history_id", flat=True)), before)
        self.assertEqual(dict(LandAsset.objects.values_list("pk", "version")), versions)
        self.assertEqual(Certificate.history.count(), certificates)
        self.assertEqual(run.rows.count(), 4)  # row 18 ("seratus" m²) could not be read, and is reported
        self.assertEqual(run.read_report["error_count"], 1)
        self.assertIn("Row 18", run.read_report["errors"][0]["where"])

    def test_categories_of_the_printed_sample(self):
        run = self.start()
        self.assertEqual(run.register_rows, 4)
        self.assertEqual({c.category: c.count for c in selectors.counts(run)}, {
            Category.EQUAL: 1, Category.DIFFERS: 1, Category.PROPOSED: 1, Category.ONLY_SIPANAH: 1,
            Category.ONLY_OFFICIAL: 1})  # fmt: skip
        equal = self.line(run, Category.EQUAL)
        self.assertEqual((equal.asset, equal.method, equal.differences), (self.equal, Method.KODE_REGISTER, []))
        differs = self.line(run, Category.DIFFERS)
        self.assertEqual((differs.asset, differs.differences), (self.differs, ["nilai_perolehan"]))
        self.assertEqual(differs.official.agency, self.dinas)  # the agency named by the sheet's title
        proposed = self.line(run, Category.PROPOSED)
        self.assertEqual((proposed.asset, proposed.official.nomor_register), (self.likely, "0004"))
        self.assertGreaterEqual(proposed.score, 90)
        self.assertEqual(self.line(run, Category.ONLY_SIPANAH).asset, self.alone)
        self.assertEqual(self.line(run, Category.ONLY_OFFICIAL).official.nomor_register, "0005")

    def test_nibar_matches_first(self):
        LandAsset.objects.filter(pk=self.alone.pk).update(nibar="N-5")
        run = self.start()
        # the official row 0005 has no NIBAR: it stays alone; the rest is as before
        self.assertEqual(self.line(run, Category.ONLY_OFFICIAL).official.nomor_register, "0005")

    def test_accept_writes_history_naming_the_run(self):
        run = self.start()
        differs = self.line(run, Category.DIFFERS)
        decision = services.accept_official(item=differs, field="nilai_perolehan", user=self.bpkad)
        self.differs.refresh_from_db()
        self.assertEqual(self.differs.nilai_perolehan, Decimal(75_000_000))
        last = self.differs.history.latest("history_id")
        self.assertEqual(last.history_change_reason, f"Reconciliation run #{run.pk}: official nilai_perolehan")
        self.assertEqual(last.history_user, self.bpkad)
        self.assertEqual((decision.sipanah_value, decision.official_value), ("80000000", "75000000"))
        differs.refresh_from_db()
        self.assertTrue(differs.resolved)

    def test_accept_certificate_field(self):
        run = self.start()
        differs = self.line(run, Category.DIFFERS)
        ReconciliationItem.objects.filter(pk=differs.pk).update(differences=["nilai_perolehan", "nomor_sertifikat"])
        differs.refresh_from_db()
        official = differs.official
        official.nomor_sertifikat = "00046A"
        official.save()
        services.accept_official(item=differs, field="nomor_sertifikat", user=self.bpkad)
        certificate = self.differs.certificates.get()
        self.assertEqual(certificate.nomor, "00046A")
        self.assertEqual(certificate.history.latest("history_id").history_change_reason,
                         f"Reconciliation run #{run.pk}: official nomor_sertifikat")  # fmt: skip

    def test_keep_needs_a_reason_and_resolves(self):
        run = self.start()
        differs = self.line(run, Category.DIFFERS)
        with self.assertRaises(ValidationError):
            services.keep_sipanah(item=differs, field="nilai_perolehan", user=self.bpkad, reason=" ")
        services.keep_sipanah(item=differs, field="nilai_perolehan", user=self.bpkad, reason="Appraisal 2024")
        self.differs.refresh_from_db()
        self.assertEqual(self.differs.nilai_perolehan, Decimal(80_000_000))  # untouched
        alone = self.line(run, Category.ONLY_SIPANAH)
        services.keep_sipanah(item=alone, field="", user=self.bpkad, reason="Missing in SIMDA: add it")
        self.assertEqual(selectors.open_items(run).filter(category=Category.DIFFERS).count(), 0)
        self.assertEqual(run.decisions.filter(action=Decision.Action.KEEP).count(), 2)

    def test_confirm_reject_and_pair_by_hand(self):
        run = self.start()
        proposed = self.line(run, Category.PROPOSED)
        services.reject_pair(item=proposed, user=self.bpkad, reason="Another parcel")
        proposed.refresh_from_db()
        self.assertFalse(proposed.active)
        self.assertEqual(selectors.items(run, Category.ONLY_OFFICIAL).count(), 2)
        official = selectors.items(run, Category.ONLY_OFFICIAL).get(official__nomor_register="0004")
        asset = selectors.items(run, Category.ONLY_SIPANAH).get(asset=self.likely)
        paired = services.pair_by_hand(official_item=official, asset_item=asset, user=self.bpkad)
        self.assertEqual((paired.method, paired.category), (Method.MANUAL, Category.EQUAL))
        official.refresh_from_db()
        self.assertEqual(official.replaced_by, paired)
        self.assertEqual(ReconciliationItem.objects.filter(run=run).count(), 8)  # nothing deleted

    def test_confirm_proposed(self):
        run = self.start()
        proposed = self.line(run, Category.PROPOSED)
        services.confirm_pair(item=proposed, user=self.bpkad)
        proposed.refresh_from_db()
        self.assertEqual(proposed.category, Category.EQUAL)
        self.assertTrue(proposed.resolved)

    def test_close_reopen_keeps_progress(self):
        run = self.start()
        differs = self.line(run, Category.DIFFERS)
        services.keep_sipanah(item=differs, field="nilai_perolehan", user=self.bpkad, reason="ok")
        services.close_run(run=run, user=self.bpkad)
        with self.assertRaises(ValidationError):
            services.accept_official(item=differs, field="nilai_perolehan", user=self.bpkad)
        run = services.reopen_run(run=run, user=self.admin)
        self.assertEqual(run.status, ReconciliationRun.Status.OPEN)
        differs.refresh_from_db()
        self.assertTrue(differs.resolved)
        services.accept_official(item=differs, field="nilai_perolehan", user=self.bpkad)

    def test_compare_two_runs(self):
        first = self.start()
        services.accept_official(item=self.line(first, Category.DIFFERS), field="nilai_perolehan", user=self.bpkad)
        second = self.start()
        comparison = selectors.compare(first, second)
        counts = {label: (a, b) for label, a, b in comparison.counts}
        self.assertEqual(counts[str(Category.EQUAL.label)], (1, 2))
        self.assertEqual(counts[str(Category.DIFFERS.label)], (1, 0))
        self.assertEqual(comparison.changed, [(f"asset:{self.differs.pk}", str(Category.DIFFERS.label),
                                               str(Category.EQUAL.label))])  # fmt: skip

    def test_only_bpkad_and_admin_run_and_decide(self):
        for user in (self.auditor, self.officer, self.planner):
            with self.assertRaises(PermissionDenied):
                self.start(user)
        run = self.start(self.admin)
        differs = self.line(run, Category.DIFFERS)
        with self.assertRaises(PermissionDenied):
            services.accept_official(item=differs, field="nilai_perolehan", user=self.auditor)
        with self.assertRaises(PermissionDenied):
            services.keep_sipanah(item=differs, field="nilai_perolehan", user=self.officer, reason="x")
