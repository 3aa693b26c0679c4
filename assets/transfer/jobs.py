"""Import jobs of web uploads: kept in the database (ImportJob) with their file, confirmed by the user, run by the
worker (assets.ops.worker, ``manage.py run_worker``).

Progress and heartbeat during a run go to a small JSON file beside the upload, not to the database: the
import holds its transaction open until the end (all or nothing), and on SQLite a second writer would wait
for that lock. The status endpoint and the stale-job check read that file; the row gets the final result.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.register.models import User
from assets.transfer.importing.mapping import FieldMapping
from assets.transfer.importing.report import ImportReport, UpdateMode
from assets.transfer.importing.source import SUFFIX_FORMATS
from assets.transfer.models import AgencyMapping, ImportJob

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = tuple(SUFFIX_FORMATS)


def job_create(
    *, user: User, upload: File, layer: str = "", srid: str = "", repair: bool = False,
    mapping: dict[str, Any] | None = None, strict: bool = False, update_mode: str = UpdateMode.ALL,
) -> ImportJob:  # fmt: skip
    """Keep the uploaded file and queue its check (a dry run); the import itself waits for confirmation.
    ``mapping`` is a mapping file's JSON (checked by FieldMapping.from_dict before it gets here)."""
    name = Path(upload.name or "upload").name
    job = ImportJob(user=user, original_name=name[:255], layer=layer, srid=srid, repair=repair,
                    mapping=mapping or {}, strict=strict, update_mode=update_mode)  # fmt: skip
    # Stored under a shortened name (the suffix tells the format): a 300-character name is beyond what the
    # file system takes, a 500 before (found by tests/register/test_fuzz_forms.py); the page shows the original name.
    stored = Path(name)
    job.file.save(f"{stored.stem[:100]}{stored.suffix[:16]}", upload, save=False)
    job.save()
    return job


def record_command_import(
    *, user: User, path: Path, layer: str, srid: str, repair: bool, report: ImportReport,
    mapping: FieldMapping | None = None,
) -> ImportJob:  # fmt: skip
    """An ``import_assets --user`` run in the import log, as a web upload's would be: its file (a Shapefile's .shp
    with its side files, zipped), user, time, options, counts and report. Called inside the import's transaction."""
    options = {"mapping": mapping.as_dict() if mapping else {}, "strict": report.strict,
               "update_mode": report.update_mode}  # fmt: skip
    files = [path]
    if path.suffix.lower() == ".shp":
        files = sorted(p for p in path.parent.glob(f"{glob.escape(path.stem)}.*") if p.is_file())
    if len(files) == 1:
        with path.open("rb") as handle:
            job = job_create(user=user, upload=File(handle, name=path.name), layer=layer, srid=srid, repair=repair,
                             **options)  # fmt: skip
    else:
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as archive:
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
                for member in files:
                    zipped.write(member, member.name)
            archive.seek(0)
            upload = File(archive, name=f"{path.stem}.zip")
            job = job_create(user=user, upload=upload, layer=layer, srid=srid, repair=repair, **options)
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(commit=True, attempts=1, started_at=now)
    record_report(job, report)
    job.refresh_from_db()
    return job


def job_mapping(job: ImportJob) -> FieldMapping | None:
    """The job's column mapping (None: the known spellings only)."""
    return FieldMapping.from_dict(job.mapping) if job.mapping else None


def job_recheck(*, job: ImportJob, mapping: dict[str, Any], strict: bool, update_mode: str) -> ImportJob:
    """Check the file again with other options (a column mapping, strict overlaps, what an update may overwrite):
    only before it was imported."""
    FieldMapping.from_dict(mapping)  # raises ImportFileError naming the problem
    if update_mode not in UpdateMode.CHOICES:
        raise ValueError(_("Unknown update choice %(choice)s.") % {"choice": update_mode})
    updated = ImportJob.objects.filter(
        pk=job.pk, commit=False, status__in=(ImportJob.Status.PREVIEWED, ImportJob.Status.REFUSED)
    ).update(status=ImportJob.Status.QUEUED, mapping=mapping, strict=strict, update_mode=update_mode, report={},
             created=0, updated=0, error_count=0, progress_done=0, attempts=0, finished_at=None)  # fmt: skip
    job.refresh_from_db()
    if not updated:
        raise ValueError(_("Only a checked file that was not imported can be checked again."))
    return job


def mapping_from_columns(job: ImportJob, chosen: dict[str, str]) -> dict[str, Any]:
    """The mapping file's JSON for the columns the user mapped on the page (column name -> field, "" for none):
    the job's constants and defaults kept, its "$feature" fields kept unless a column now gives them."""
    current = job.mapping or {}
    fields = {name: column for name, column in current.get("fields", {}).items() if column == "$feature"}
    seen: dict[str, str] = {}
    for column, name in chosen.items():
        if not name:
            continue
        if name in seen:
            raise ValueError(
                _("%(field)s is given by two columns, %(a)s and %(b)s: choose one.")
                % {"field": name, "a": seen[name], "b": column}
            )
        seen[name] = column
        fields[name] = column
    data: dict[str, Any] = {"fields": fields}
    for key in ("constants", "defaults"):
        if current.get(key):
            data[key] = {k: v for k, v in current[key].items() if k not in seen}
    return FieldMapping.from_dict(data).as_dict()


