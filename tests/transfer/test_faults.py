"""Faults: a database connection lost in the middle of an import, and a worker killed in the middle of a job.

Both run on SpatiaLite and PostGIS. On PostGIS the connection is really terminated (``pg_terminate_backend``
from a second connection); SpatiaLite has no server to lose, so the same point raises ``OperationalError``.
The fault is fired from the progress callback of ``run_import`` (its public signature): at the first
progress report after the import has written rows inside its transaction, so the test proves that those rows
are rolled back, not that an import which had written nothing writes nothing.

The worker test runs ``manage.py run_worker`` as a real process against the test database (on SpatiaLite a
file copy of the in-memory test database, copied back afterwards), SIGKILLs it while the job runs (seen through
the job's progress file, polled with a timeout), then starts another worker and waits for the job to finish.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections
from django.test import TransactionTestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from assets.models import Certificate, CertificateStageEvent, ImportJob, LandAsset
from assets.ops import worker
from assets.register import permissions
from assets.transfer import jobs
from assets.transfer.importing import records
from assets.transfer.importing.report import ImportReport
from assets.transfer.importing.run import run_import
from tests.factories import load_reference, make_user
from tests.processes import WorkerDatabase, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
# Big enough that the importer reports progress (every 1,000 features) after it has written a batch and before
# it ends; small enough to import in a few seconds. The importer's batches (10,000 features) would hold the whole
# file, so the connection-loss tests make them small (SMALL_BATCH): rows are then written before the loss.
FEATURES = 2200
SMALL_BATCH = 500
LOST = "The connection to the database was lost during the import; nothing was written. Run the import again."
# SpatiaLite's stand-in: the connection is still usable afterwards, so the message is the general one.
FAILED = (
    "The database stopped the import (OperationalError); nothing was written. Run the import again once the "
    "database is working."
)


def expected_message() -> str:
    return LOST if connection.vendor == "postgresql" else FAILED


def register_rows() -> dict[str, int]:
    models = (LandAsset, LandAsset.history.model, Certificate, Certificate.history.model, CertificateStageEvent)
    return {model.__name__: model.objects.count() for model in models}


class ConnectionLoss:
    """A progress callback that loses the import's database connection once, after rows were written."""

    def __init__(self) -> None:
        self.fired_at: int | None = None
        self.rows_written = 0

    def __call__(self, done: int, total: int) -> None:
        if self.fired_at is not None or not 0 < done < total:
            return
        # The import's own connection, inside its transaction: it sees the rows it has written so far.
        self.rows_written = LandAsset.objects.count()
        if not self.rows_written:
            return
        self.fired_at = done
        if connection.vendor != "postgresql":
            raise OperationalError("disk I/O error (simulated loss of the database connection)")
        pid = connection.connection.info.backend_pid
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])  # waits until it is gone
                assert cursor.fetchone()[0], "pg_terminate_backend failed"
        finally:
            other.close()


class FaultTestCase(TransactionTestCase):
    """Real transactions: the import's must be the outermost one (its connection dies), and a worker process
    must see the committed job rows. Reference data is loaded per test (TransactionTestCase empties tables)."""

    source: Path

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.class_tmp = Path(tempfile.mkdtemp(prefix="sipanah-faults-"))
        cls.source = cls.class_tmp / "parcels.gpkg"

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.class_tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self) -> None:
        load_reference()
        if not self.source.exists():  # the demo generator places parcels inside the kelurahan: needs the DB
            call_command("generate_demo_assets", count=FEATURES, seed=1, out=self.source, verbosity=0)
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-faults-", dir=self.class_tmp))
        self.media = self.tmp / "media"
        media = override_settings(MEDIA_ROOT=str(self.media))
        media.enable()
        self.addCleanup(media.disable)
        self.user = make_user("bpkad", permissions.BPKAD)  # the demo file spans agencies
        self.client.force_login(self.user)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.empty = register_rows()
        self.assertEqual(self.empty["LandAsset"], 0)

    def queue_import(self) -> ImportJob:
        """Upload and confirm: the job is then queued for the real import. The check in between (a dry run of
        the same file by the worker, tested in tests/transfer/test_import_jobs.py) is taken as passed, to save its
        seconds."""
        upload = SimpleUploadedFile("parcels.gpkg", self.source.read_bytes())
        job = jobs.job_create(user=self.user, upload=upload)
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.PREVIEWED, created=FEATURES)
        return jobs.job_confirm(job=job)

    def assert_imported_in_full(self) -> None:
        rows = register_rows()
        self.assertEqual(rows["LandAsset"], FEATURES)
        self.assertEqual(rows["HistoricalLandAsset"], FEATURES)
        self.assertGreater(rows["Certificate"], 0)
        self.assertEqual(rows["HistoricalCertificate"], rows["Certificate"])


