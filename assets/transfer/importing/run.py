"""One import, all or nothing: the file read in a sandboxed process, its columns mapped, every row checked against the
register, then — when nothing was wrong and this is no dry run — everything written in ONE short transaction; and the
report as text for the command line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from django.db import IntegrityError, reset_queries, transaction
from django.utils.translation import gettext as _

from assets.lib import planner
from assets.register import history_validity, permissions
from assets.register.models import User
from assets.register.place import STORAGE_SRID
from assets.transfer.importing import records
from assets.transfer.importing.crs import wkt_column_crs
from assets.transfer.importing.geometry import GeometryPlan
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.mapping import FieldMapping, title_agency
from assets.transfer.importing.reader import Reader, Row
from assets.transfer.importing.report import (
    ImportFileError,
    ImportReport,
    UpdateMode,
    change_lines,
    overlap_message,
)
from assets.transfer.importing.sandbox import FileSource, RawRow, apply_report
from assets.transfer.importing.writer import RegisterChanged, StagedRows, Writer


def run_import(
    path: Path,
    *,
    user: User | None = None,
    layer: str | None = None,
    srid: str | None = None,
    mapping: FieldMapping | None = None,
    dry_run: bool = False,
    repair: bool = False,
    progress: Callable[[int, int], None] | None = None,
    limits: ImportLimits | None = None,
    finish: Callable[[ImportReport], None] | None = None,
    strict: bool = False,
    update: str = UpdateMode.ALL,
) -> ImportReport:
    """Import one file; all or nothing. Raises nothing for bad input: the report says what is wrong.

    The file is read in a sandboxed child process (assets.transfer.importing.sandbox); its rows are checked here
    against the register batch by batch, reading only, and kept (writer.Stage); when every row passed and this is
    no dry run, they are written in ONE transaction, short because everything else happened before it.
    ``limits`` default to settings.SIPANAH_IMPORT_LIMITS; ``progress(done, total)`` is called as features are
    read and written (the worker's heartbeat). ``finish(report)`` records the outcome (the import log): inside the
    write's transaction when rows were written, so that both commit or neither does; else once the check ended.
    ``strict``: overlaps are errors (nothing written) instead of warnings; ``update`` (UpdateMode): what an update of
    an existing asset may overwrite."""
    started = time.monotonic()
    if update not in UpdateMode.CHOICES:
        raise ValueError(f"update must be one of {UpdateMode.CHOICES}")
    report = ImportReport(dry_run=dry_run, source=path.name, strict=strict, update_mode=update)
    if user is not None and not permissions.can_create_asset(user):
        report.add_error(0, "", _("Your role does not allow importing assets."))
        return report
    mapping = mapping or FieldMapping()
    stage = StagedRows()
    try:
        with FileSource(
            path, layer=layer, srid=srid, mapping=mapping, limits=limits or ImportLimits.from_settings()
        ) as source:
            _check(source, report, stage, user=user, srid=srid, mapping=mapping, repair=repair, progress=progress)
        if report.features == 0 and report.ok:
            report.add_error(0, "", _("The layer %(layer)s holds no feature.") % {"layer": report.layer})
        if report.ok and not dry_run:
            _write(stage, report, user=user, progress=progress, finish=finish, started=started)
    except ImportFileError as exc:
        report.add_error(0, "", str(exc))
    finally:
        stage.close()
    report.seconds = round(time.monotonic() - started, 2)
    if finish is not None and not report.committed:
        finish(report)
    return report


def _check(
    source: FileSource, report: ImportReport, stage: StagedRows, *, user: User | None, srid: str | None,
    mapping: FieldMapping, repair: bool, progress: Callable[[int, int], None] | None,
) -> None:  # fmt: skip
    """Read the file's rows and check them against the register (reads only); the accepted ones go to ``stage``."""
    header = source.header
    assert header is not None  # noqa: S101 - FileSource sets it on entering
    apply_report(report, header.report)
    columns = header.columns
    if header.title is not None:  # a printed sheet: its title may name the agency
        mapping = title_agency(header.title, mapping, columns, report)
    own_agency_only = user is not None and not permissions.can_edit_all(user)  # the officer's agency is implied
    try:
        plan = mapping.resolve(columns, report, optional=("agency",) if own_agency_only else ())
    except ImportFileError:
        # Refused for its columns: the report still shows them, each with a sample, for the mapping form
        first = next(iter(source.rows(list(range(len(columns))), GeometryPlan(None, repair=False))), [])
        _describe_columns(report, columns, {}, first, mapping)
        raise
    wkt = plan.get("wkt")
    geometry = GeometryPlan(wkt_column=wkt if isinstance(wkt, int) else None, repair=repair)
    if "wkt" in plan and not header.crs_declared:  # WKT in a plain column: its CRS named by the user or the column
        crs = wkt_column_crs(columns, plan, srid, report)
        source_crs = crs.srs.ExportToWkt(["FORMAT=WKT2_2019"]) if crs.epsg != STORAGE_SRID else None
        geometry = GeometryPlan(geometry.wkt_column, source_crs, crs.label, repair)
    used = sorted({where for where in plan.values() if isinstance(where, int)})
    # the unused columns are read too (the first rows' values are the mapping form's samples)
    unused = [i for i, name in enumerate(columns) if name in report.unmapped_columns][:MAX_SAMPLED_COLUMNS]
    reader = Reader(plan, mapping, user=user, report=report)
    writer = Writer(user=user, report=report)
    total = header.total

    def beat() -> None:
        if progress:
            progress(report.features, total)

    rows: list[Row] = []
    for batch in source.rows(sorted(set(used) | set(unused)), geometry, beat=beat):
        if not report.columns:
            _describe_columns(report, columns, plan, batch, mapping)
        for raw in batch:
            row = reader.read(raw)
            if row is not None:
                rows.append(row)
        report.features = batch[-1].number if report.numbering == "feature" else report.features + len(batch)
        if len(rows) >= records.BATCH_SIZE:
            stage.add(writer.check(rows))
            rows = []
            reset_queries()  # with DEBUG on, Django keeps every SQL string: memory would grow with N
        beat()
    stage.add(writer.check(rows))
    writer.finish()
    if not report.columns:
        _describe_columns(report, columns, plan, [], mapping)
    apply_report(report, source.final)
    beat()


MAX_SAMPLED_COLUMNS = 60
SAMPLES = 5


def _describe_columns(
    report: ImportReport, columns: list[str], plan: dict[str, int | str], rows: list[RawRow], mapping: FieldMapping
) -> None:
    """The file's columns for the report (and the web page's mapping form): the field each gives (by the plan, else
    "" for a column Sipanah derives, None for an unused one) and up to SAMPLES distinct values of the first rows."""
    fed = {where: name for name, where in plan.items() if isinstance(where, int)}
    if not plan:  # refused before a plan: the columns the mapping and the known spellings did find
        found = {column: name for name, column in report.mapping.items()}
        fed = {i: found[column] for i, column in enumerate(columns) if column in found}
    for i, name in enumerate(columns):
        if not name:
            continue
        samples: list[str] = []
        for raw in rows:
            value = raw.values.get(i)
            text = "" if value is None else str(value).strip()[:60]
            if text and text not in samples:
                samples.append(text)
                if len(samples) >= SAMPLES:
                    break
        given = fed.get(i)
        if given is None and mapping.field_of(name) == "":
            given = ""
        report.columns.append({"name": name, "field": given, "samples": samples})


def _write(
    stage: StagedRows, report: ImportReport, *, user: User | None, progress: Callable[[int, int], None] | None,
    finish: Callable[[ImportReport], None] | None, started: float,
) -> None:  # fmt: skip
    """Write the checked rows in one transaction (with ``finish``'s record); a register changed meanwhile ends it
    with nothing written."""
    writer = Writer(user=user, report=report)
    written = 0
    growing = planner.GrowingTables(history_validity.GROWN_BY_BULK_WRITES)  # PostgreSQL: statistics kept current
    try:
        with transaction.atomic():
            with history_validity.deferred_recount():  # SpatiaLite: one recount of the as-of totals at the end
                for batch in stage:
                    writer.write(batch)
                    written += len(batch)
                    growing.wrote(len(batch))
                    reset_queries()
                    if progress:
                        progress(written, stage.rows)
            report.committed = True
            if finish is not None:
                report.seconds = round(time.monotonic() - started, 2)
                finish(report)
    except RegisterChanged as exc:
        report.add_error(0, "", str(exc))
        return
    except IntegrityError:
        # A key the check found free was taken by someone else meanwhile (kode barang/register, NIBAR).
        report.add_error(0, "", _(
            "The register changed while the file was being checked (an asset with one of its register numbers or "
            "NIBARs was added meanwhile); nothing was written. Run the import again."
        ))  # fmt: skip
        return
    if written >= ANALYZE_AFTER_ROWS:
        refresh_statistics()


# After a large import PostgreSQL's planner statistics describe the register before it (an empty one after a first
# import) until autovacuum's next analyze: meanwhile a page of the register list was planned as a sort of every row
# (0.5-1 s at 100k instead of < 1 ms through the index). The import refreshes them itself.
ANALYZE_AFTER_ROWS = 5000


def refresh_statistics() -> None:
    """ANALYZE the tables an import fills, once it has committed (PostgreSQL; a few hundred ms at 100k parcels)."""
    planner.analyze(history_validity.GROWN_BY_BULK_WRITES)


def format_report(report: ImportReport, *, max_lines: int = 50) -> str:
    """A plain-text summary for the command line."""
    lines = [
        _("File: %(file)s (%(format)s), layer %(layer)s, CRS %(crs)s")
        % {
            "file": report.source,
            "format": report.format or "?",
            "layer": report.layer or "-",
            "crs": report.crs or "-",
        }
    ]
    if report.layout:
        lines.append(report.layout)
    if report.mapping:
        lines.append(_("Columns used:"))
        lines += [f"  {column} -> {name}" for name, column in report.mapping.items()]
    if report.unmapped_columns:
        lines.append(_("Columns not used: %(columns)s") % {"columns": ", ".join(report.unmapped_columns)})
    lines += [f"! {w}" for w in report.warnings[:max_lines]]
    if len(report.warnings) > max_lines:
        lines.append(_("... and %(n)s more warnings") % {"n": len(report.warnings) - max_lines})

    lines += change_lines(report, max_lines=max_lines)
    if report.overlap_count:
        lines.append(_("Overlaps (%(n)s):") % {"n": report.overlap_count})
        lines += [f"! {report.place(o['n'])}: {overlap_message(o, report)}" for o in report.overlaps[:max_lines]]
        if report.overlap_count > len(report.overlaps[:max_lines]):
            lines.append(
                _("... and %(n)s more overlaps") % {"n": report.overlap_count - len(report.overlaps[:max_lines])}
            )
    lines += [f"{report.place(r.feature)}: {r.message}" for r in report.repairs[:max_lines]]
    for issue in report.errors[:max_lines]:
        where = report.place(issue.feature) if issue.feature else _("File")
        lines.append(f"{where}{' [' + issue.field + ']' if issue.field else ''}: {issue.message}")
    if report.error_count > max_lines:
        lines.append(_("... and %(n)s more errors") % {"n": report.error_count - max_lines})
    summary = {
        "features": report.features,
        "created": report.created,
        "updated": report.updated,
        "nogeom": report.without_geometry,
        "errors": report.error_count,
        "seconds": report.seconds,
        "unchanged": report.unchanged,
        "overlaps": report.overlap_count,
    }
    if report.committed:
        lines.append(_("Imported: %(features)s features, %(created)s created, %(updated)s updated, %(unchanged)s "
                       "unchanged (%(nogeom)s without geometry, %(overlaps)s overlaps) in %(seconds)s s.")
                     % summary)  # fmt: skip
    elif report.dry_run and report.ok:
        lines.append(_("Dry run: %(features)s features would give %(created)s new and %(updated)s updated assets, "
                       "%(unchanged)s unchanged (%(nogeom)s without geometry, %(overlaps)s overlaps); nothing was "
                       "written.") % summary)  # fmt: skip
    else:
        lines.append(_("Nothing was imported: %(errors)s error(s) in %(features)s features.") % summary)
    return "\n".join(lines)
