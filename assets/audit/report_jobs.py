"""Audit reports too long for a request: queued by the report view, rendered by the worker (assets.ops.worker).

A report whose findings hold more than ``settings.SIPANAH_REPORT_INLINE_ROWS`` rows (default 1,500, about forty
pages) is not rendered while the browser waits: WeasyPrint takes about a third of a second per page, and the
whole demo city (2,000 parcels, ~300 pages) took 111 s on a busy machine, near gunicorn's 120 s timeout. The job
keeps the page's parameters and language; its page shows the status and, when ready, the file.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assets.audit import exports, findings, report
from assets.audit.models import ReportJob
from assets.register.reads import RegisterSelection

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(hours=1)  # a job "running" this long lost its worker: failed, and it says so


def inline_rows() -> int:
    return int(getattr(settings, "SIPANAH_REPORT_INLINE_ROWS", 1500))


def total_rows(results: dict[str, list[findings.FindingRow]]) -> int:
    return sum(len(rows) for rows in results.values())


def render(params: QueryDict, user: object) -> bytes:
    """The PDF of the audit report for the page parameters ``params``, printed by ``user``."""
    options = findings.FindingOptions.from_params(params)
    selection = RegisterSelection.from_params(params)
    assets = selection.states(with_geom=True)
    results = findings.run_all(assets, options=options, as_of=selection.as_of)
    context = report.report_context(user=user, selection=selection, assets=assets, results=results, options=options)
    return exports.pdf_bytes(context)


def queue(*, user: object, params: QueryDict, rows: int) -> ReportJob:
    return ReportJob.objects.create(
        user=user, params=params.urlencode(), rows=rows, language=translation.get_language() or "id"
    )


def claim_next() -> ReportJob | None:
    """The oldest waiting job, taken by one conditional UPDATE (as the import jobs): never by two workers."""
    candidate = ReportJob.objects.filter(status=ReportJob.Status.QUEUED).order_by("created_at", "id").first()
    if candidate is None:
        return None
    with transaction.atomic():
        taken = ReportJob.objects.filter(pk=candidate.pk, status=ReportJob.Status.QUEUED).update(
            status=ReportJob.Status.RUNNING, started_at=timezone.now()
        )
    return ReportJob.objects.get(pk=candidate.pk) if taken else None


def fail_stale(now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return ReportJob.objects.filter(status=ReportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=ReportJob.Status.FAILED,
        finished_at=now,
        error=_("The worker stopped while printing this report; ask for it again."),
    )


def run(job: ReportJob) -> ReportJob:
    """Render the job's report in its language and keep the file; a failure is recorded, never left running."""
    try:
        with translation.override(job.language):
            data = render(QueryDict(job.params), job.user)
        job.file.save(f"audit-{job.pk}.pdf", ContentFile(data), save=False)
        job.status, job.finished_at = ReportJob.Status.DONE, timezone.now()
        job.save(update_fields=["file", "status", "finished_at"])
    except Exception as exc:  # noqa: BLE001 - recorded on the job; the worker goes on with the next
        log.exception("report job %s failed", job.pk)
        ReportJob.objects.filter(pk=job.pk).update(
            status=ReportJob.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
    return ReportJob.objects.get(pk=job.pk)
