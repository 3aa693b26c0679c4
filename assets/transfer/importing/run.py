"""One import, all or nothing: open the file, decide its CRS and columns, read, check and write batch by batch inside
ONE transaction, rolled back on any error or on a dry run; and the report as text for the command line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from django.db import reset_queries, transaction
from django.utils.translation import gettext as _

from assets.register import permissions
from assets.register.models import (
    User,
)
from assets.transfer.importing import records
from assets.transfer.importing.crs import resolve_crs, wkt_column_crs
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.mapping import FieldMapping, title_agency
from assets.transfer.importing.reader import Reader, Row
from assets.transfer.importing.report import ImportFileError, ImportReport
from assets.transfer.importing.source import open_printed_table, open_source
from assets.transfer.importing.writer import Writer

# Limits against hostile uploads. The CLI may raise them; the web upload uses these.


class _Rollback(Exception):
    pass


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
) -> ImportReport:
    """Import one file; all or nothing. Raises nothing for bad input: the report says what is wrong.

    ``limits`` default to settings.SIPANAH_IMPORT_LIMITS."""
    started = time.monotonic()
    report = ImportReport(dry_run=dry_run, source=path.name)
    if user is not None and not permissions.can_create_asset(user):
        report.add_error(0, "", _("Your role does not allow importing assets."))
        return report
    try:
        dataset, source_layer = open_source(
            path, layer_name=layer, report=report, limits=limits or ImportLimits.from_settings()
        )
        printed = None
        if report.format == "XLSX":
            printed = open_printed_table(path, source_layer, mapping=mapping or FieldMapping(), report=report)
        if printed is not None:  # the sheet read again, every row a feature; the columns named by its header
            dataset, source_layer = printed.dataset, printed.layer
        crs = resolve_crs(source_layer, srid, report)
        definition = source_layer.GetLayerDefn()
        columns = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
        if printed is not None:  # GDAL names these columns Field1, Field2 …: their labels come from the header
            columns = printed.columns
            mapping = title_agency(printed, mapping or FieldMapping(), columns, report)
        own_agency_only = user is not None and not permissions.can_edit_all(user)  # the officer's agency is implied
        plan = (mapping or FieldMapping()).resolve(columns, report, optional=("agency",) if own_agency_only else ())
        if "wkt" in plan and crs.srs is None:
            crs = wkt_column_crs(columns, plan, srid, report)
        total = source_layer.GetFeatureCount()
        reader = Reader(source_layer, crs, plan, mapping or FieldMapping(), repair=repair, user=user, report=report)
        try:
            with transaction.atomic():
                writer = Writer(user=user, report=report, write=not dry_run)
                rows: list[Row] = []
                used = sorted({where for where in plan.values() if isinstance(where, int)})
                if printed is not None:  # (spreadsheet row, record) for the rows of the table only
                    numbered = printed.records(records.ogr_features(source_layer, report), used, report)
                else:
                    stream = records.arrow_records(source_layer, used, report)
                    numbered = enumerate(stream or records.ogr_records(source_layer, used, report), start=1)
                for count, (number, record) in enumerate(numbered, start=1):
                    row = reader.read(record, number)
                    if row is not None:
                        rows.append(row)
                    if len(rows) >= records.BATCH_SIZE:
                        writer.batch(rows)
                        rows = []
                        reset_queries()  # with DEBUG on, Django keeps every SQL string: memory would grow with N
                    if progress and count % 1000 == 0:
                        progress(count, total)
                    report.features = count
                writer.batch(rows)
                if progress:
                    progress(report.features, total)
                if report.features == 0:
                    report.add_error(0, "", _("The layer %(layer)s holds no feature.") % {"layer": report.layer})
                if dry_run or not report.ok:
                    raise _Rollback
                report.committed = True
        except _Rollback:
            pass
        dataset = None  # noqa: F841 - closes the file
    except ImportFileError as exc:
        report.add_error(0, "", str(exc))
    except RuntimeError as exc:
        if type(exc) is not RuntimeError:  # GDAL raises plain RuntimeError; its subclasses are Python's own bugs
            raise
        # A GDAL error the steps above did not word (a damaged XLSX: "XML parsing of ... failed"): the file as a
        # whole is refused; raised inside the transaction, so nothing was written.
        report.add_error(0, "", _("The file could not be read: %(error)s") % {"error": str(exc).strip()})
    report.seconds = round(time.monotonic() - started, 2)
    return report


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
    }
    if report.committed:
        lines.append(_("Imported: %(features)s features, %(created)s created, %(updated)s updated "
                       "(%(nogeom)s without geometry) in %(seconds)s s.") % summary)  # fmt: skip
    elif report.dry_run and report.ok:
        lines.append(_("Dry run: %(features)s features would give %(created)s new and %(updated)s updated assets "
                       "(%(nogeom)s without geometry); nothing was written.") % summary)  # fmt: skip
    else:
        lines.append(_("Nothing was imported: %(errors)s error(s) in %(features)s features.") % summary)
    return "\n".join(lines)
