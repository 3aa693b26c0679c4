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
from assets.transfer.importing.report import ImportReport
from assets.transfer.importing.source import SUFFIX_FORMATS
from assets.transfer.models import ImportJob

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = tuple(SUFFIX_FORMATS)


def job_create(*, user: User, upload: File, layer: str = "", srid: str = "", repair: bool = False) -> ImportJob:
    """Keep the uploaded file and queue its check (a dry run); the import itself waits for confirmation."""
    name = Path(upload.name or "upload").name
    job = ImportJob(user=user, original_name=name[:255], layer=layer, srid=srid, repair=repair)
    # Stored under a shortened name (the suffix tells the format): a 300-character name is beyond what the
    # file system takes, a 500 before (found by tests/register/test_fuzz_forms.py); the page shows the original name.
    stored = Path(name)
    job.file.save(f"{stored.stem[:100]}{stored.suffix[:16]}", upload, save=False)
    job.save()
    return job


def record_command_import(
    *, user: User, path: Path, layer: str, srid: str, repair: bool, report: ImportReport
) -> ImportJob:
    """An ``import_assets --user`` run in the import log, as a web upload's would be: its file (a Shapefile's .shp
    with its side files, zipped), user, time, counts and report. Called inside the import's transaction."""
    files = [path]
    if path.suffix.lower() == ".shp":
        files = sorted(p for p in path.parent.glob(f"{glob.escape(path.stem)}.*") if p.is_file())
    if len(files) == 1:
        with path.open("rb") as handle:
            job = job_create(user=user, upload=File(handle, name=path.name), layer=layer, srid=srid, repair=repair)
    else:
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as archive:
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
                for member in files:
                    zipped.write(member, member.name)
            archive.seek(0)
            upload = File(archive, name=f"{path.stem}.zip")
            job = job_create(user=user, upload=upload, layer=layer, srid=srid, repair=repair)
    now = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(commit=True, attempts=1, started_at=now)
    record_report(job, report)
    job.refresh_from_db()
    return job


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


def preview_svg(report: dict[str, Any], width: int = 640, height: int = 360) -> str:
    """A small map of the previewed features (their outlines) over the kecamatan and kelurahan boundaries around
    them, drawn as SVG from Sipanah's own data: no tiles, works offline."""
    from django.utils.html import escape

    rings: list[tuple[str, list[list[float]]]] = []
    for item in report.get("preview", []):
        geometry = item.get("geometry") or {}
        polygons = (
            geometry.get("coordinates", [])
            if geometry.get("type") == "MultiPolygon"
            else [geometry.get("coordinates", [])]
        )
        for polygon in polygons:
            for ring in polygon[:1]:
                rings.append((str(item.get("label", "")), ring))
    points = [p for _label, ring in rings for p in ring]
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    # framed on the kelurahan the features lie in, so that their boundaries show around them
    x0, y0, x1, y1 = _kelurahan_extent((min(xs), min(ys), max(xs), max(ys)))
    span = max(x1 - x0, y1 - y0, 1e-9)
    scale = min(width / max(x1 - x0, 1e-9), height / max(y1 - y0, 1e-9)) * 0.95
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def xy(x: float, y: float) -> tuple[float, float]:
        return width / 2 + (x - cx) * scale, height / 2 - (y - cy) * scale

    def path(ring: Any) -> str:
        return " ".join(
            "{}{:.1f},{:.1f}".format("M" if i == 0 else "L", *xy(x, y)) for i, (x, y, *_z) in enumerate(ring)
        )

    areas = []
    for level, style in (("kelurahan", 'stroke-width="0.8" stroke-dasharray="5 4"'), ("kecamatan", 'stroke-width="2"')):
        for ring in _boundary_rings(level, (x0, y0, x1, y1), tolerance=span / 1000):
            areas.append(f'<path class="{level}" d="{path(ring)} Z" {style}/>')
    # each feature as its outline and a dot: a parcel can be a pixel wide on a map of its kelurahan
    paths = []
    for label, ring in rings:
        px, py = xy(*ring[0][:2])
        paths.append(
            f'<path d="{path(ring)} Z"><title>{escape(label)}</title></path><circle cx="{px:.1f}" cy="{py:.1f}" r="4"/>'
        )
    return (
        f'<svg class="import-preview" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(_("Map of the features in the file"))}">'
        f'<g fill="none" stroke="#78909c">{"".join(areas)}</g>'
        f'<g fill="#3b82f6" fill-opacity="0.5" stroke="#1d4ed8" stroke-width="1">{"".join(paths)}</g></svg>'
    )


def _kelurahan_extent(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The lon/lat extent of ``bbox`` and the kelurahan it touches (``bbox`` with a margin outside them all)."""
    from django.contrib.gis.db.models import Extent
    from django.contrib.gis.geos import Polygon

    from assets.register.models import AdministrativeArea

    x0, y0, x1, y1 = bbox
    margin = max(0.1 * max(x1 - x0, y1 - y0), 0.002)
    found = AdministrativeArea.objects.filter(
        level=AdministrativeArea.Level.KELURAHAN, geom__intersects=Polygon.from_bbox(bbox)
    ).aggregate(extent=Extent("geom"))["extent"]
    if not found:
        return x0 - margin, y0 - margin, x1 + margin, y1 + margin
    return min(x0, found[0]), min(y0, found[1]), max(x1, found[2]), max(y1, found[3])


def _boundary_rings(level: str, bbox: tuple[float, float, float, float], *, tolerance: float) -> list[Any]:
    """The outer rings of the administrative areas of ``level`` that touch ``bbox`` (lon/lat), simplified."""
    import shapely
    from django.contrib.gis.db.models.functions import AsWKB
    from django.contrib.gis.geos import Polygon

    from assets.register.models import AdministrativeArea

    wkbs = (
        AdministrativeArea.objects.filter(level=level, geom__intersects=Polygon.from_bbox(bbox))
        .annotate(wkb=AsWKB("geom"))
        .values_list("wkb", flat=True)
    )
    rings = []
    for wkb in wkbs:
        geom = shapely.simplify(shapely.from_wkb(bytes(wkb)), tolerance)
        for polygon in getattr(geom, "geoms", [geom]):
            if polygon.geom_type == "Polygon":
                rings.append(list(polygon.exterior.coords))
    return rings
