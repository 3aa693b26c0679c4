"""Printed outputs too long for a request, printed by the worker (assets.ops.worker, after any import waiting).

WeasyPrint takes about a third of a second per page on this kind of machine (the whole demo city's audit report,
306 pages: 111 s; its KIB A, 192 pages: 125 s, both on a busy machine), and gunicorn gives a request 120 s. So a
page that would print more than ``settings.SIPANAH_PRINT_INLINE_PAGES`` pages (default 40) queues a PrintJob
instead; its page (``print-job``) shows the status and, when ready, the file.

A room registers what it prints with ``@printer("kind")`` in its ``printers.py`` (imported at start-up by
AssetsConfig.ready): a function of (the page's query parameters, the user) that returns (PDF bytes, file name).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assets.register.models import User
from assets.transfer.models import PrintJob

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(hours=1)  # a job "running" this long lost its worker: failed, and it says so

Printer = Callable[[QueryDict, User], tuple[bytes, str]]
_PRINTERS: dict[str, Printer] = {}


def printer(kind: str) -> Callable[[Printer], Printer]:
    def register(fn: Printer) -> Printer:
        _PRINTERS[kind] = fn
        return fn

    return register


def inline_pages() -> int:
    """Pages a request may print itself (``SIPANAH_PRINT_INLINE_PAGES``)."""
    return int(getattr(settings, "SIPANAH_PRINT_INLINE_PAGES", 40))


def queue(kind: str, *, user: User, params: QueryDict, pages: int) -> PrintJob:
    if kind not in _PRINTERS:
        raise ValueError(f"no printer for {kind!r}")
    return PrintJob.objects.create(
        kind=kind, user=user, params=params.urlencode(), pages=pages, language=translation.get_language() or "id"
    )


def claim_next() -> PrintJob | None:
    """The oldest waiting job, taken by one conditional UPDATE (as the import jobs): never by two workers."""
    candidate = PrintJob.objects.filter(status=PrintJob.Status.QUEUED).order_by("created_at", "id").first()
    if candidate is None:
        return None
    with transaction.atomic():
        taken = PrintJob.objects.filter(pk=candidate.pk, status=PrintJob.Status.QUEUED).update(
            status=PrintJob.Status.RUNNING, started_at=timezone.now()
        )
    return PrintJob.objects.get(pk=candidate.pk) if taken else None


def fail_stale(now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return PrintJob.objects.filter(status=PrintJob.Status.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=PrintJob.Status.FAILED,
        finished_at=now,
        error=_("The worker stopped while printing this; ask for it again."),
    )


def run(job: PrintJob) -> PrintJob:
    """Print the job in its language and keep the file; a failure is recorded, never left running."""
    try:
        with translation.override(job.language):
            data, filename = _PRINTERS[job.kind](QueryDict(job.params), job.user)
        job.file.save(f"{job.kind}-{job.pk}.pdf", ContentFile(data), save=False)
        job.filename = filename
        job.status, job.finished_at = PrintJob.Status.DONE, timezone.now()
        job.save(update_fields=["file", "filename", "status", "finished_at"])
    except Exception as exc:  # noqa: BLE001 - recorded on the job; the worker goes on with the next
        log.exception("print job %s failed", job.pk)
        PrintJob.objects.filter(pk=job.pk).update(
            status=PrintJob.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
    return PrintJob.objects.get(pk=job.pk)