def saved_mapping(agency_id: int | None) -> AgencyMapping | None:
    if agency_id is None:
        return None
    return AgencyMapping.objects.filter(agency_id=agency_id).first()


def save_mapping(*, agency_id: int, mapping: dict[str, Any], user: User) -> AgencyMapping:
    """Keep ``mapping`` as the agency's, offered for its next uploads (one per agency: the newest wins)."""
    FieldMapping.from_dict(mapping)
    saved, _created = AgencyMapping.objects.update_or_create(
        agency_id=agency_id, defaults={"mapping": mapping, "updated_by": user}
    )
    return saved


def stale_after() -> timedelta:
    """No heartbeat for this long: the worker died (``SIPANAH_JOB_STALE_SECONDS``, default 2 minutes)."""
    return timedelta(seconds=settings.SIPANAH_JOB_STALE_SECONDS)


def job_confirm(*, job: ImportJob) -> ImportJob:
    """Queue the real import of a file whose check found no error, or again after the import failed (the worker
    died or the database connection was lost: nothing was written, and the import checks everything again)."""
    confirmable = Q(status=ImportJob.Status.PREVIEWED) | Q(status=ImportJob.Status.FAILED, commit=True)
    updated = (
        ImportJob.objects.filter(confirmable, pk=job.pk, error_count=0)
        .update(status=ImportJob.Status.QUEUED, commit=True, attempts=0, progress_done=0, finished_at=None)
    )  # fmt: skip
    job.refresh_from_db()
    if not updated:
        raise ValueError(_("Only a checked file without errors can be imported."))
    return job


def progress_path(job: ImportJob) -> Path:
    return Path(job.file.path).with_suffix(".progress.json")


def read_progress(job: ImportJob) -> dict[str, Any]:
    try:
        return json.loads(progress_path(job).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_progress(job: ImportJob, done: int, total: int) -> None:
    path = progress_path(job)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"done": done, "total": total, "at": time.time()}), encoding="utf-8")
    os.replace(partial, path)  # readers never see half a file


def record_report(job: ImportJob, report: ImportReport) -> None:
    if not report.ok:
        status = ImportJob.Status.REFUSED
    elif report.committed:
        status = ImportJob.Status.DONE
    else:
        status = ImportJob.Status.PREVIEWED
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        progress_done=report.features,
        progress_total=report.features,
        created=report.created,
        updated=report.updated,
        error_count=report.error_count,
        report=json_safe(json.loads(json.dumps(report.as_dict(), default=str))),
    )


def json_safe(value: Any) -> Any:
    """The report as PostgreSQL's jsonb takes it: a damaged file's column names and values can carry lone
    surrogates (GDAL's undecodable bytes) or NUL characters, which jsonb refuses (a DataError, found by
    tests/register/test_fuzz_forms.py); they become U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def database_failure_message(exc: DatabaseError) -> str:
    """What to tell the user when the database failed during an import (the worker's job page, import_assets).

    The import's transaction was rolled back, or died with its connection: nothing was written. The driver's
    text can name the host and user, so only the error's class is shown.
    """
    if _connection_lost(exc):
        return _("The connection to the database was lost during the import; nothing was written. "
                 "Run the import again.")  # fmt: skip
    return _("The database stopped the import (%(error)s); nothing was written. Run the import again once "
             "the database is working.") % {"error": type(exc).__name__}  # fmt: skip


def _connection_lost(exc: DatabaseError) -> bool:
    """The server went away or dropped the session (PostgreSQL: no SQLSTATE for a broken socket, class 08
    "connection exception", 57P0x "terminated by the administrator / crash / shutdown"). Django has already
    opened a new connection by then (leaving the transaction re-enables autocommit), so the error tells."""
    if connection.vendor != "postgresql" or not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    return not sqlstate or sqlstate.startswith(("08", "57P"))


def drop_broken_connection() -> None:
    """After a database error: close the connection, which may be broken (a dead server, a terminated backend),
    so that the next query opens a new one instead of failing on the old one for ever. Not inside a transaction
    (the tests run the worker inside theirs)."""
    if not connection.in_atomic_block:
        connection.close()


def awaiting_confirmation(jobs: Any = None) -> Any:
    """Checked files waiting for their uploader (or BPKAD) to confirm the import: the work queue's "imports to
    confirm" (assets.transfer.work) and the import list's ``?waiting=1``."""
    qs = ImportJob.objects.all() if jobs is None else jobs
    return qs.filter(status=ImportJob.Status.PREVIEWED, commit=False)
