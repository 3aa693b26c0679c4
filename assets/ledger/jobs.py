"""Reconciliation runs of web uploads, read and matched by the background worker (assets.ops.worker, ``manage.py
run_worker``), as the import jobs and printed outputs are: the upload keeps the file and queues the run; the worker
claims it with one conditional UPDATE (never by two workers), reads and matches it in one transaction, and records
why when it fails (a file refused as a whole, or an internal error); the run's page reloads until it is ready."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.ledger import services
from assets.ledger.models import ReconciliationRun
from assets.register.models import User
from assets.transfer.importing.report import ImportFileError

log = logging.getLogger(__name__)

# A run "running" this long lost its worker (100k rows match in well under a minute): failed, and it says so.
STALE_AFTER = dt.timedelta(hours=1)
State = ReconciliationRun.State


def queue(*, upload: File, user: User, system: str = "", snapshot_date: Any = None, note: str = ""
          ) -> ReconciliationRun:  # fmt: skip
    """Keep the uploaded official export and queue its reading and matching."""
    services.require_reconciler(user)
    name = Path(upload.name or "official").name
    run = ReconciliationRun(source_name=name[:255], system=system, snapshot_date=snapshot_date, note=note,
                            created_by=user, state=State.QUEUED)  # fmt: skip
    stored = Path(name)
    run.file.save(f"{stored.stem[:100]}{stored.suffix[:16]}", upload, save=False)
    run.save()
    return run


def claim_next() -> ReconciliationRun | None:
    """The oldest queued run, taken by one conditional UPDATE (as the import jobs)."""
    candidate = ReconciliationRun.objects.filter(state=State.QUEUED).order_by("created_at", "id").first()
    if candidate is None:
        return None
    with transaction.atomic():
        taken = ReconciliationRun.objects.filter(pk=candidate.pk, state=State.QUEUED).update(
            state=State.RUNNING, started_at=timezone.now()
        )
    return ReconciliationRun.objects.get(pk=candidate.pk) if taken else None


def fail_stale(now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return ReconciliationRun.objects.filter(state=State.RUNNING, started_at__lt=now - STALE_AFTER).update(
        state=State.FAILED,
        finished_at=now,
        failure=_("The worker stopped while reading or matching this file; nothing was kept. Upload it again."),
    )


def run(job: ReconciliationRun) -> ReconciliationRun:
    """Read and match a claimed run; a failure is recorded on the run with its reason, never left running."""
    try:
        with transaction.atomic():
            services.read_and_match(job, Path(job.file.path), name=job.source_name)
    except ImportFileError as exc:  # the file as a whole: not a table the importer reads, no row...
        _fail(job, _("The file was not read: %(reason)s") % {"reason": exc})
    except (OSError, DatabaseError) as exc:
        log.exception("reconciliation run %s failed", job.pk)
        _fail(job, _("The file could not be read or matched (%(error)s); nothing was kept. Upload it again.")
              % {"error": type(exc).__name__})  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - recorded on the run; the worker goes on with the next
        log.exception("reconciliation run %s failed", job.pk)
        _fail(job, _("Internal error: %(e)s") % {"e": exc})
    return ReconciliationRun.objects.get(pk=job.pk)


def _fail(job: ReconciliationRun, reason: str) -> None:
    ReconciliationRun.objects.filter(pk=job.pk).update(
        state=State.FAILED, finished_at=timezone.now(), failure=reason[:4000]
    )
