"""A report longer than SIPANAH_REPORT_INLINE_ROWS is printed by the worker: queued, run once, downloaded by its
owner (and BPKAD), refused to others; a failure is recorded on the job, never left running."""

import io

from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from assets.audit import report_jobs
from assets.audit.models import ReportJob
from assets.models import Agency
from assets.ops import worker
from assets.register import permissions
from tests.factories import load_reference, make_asset, make_user, temp_media_root


@override_settings(SIPANAH_REPORT_INLINE_ROWS=2)
class ReportJobTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        agency = Agency.objects.get(code="1.01.01")
        for i in range(3):  # three assets without location and without certificate: rows of two findings
            make_asset(agency=agency, geom=None, nama_barang=f"Tanah Tanpa Lokasi {i}")
        cls.auditor = make_user("auditor", permissions.AUDITOR)
        cls.other = make_user("auditor2", permissions.AUDITOR)
        cls.bpkad = make_user("bpkad", permissions.BPKAD)

    def setUp(self):
        temp_media_root(self.addCleanup)

    def test_a_long_report_is_queued_printed_by_the_worker_and_downloaded(self):
        self.client.force_login(self.auditor)
        response = self.client.get(reverse("audit-report-pdf"), {"as_of": timezone.localdate().isoformat()})
        job = ReportJob.objects.get()
        self.assertRedirects(response, reverse("audit-report-job", args=[job.pk]))
        self.assertGreater(job.rows, 2)
        page = self.client.get(response.url)
        self.assertContains(page, 'http-equiv="refresh"')  # waiting: the page reloads itself
        self.assertEqual(worker.work(once=True), 1)
        job.refresh_from_db()
        self.assertEqual(job.status, ReportJob.Status.DONE, job.error)
        self.assertNotContains(self.client.get(response.url), 'http-equiv="refresh"')
        download = self.client.get(reverse("audit-report-job-file", args=[job.pk]))
        self.assertEqual(download.status_code, 200)
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(b"".join(download.streaming_content))).pages)
        self.assertIn("Tanah Tanpa Lokasi 2", text)
        self.client.force_login(self.other)  # another auditor: not theirs
        self.assertEqual(self.client.get(reverse("audit-report-job-file", args=[job.pk])).status_code, 403)
        self.client.force_login(self.bpkad)
        self.assertEqual(self.client.get(reverse("audit-report-job-file", args=[job.pk])).status_code, 200)

    def test_a_short_report_is_still_printed_at_once(self):
        self.client.force_login(self.auditor)
        with self.settings(SIPANAH_REPORT_INLINE_ROWS=1000):
            response = self.client.get(reverse("audit-report-pdf"))
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertFalse(ReportJob.objects.exists())

    def test_a_failure_is_recorded_and_a_lost_job_fails_with_a_reason(self):
        job = ReportJob.objects.create(user=self.auditor, params="as_of=not-a-date", rows=3)
        report_jobs.run(report_jobs.claim_next())
        job.refresh_from_db()
        self.assertEqual(job.status, ReportJob.Status.FAILED)
        self.assertTrue(job.error)
        lost = ReportJob.objects.create(user=self.auditor, params="", rows=3, status=ReportJob.Status.RUNNING)
        ReportJob.objects.filter(pk=lost.pk).update(started_at=timezone.now() - report_jobs.STALE_AFTER * 2)
        self.assertEqual(report_jobs.fail_stale(), 1)
        lost.refresh_from_db()
        self.assertEqual(lost.status, ReportJob.Status.FAILED)
