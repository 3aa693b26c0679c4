"""The background worker: claims queued import jobs, then reconciliation runs (assets.ledger.jobs), then printed
outputs (assets.transfer.print_jobs), and runs them, with no extra server (``manage.py run_worker``, started by
``make run`` beside runserver).

Claiming is one conditional UPDATE (status queued -> running), atomic on SQLite and PostgreSQL alike; on
PostgreSQL the candidate is also picked with ``select_for_update(skip_locked=True)`` so that several workers
do not queue behind each other's locks. A job whose worker died (no heartbeat) is queued again, or failed after
MAX_ATTEMPTS; the worker's own heartbeat is what /healthz reads (assets.ops.health).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.ledger import jobs as ledger_jobs
from assets.ledger.models import ReconciliationRun
from assets.ops import health
from assets.transfer import jobs, print_jobs
from assets.transfer.importing.run import run_import
from assets.transfer.models import ImportJob, PrintJob

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
POLL_SECONDS = 1.0


def claim_next() -> ImportJob | None:
    queued = ImportJob.objects.filter(status=ImportJob.Status.QUEUED).order_by("created_at", "id")
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            queued = queued.select_for_update(skip_locked=True)
        candidate = queued.values_list("pk", flat=True).first()
        if candidate is None:
            return None
        now = timezone.now()
        claimed = ImportJob.objects.filter(pk=candidate, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
        )
    return ImportJob.objects.get(pk=candidate) if claimed else None


def recover_stale(now: Any = None) -> int:
    """Jobs left running by a dead worker are queued again (or failed after MAX_ATTEMPTS): never silently lost."""
    now = now or timezone.now()
    stale = jobs.stale_after()
    recovered = 0
    for job in ImportJob.objects.filter(status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - stale):
        beat = jobs.read_progress(job).get("at")
        if beat and now.timestamp() - beat < stale.total_seconds():
            continue  # still beating through its progress file
        if job.attempts >= MAX_ATTEMPTS:
            fields = {
                "status": ImportJob.Status.FAILED,
                "finished_at": now,
                "report": {
                    "errors": [
                        {
                            "feature": 0,
                            "field": "",
                            "message": _("The worker stopped during this job; nothing was written."),
                        }
                    ]
                },
            }
        else:
            fields = {"status": ImportJob.Status.QUEUED}
        recovered += ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(**fields)
    return recovered


def run_job(job: ImportJob) -> ImportJob:
    def progress(done: int, total: int) -> None:
        jobs.write_progress(job, done, total)
        health.worker_beat()  # a long import is the worker being busy, not dead

    jobs.write_progress(job, 0, -1)
    try:
        # The import's rows and the job's final status commit together (run_import records it inside its write
        # transaction): a worker killed in between leaves neither, so a job queued again never imports twice and
        # "nothing was written" stays true.
        run_import(
            Path(job.file.path),
            user=job.user,
            layer=job.layer or None,
            srid=job.srid or None,
            dry_run=not job.commit,
            repair=job.repair,
            mapping=jobs.job_mapping(job),
            strict=job.strict,
            update=job.update_mode,
            progress=progress,
            finish=lambda report: jobs.record_report(job, report),
        )
    except Exception as exc:  # a bug must not leave the job "running" forever: record it, keep the worker alive
        log.exception("import job %s failed", job.pk)
        if isinstance(exc, DatabaseError):
            message = jobs.database_failure_message(exc)
            jobs.drop_broken_connection()
        else:
            message = _("Internal error: %(e)s") % {"e": exc}
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            report=jobs.json_safe({"errors": [{"feature": 0, "field": "", "message": message}]}),
        )
    jobs.progress_path(job).unlink(missing_ok=True)
    return ImportJob.objects.get(pk=job.pk)


def work(*, once: bool = False, poll: float = POLL_SECONDS) -> int:
    """Run queued jobs until stopped (or, with ``once``, until the queue is empty); returns the jobs run."""
    done = 0
    while True:
        health.worker_beat()
        try:
            recover_stale()
            print_jobs.fail_stale()
            ledger_jobs.fail_stale()
            job: ImportJob | PrintJob | ReconciliationRun | None = claim_next()
            if job is not None:
                run_job(job)
            elif (job := ledger_jobs.claim_next()) is not None:  # then reconciliation runs (their page reloads)
                ledger_jobs.run(job)
            else:  # imports first (someone waits on their page), then reconciliations, then printed outputs
                job = print_jobs.claim_next()
                if job is not None:
                    print_jobs.run(job)
        except DatabaseError:
            # The database is down or the connection broke: keep polling (a new connection each time) rather
            # than die; /healthz reports the database meanwhile. A job left running is recovered as stale.
            if once:
                raise
            log.exception("the job queue cannot be read or written; trying again in %s s", poll)
            jobs.drop_broken_connection()
            time.sleep(poll)
            continue
        if job is not None:
            done += 1
            continue
        if once:
            return done
        time.sleep(poll)  # idle polling of the job table: the only wait, and only when there is nothing to do
