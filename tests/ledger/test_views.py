"""The ledger pages: permissions per role on every URL, upload, decisions through the forms, the berita acara
(PDF read back with pypdf, XLSX read back with openpyxl)."""

from __future__ import annotations

import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from assets.ledger import selectors, services
from assets.ledger.models import Category, ReconciliationRun
from assets.models import Signatory
from assets.ops import worker
from tests.ledger.ledger_case import PRINTED, LedgerCase


class PageTests(LedgerCase):
    def setUp(self):
        super().setUp()
        self.run = services.start_run(PRINTED, user=self.bpkad, system="SIMDA BMD")
        self.differs = selectors.items(self.run, Category.DIFFERS).get()

    def urls(self):
        run, item = self.run.pk, self.differs.pk
        return [reverse("ledger-runs"), reverse("ledger-run", args=[run]), reverse("ledger-item", args=[item]),
                reverse("ledger-run-pdf", args=[run]), reverse("ledger-run-xlsx", args=[run]),
                reverse("ledger-compare") + f"?a={run}&b={run}"]  # fmt: skip

    def test_read_permissions(self):
        for user, allowed in ((self.bpkad, True), (self.admin, True), (self.auditor, True), (self.officer, False),
                              (self.planner, False)):  # fmt: skip
            self.client.force_login(user)
            for url in self.urls():
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200 if allowed else 403, (user.username, url))

    def test_only_bpkad_and_admin_upload_and_decide(self):
        item_url = reverse("ledger-item", args=[self.differs.pk])
        status_url = reverse("ledger-run-status", args=[self.run.pk])
        for user in (self.auditor, self.officer, self.planner):
            self.client.force_login(user)
            upload = SimpleUploadedFile("kib.xlsx", PRINTED.read_bytes())
            self.assertEqual(self.client.post(reverse("ledger-runs"), {"file": upload}).status_code, 403)
            self.assertEqual(self.client.post(item_url, {"action": "accept", "field": "nilai_perolehan"}).status_code,
                             403)  # fmt: skip
            self.assertEqual(self.client.post(status_url, {"action": "close"}).status_code, 403)
        self.differs.asset.refresh_from_db()
        self.assertEqual(self.differs.asset.nilai_perolehan, Decimal(80_000_000))
        self.assertEqual(ReconciliationRun.objects.count(), 1)

    def test_upload_page_and_auditor_sees_no_form(self):
        self.client.force_login(self.auditor)
        self.assertNotContains(self.client.get(reverse("ledger-runs")), 'type="file"')
        self.client.force_login(self.bpkad)
        upload = SimpleUploadedFile("kib_a_simda_print.xlsx", PRINTED.read_bytes())
        response = self.client.post(reverse("ledger-runs"), {"file": upload, "system": "e-BMD"})
        run = ReconciliationRun.objects.latest("id")
        self.assertRedirects(response, reverse("ledger-run", args=[run.pk]), fetch_redirect_response=False)
        self.assertEqual((run.state, run.official_rows), (ReconciliationRun.State.QUEUED, 0))  # not matched yet
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        waiting = self.client.get(reverse("ledger-run", args=[run.pk]))
        self.assertContains(waiting, '<meta http-equiv="refresh"')  # reloads until ready
        self.assertContains(waiting, "Waiting for the worker")
        self.assertEqual(worker.work(once=True), 1)
        run.refresh_from_db()
        self.assertEqual((run.state, run.system, run.official_rows), (ReconciliationRun.State.READY, "e-BMD", 4))
        ready = self.client.get(reverse("ledger-run", args=[run.pk]))
        self.assertNotContains(ready, '<meta http-equiv="refresh"')
        self.assertContains(ready, "Lines by category")

    def test_a_file_the_worker_refuses_says_why(self):
        self.client.force_login(self.bpkad)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        upload = SimpleUploadedFile("empty.csv", b"kode_barang;nomor_register\n")
        response = self.client.post(reverse("ledger-runs"), {"file": upload})
        run = ReconciliationRun.objects.latest("id")
        self.assertRedirects(response, reverse("ledger-run", args=[run.pk]), fetch_redirect_response=False)
        worker.work(once=True)
        run.refresh_from_db()
        self.assertEqual(run.state, ReconciliationRun.State.FAILED)
        self.assertEqual((run.official_rows, run.rows.count(), run.items.count()), (0, 0, 0))  # nothing kept
        page = self.client.get(reverse("ledger-run", args=[run.pk]))
        self.assertContains(page, "The file was not read: No column gives nama_barang")
        self.assertNotContains(page, '<meta http-equiv="refresh"')

    def test_bad_file_is_named(self):
        self.client.force_login(self.bpkad)
        upload = SimpleUploadedFile("kib.txt", b"hello")
        response = self.client.post(reverse("ledger-runs"), {"file": upload})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "kib.txt: format .txt tidak didukung")

    def test_decide_through_the_page(self):
        self.client.force_login(self.bpkad)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the messages below read in English
        url = reverse("ledger-item", args=[self.differs.pk])
        response = self.client.post(url, {"action": "keep", "field": "nilai_perolehan", "reason": ""}, follow=True)
        self.assertContains(response, "Say why")
        response = self.client.post(url, {"action": "accept", "field": "nilai_perolehan"}, follow=True)
        self.assertContains(response, "The official value was written to the register.")
        self.differs.asset.refresh_from_db()
        self.assertEqual(self.differs.asset.nilai_perolehan, Decimal(75_000_000))
        lonely = selectors.items(self.run, Category.ONLY_OFFICIAL).get()
        alone = selectors.items(self.run, Category.ONLY_SIPANAH).get()
        page = self.client.get(reverse("ledger-item", args=[lonely.pk]))
        self.assertEqual(page.status_code, 200)
        response = self.client.post(reverse("ledger-item", args=[lonely.pk]), {"action": "pair", "other": alone.pk})
        lonely.refresh_from_db()
        self.assertRedirects(
            response, reverse("ledger-item", args=[lonely.replaced_by_id]), fetch_redirect_response=False
        )

    def test_berita_acara_pdf(self):
        Signatory.objects.create(role=Signatory.Role.KEPALA_BPKAD, name="Dr. Kepala Badan", nip="19700101")
        services.keep_sipanah(item=self.differs, field="nilai_perolehan", user=self.bpkad, reason="Appraisal 2024")
        self.client.force_login(self.auditor)
        response = self.client.get(reverse("ledger-run-pdf", args=[self.run.pk]))
        self.assertEqual(response["Content-Type"], "application/pdf")
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
        text = " ".join(text.split())
        for expected in (
            "Dinas Pendidikan dan Kebudayaan",
            "Appraisal 2024",
            "Dr. Kepala Badan",
            "19700101",
            "Administrator sistem BMD",
            "Pengurus Barang Pengelola",
            "Rp 75.000.000",
        ):  # in Indonesian; fmt: skip
            self.assertIn(expected, text)

    def test_berita_acara_xlsx(self):
        self.client.force_login(self.bpkad)
        response = self.client.get(reverse("ledger-run-xlsx", args=[self.run.pk]))
        book = load_workbook(io.BytesIO(response.content))
        totals = list(book.worksheets[0].values)
        dinas = next(row for row in totals if row[0] == "Dinas Pendidikan dan Kebudayaan")
        # official: rows 1, 2, 4, 5 of the sample; Sipanah: the three assets of the agency the run matched
        self.assertEqual(dinas[1:5], (4, 150_000_000 + 75_000_000 + 1_000_000 + 1_500_000, 3,
                                      150_000_000 + 80_000_000 + 1_000_000))  # fmt: skip
        differences = list(book["Perbedaan"].values)  # the workbook in the page's language (Indonesian)
        self.assertEqual(
            differences[1][4:], ("harga perolehan (Rp)", "Rp 75.000.000", "Rp 80.000.000")
        )  # in Indonesian
