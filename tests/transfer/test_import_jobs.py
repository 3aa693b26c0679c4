"""Import jobs: web upload, check in the background, confirm; the worker never loses a job."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from assets.models import Agency, ImportJob, LandAsset
from assets.ops import worker
from assets.register import permissions
from assets.transfer import exports, jobs
from tests.factories import every_record, make_user, temp_media_root
from tests.transfer.import_case import ImportTestCase


class ImportJobTests(ImportTestCase):
    """Web upload: check (dry run) in the background, then confirm; the worker never loses a job."""

    def setUp(self):
        super().setUp()
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        temp_media_root(self.addCleanup)
        self.officer = make_user("officer", permissions.OFFICER, self.agency)
        self.client.force_login(self.officer)

    def upload(self, features: list[dict]) -> ImportJob:
        content = json.dumps({"type": "FeatureCollection", "features": features}).encode()
        response = self.client.post(reverse("import-list"), {"file": SimpleUploadedFile("parcels.geojson", content)})
        self.assertEqual(response.status_code, 302)
        return ImportJob.objects.get()

    def good_feature(self) -> dict:
        properties = {"kode_barang": "1.3.1.01.01.01.001", "no_register": "3", "nama_barang": "Tanah Taman",
                      "tahun_perolehan": 2019, "asal_usul": "HIBAH", "nilai": 0, "luas": 500}  # fmt: skip
        return {"type": "Feature", "properties": properties, "geometry": json.loads(self.parcel().json)}

    def test_upload_preview_confirm_import(self):
        job = self.upload([self.good_feature()])
        self.assertEqual(job.status, ImportJob.Status.QUEUED)
        self.assertTrue(Path(job.file.path).is_file())
        self.assertEqual(worker.work(once=True), 1)
        job.refresh_from_db()
        self.assertEqual((job.status, job.created, job.error_count), (ImportJob.Status.PREVIEWED, 1, 0))
        self.assertEqual(LandAsset.objects.count(), 0)
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, "Confirm the import")
        self.assertContains(page, "<svg")
        self.client.post(reverse("import-detail", args=[job.pk]))
        status = self.client.get(reverse("import-status", args=[job.pk])).json()
        self.assertEqual(status["status"], "queued")
        worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.DONE)
        self.assertEqual(LandAsset.objects.get().agency, self.agency)  # an officer's import is for their agency
        self.assertEqual(self.client.get(reverse("import-status", args=[job.pk])).json()["created"], 1)

    def test_refused_file_lists_errors_and_cannot_be_confirmed(self):
        feature = self.good_feature()
        feature["properties"]["tahun_perolehan"] = "kemarin"
        job = self.upload([feature])
        worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.REFUSED)
        self.assertContains(self.client.get(reverse("import-detail", args=[job.pk])), "kemarin is not a year.")
        self.client.post(reverse("import-detail", args=[job.pk]))
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.REFUSED)

    def test_a_job_that_dies_before_recording_its_result_writes_nothing(self):
        # The rows and the job's final status commit together: a job queued again never imports twice.
        job = self.upload([self.good_feature()])
        worker.work(once=True)
        self.client.post(reverse("import-detail", args=[job.pk]))  # confirm: the next run writes
        with mock.patch.object(jobs, "record_report", side_effect=OperationalError("the worker's connection died")):
            worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.FAILED)
        self.assertEqual(LandAsset.objects.count(), 0)
        self.assertEqual(LandAsset.history.count(), 0)
        self.client.post(reverse("import-detail", args=[job.pk]))  # "Run the import again"
        worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual((job.status, job.created, LandAsset.objects.count()), (ImportJob.Status.DONE, 1, 1))

    def test_command_line_import_with_a_user_is_kept_in_the_import_log(self):
        source = self.tmp / "parcels.geojson"
        source.write_text(json.dumps({"type": "FeatureCollection", "features": [self.good_feature()]}))
        call_command("import_assets", str(source), "--dry-run", "--user", "officer", stdout=io.StringIO())
        self.assertFalse(ImportJob.objects.exists())  # a check is not an import
        call_command("import_assets", str(source), "--user", "officer", stdout=io.StringIO(), stderr=io.StringIO())
        job = ImportJob.objects.get()
        done = (self.officer, ImportJob.Status.DONE, 1, True)
        self.assertEqual((job.user, job.status, job.created, job.commit), done)
        self.assertEqual(Path(job.file.path).read_bytes(), source.read_bytes())
        self.assertEqual(LandAsset.history.get().history_user, self.officer)
        self.assertContains(self.client.get(reverse("import-detail", args=[job.pk])), "parcels.geojson")
        # A Shapefile given as its .shp is kept with its side files, zipped.
        exports.write_export(every_record(), fmt="shp", path=self.tmp / "export.zip", srid=4326)
        with zipfile.ZipFile(self.tmp / "export.zip") as archive:
            archive.extractall(self.tmp / "shp")
            members = sorted(archive.namelist())
        shp = next((self.tmp / "shp").glob("*.shp"))
        call_command("import_assets", str(shp), "--user", "officer", stdout=io.StringIO(), stderr=io.StringIO())
        job = ImportJob.objects.order_by("-id").first()
        # the export of the register names the same asset with the same values: unchanged, not an update
        self.assertEqual((job.status, job.updated, job.report["unchanged"]), (ImportJob.Status.DONE, 0, 1))
        with zipfile.ZipFile(job.file.path) as kept:
            self.assertEqual(sorted(kept.namelist()), members)
        with self.assertRaisesMessage(CommandError, "No user 'nobody'"):
            call_command("import_assets", str(source), "--user", "nobody", stdout=io.StringIO())

    def test_stale_job_is_requeued_then_failed(self):
        job = self.upload([self.good_feature()])
        self.assertEqual(worker.claim_next().pk, job.pk)
        self.assertIsNone(worker.claim_next())  # claimed once only
        later = timezone.now() + jobs.stale_after() * 2
        self.assertEqual(worker.recover_stale(now=later), 1)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.QUEUED)
        worker.claim_next()
        worker.recover_stale(now=later)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.FAILED)

    def test_other_users_and_roles(self):
        job = self.upload([self.good_feature()])
        self.client.force_login(make_user("other", permissions.OFFICER, Agency.objects.get(code="1.02.01")))
        self.assertEqual(self.client.get(reverse("import-detail", args=[job.pk])).status_code, 403)
        self.client.force_login(make_user("planner", permissions.PLANNER))
        self.assertEqual(self.client.get(reverse("import-list")).status_code, 403)
        worker.work(once=True)  # previewed: the uploader could confirm it now
        # Auditors read the import log, every import's report and file, but neither upload nor confirm.
        self.client.force_login(make_user("auditor", permissions.AUDITOR))
        log = self.client.get(reverse("import-list"))
        self.assertContains(log, "parcels.geojson")
        self.assertNotContains(log, 'type="file"')
        self.assertEqual(
            self.client.post(reverse("import-list"), {"file": SimpleUploadedFile("p.geojson", b"{}")}).status_code, 403
        )
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, "parcels.geojson")
        self.assertNotContains(page, "Confirm the import")
        self.assertEqual(self.client.post(reverse("import-detail", args=[job.pk])).status_code, 403)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.PREVIEWED)
        self.assertEqual(ImportJob.objects.count(), 1)
        self.client.force_login(self.officer)
        response = self.client.post(reverse("import-list"), {"file": SimpleUploadedFile("x.exe", b"MZ")})
        self.assertContains(response, "this format is not accepted")
