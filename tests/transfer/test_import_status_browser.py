"""The import page while the worker has not finished: it asks the status URL and reloads itself once the status
changes (js/sipanah-import.js), with no <meta http-equiv=refresh> reloading it under the reader."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assets.models import Agency, ImportJob
from assets.ops import worker
from assets.register import permissions
from assets.transfer import jobs
from tests.browser_case import BrowserTestCase, By
from tests.factories import load_reference, make_user, temp_media_root


class ImportStatusBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        load_reference()
        temp_media_root(self.addCleanup)
        self.officer = make_user("officer", permissions.OFFICER, Agency.objects.get(code="1.01.01"))
        self.login("officer")

    def test_a_queued_import_page_shows_the_result_once_the_worker_is_done(self):
        collection = {"type": "FeatureCollection", "features": []}
        upload = SimpleUploadedFile("empty.geojson", json.dumps(collection).encode())
        job = jobs.job_create(user=self.officer, upload=upload)
        self.assertEqual(job.status, ImportJob.Status.QUEUED)
        self.driver.get(self.live_server_url + reverse("import-detail", args=[job.pk]))
        status = self.driver.find_element(By.CSS_SELECTOR, ".import-status")
        self.assertEqual((status.get_attribute("data-active"), status.get_attribute("role")), ("1", "status"))
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "meta[http-equiv=refresh]"), [])
        self.driver.execute_script("window.__samePage = true")
        worker.work(once=True)
        job.refresh_from_db()
        self.assertNotIn(job.status, (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING))
        self.wait.until(lambda d: d.execute_script("return !window.__samePage"), "the page did not reload")
        status = self.driver.find_element(By.CSS_SELECTOR, ".import-status")
        self.assertEqual(status.get_attribute("data-active"), "0")
        self.assertIn(job.get_status_display(), status.text)