class ConnectionLostMidImportTests(FaultTestCase):
    def setUp(self) -> None:
        super().setUp()
        batch = mock.patch.object(records, "BATCH_SIZE", SMALL_BATCH)
        batch.start()
        self.addCleanup(batch.stop)

    def test_command_reports_it_writes_nothing_and_runs_again(self):
        loss = ConnectionLoss()
        real_run_import = run_import

        def run_import_losing_connection(*args: Any, **kwargs: Any) -> ImportReport:
            return real_run_import(*args, **{**kwargs, "progress": loss})

        with (
            mock.patch("assets.management.commands.import_assets.run_import", run_import_losing_connection),
            self.assertRaises(CommandError) as raised,
        ):
            call_command("import_assets", str(self.source), stdout=io.StringIO())
        self.assertIsNotNone(loss.fired_at, "the connection was never lost: no progress after rows were written")
        self.assertGreater(loss.rows_written, 0)
        self.assertEqual(str(raised.exception), expected_message())
        self.assertEqual(register_rows(), self.empty)  # the rows written before the loss are gone

        out = io.StringIO()
        call_command("import_assets", str(self.source), stdout=out)
        self.assertIn(f"Imported: {FEATURES} features, {FEATURES} created", out.getvalue())
        self.assert_imported_in_full()

    def test_worker_marks_the_job_failed_and_it_runs_again(self):
        job = self.queue_import()
        loss = ConnectionLoss()
        real_write_progress = jobs.write_progress

        def write_progress_losing_connection(job: ImportJob, done: int, total: int) -> None:
            real_write_progress(job, done, total)
            loss(done, total)

        with mock.patch.object(jobs, "write_progress", write_progress_losing_connection):
            self.assertEqual(worker.work(once=True), 1)  # the worker survives the loss and records it
        self.assertIsNotNone(loss.fired_at, "the connection was never lost: no progress after rows were written")
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.FAILED)
        self.assertEqual(register_rows(), self.empty)
        self.assertEqual([e["message"] for e in job.report["errors"]], [expected_message()])
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, expected_message())
        self.assertContains(page, "Run the import again")
        self.assertNotContains(page, "Traceback")
        self.assertNotContains(page, "terminating connection")  # the driver's text is not shown

        self.assertEqual(self.client.post(reverse("import-detail", args=[job.pk])).status_code, 302)
        self.assertEqual(worker.work(once=True), 1)  # the same worker, a new connection
        job.refresh_from_db()
        self.assertEqual((job.status, job.created, job.error_count), (ImportJob.Status.DONE, FEATURES, 0))
        self.assert_imported_in_full()


# 10 s: short, so the test sees the killed worker go stale soon, but longer than a batch of the import takes on a
# loaded machine (the worker beats between batches; at 3 s the check "alive mid-job" failed once at load 15)
@override_settings(SIPANAH_WORKER_STALE_SECONDS=10)
class WorkerKilledMidJobTests(FaultTestCase):
    def start_worker(self, db: WorkerDatabase, log: Path) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": db.url(),
            "SIPANAH_DEBUG": "1",
            "SIPANAH_MEDIA_ROOT": str(self.media),
            "SIPANAH_JOB_STALE_SECONDS": "2",  # not 120: the test waits for the dead worker's job to go stale
        }
        handle = log.open("ab")
        self.addCleanup(handle.close)
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker"], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
        self.addCleanup(self.stop, worker)
        return worker

    @staticmethod
    def stop(worker: subprocess.Popen) -> None:
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=30)

    def healthz_worker(self) -> dict[str, Any]:
        return self.client.get("/healthz").json()["worker"]

    def test_job_is_requeued_and_completes_and_healthz_saw_the_worker_die(self):
        job = self.queue_import()
        db = WorkerDatabase(self.tmp)
        db.push()
        log = self.tmp / "worker.log"
        first = self.start_worker(db, log)

        def mid_job() -> bool:
            if first.poll() is not None:
                raise AssertionError(f"the worker exited early:\n{log.read_text(errors='replace')}")
            progress = jobs.read_progress(job)
            return 0 < progress.get("done", 0) < progress.get("total", 0)

        wait_for(mid_job, "the worker to be in the middle of the import")
        self.assertTrue(self.healthz_worker()["ok"])
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)

        stale = wait_for(lambda: (w := self.healthz_worker()) and not w["ok"] and w, "/healthz to see the worker")
        self.assertIn("no heartbeat", stale["error"])
        self.assertEqual(self.client.get("/healthz").status_code, 503)

        db.pull()  # the killed worker's transaction is rolled back; its job still says running: not lost
        job.refresh_from_db()
        self.assertEqual((job.status, job.attempts), (ImportJob.Status.RUNNING, 1))
        self.assertEqual(register_rows(), self.empty)

        second = self.start_worker(db, log)
        finished = (ImportJob.Status.DONE, ImportJob.Status.FAILED, ImportJob.Status.REFUSED)
        wait_for(lambda: db.job_status(job.pk) in finished, "the second worker to finish the job", timeout=180)
        wait_for(lambda: self.healthz_worker()["ok"], "/healthz to see the new worker")
        second.send_signal(signal.SIGKILL)  # idle: nothing to lose
        second.wait(timeout=30)

        db.pull()
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.DONE, job.report.get("errors"))
        self.assertEqual((job.attempts, job.created, job.error_count), (2, FEATURES, 0))
        self.assert_imported_in_full()

    def test_a_job_whose_worker_dies_twice_is_failed_with_a_message(self):
        job = self.queue_import()
        # The last allowed attempt was claimed by a worker that then died (its heartbeat stopped).
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.RUNNING, attempts=worker.MAX_ATTEMPTS, heartbeat_at=timezone.now()
        )
        self.assertEqual(worker.recover_stale(), 0)  # still beating
        self.assertEqual(worker.recover_stale(now=timezone.now() + jobs.stale_after() * 2), 1)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.FAILED)
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, "The worker stopped during this job; nothing was written.")
        self.assertContains(page, "Run the import again")
