"""Printed outputs longer than SIPANAH_PRINT_INLINE_PAGES are printed by the worker: the audit report and the
city's KIB A are queued, run once, downloaded by whoever asked (and BPKAD), refused to others; a failure is
recorded on the job, never left running."""

import io

from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from assets.models import Agency, PrintJob
from assets.ops import worker
from assets.register import permissions
from assets.transfer import print_jobs
from tests.factories import load_reference, make_asset, make_user, temp_media_root


def pdf_text(response) -> str:
    data = b"".join(response.streaming_content)
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


@override_settings(SIPANAH_PRINT_INLINE_PAGES=0)
class PrintJobTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        agency = Agency.objects.get(code="1.01.01")
        for i in range(3):  # without location and without certificate: rows of two findings
            make_asset(agency=agency, geom=None, nama_barang=f"Tanah Tanpa Lokasi {i}")
        cls.auditor = make_user("auditor", permissions.AUDITOR)
        cls.other = make_user("auditor2", permissions.AUDITOR)
        cls.bpkad = make_user("bpkad", permissions.BPKAD)

    def setUp(self):
        temp_media_root(self.addCleanup)

    def test_a_long_audit_report_is_queued_printed_by_the_worker_and_downloaded(self):
        self.client.force_login(self.auditor)
        response = self.client.get(reverse("audit-report-pdf"), {"as_of": timezone.localdate().isoformat()})
        job = PrintJob.objects.get()
        self.assertRedirects(response, reverse("print-job", args=[job.pk]))
        self.assertEqual(job.kind, "audit-report")
        self.assertContains(self.client.get(response.url), 'http-equiv="refresh"')  # waiting: it reloads itself
        self.assertEqual(worker.work(once=True), 1)
        job.refresh_from_db()
        self.assertEqual(job.status, PrintJob.Status.DONE, job.error)
        self.assertNotContains(self.client.get(response.url), 'http-equiv="refresh"')
        download = self.client.get(reverse("print-job-file", args=[job.pk]))
        self.assertEqual(download.status_code, 200)
        self.assertIn("Tanah Tanpa Lokasi 2", pdf_text(download))
        self.client.force_login(self.other)  # another auditor: not theirs
        self.assertEqual(self.client.get(reverse("print-job-file", args=[job.pk])).status_code, 403)
        self.client.force_login(self.bpkad)
        self.assertEqual(self.client.get(reverse("print-job-file", args=[job.pk])).status_code, 200)

    def test_the_city_kib_a_pdf_is_printed_by_the_worker_the_xlsx_at_once(self):
        self.client.force_login(self.bpkad)
        xlsx = self.client.get(reverse("kib-a-export"), {"format": "xlsx"})
        self.assertEqual(xlsx.status_code, 200)
        self.assertFalse(PrintJob.objects.exists())
        response = self.client.get(reverse("kib-a-export"), {"format": "pdf"})
        job = PrintJob.objects.get()
        self.assertRedirects(response, reverse("print-job", args=[job.pk]))
        self.assertEqual(worker.work(once=True), 1)
        job.refresh_from_db()
        self.assertEqual(job.status, PrintJob.Status.DONE, job.error)
        self.assertTrue(job.filename.startswith("kib-a-kota-"))
        text = pdf_text(self.client.get(reverse("print-job-file", args=[job.pk])))
        self.assertIn("KARTU INVENTARIS BARANG", text)
        self.assertIn("Jumlah bidang: 3", text)  # the three parcels of the city

    def test_a_short_report_is_still_printed_at_once(self):
        self.client.force_login(self.auditor)
        with self.settings(SIPANAH_PRINT_INLINE_PAGES=1000):
            response = self.client.get(reverse("audit-report-pdf"))
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertFalse(PrintJob.objects.exists())

    def test_a_failure_is_recorded_and_a_lost_job_fails_with_a_reason(self):
        job = PrintJob.objects.create(kind="audit-report", user=self.auditor, params="as_of=not-a-date", pages=9)
        print_jobs.run(print_jobs.claim_next())
        job.refresh_from_db()
        self.assertEqual(job.status, PrintJob.Status.FAILED)
        self.assertTrue(job.error)
        lost = PrintJob.objects.create(kind="kib-a", user=self.auditor, pages=9, status=PrintJob.Status.RUNNING)
        PrintJob.objects.filter(pk=lost.pk).update(started_at=timezone.now() - print_jobs.STALE_AFTER * 2)
        self.assertEqual(print_jobs.fail_stale(), 1)
        lost.refresh_from_db()
        self.assertEqual(lost.status, PrintJob.Status.FAILED)
