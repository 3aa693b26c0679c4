"""Audit exports: CSV per finding, an XLSX workbook (a summary sheet and a sheet per finding) and the PDF
audit report. openpyxl's write_only mode streams rows to disk so memory stays flat in the number of rows."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook

from assets.audit.findings import FINDINGS, FindingOptions, FindingRow, Names
from assets.lib import cells, formats
from assets.lib.printing import pdf_from_template
from assets.register.reads import empty_before


def finding_header(slug: str) -> list[str]:
    """The columns of a finding's table and files. No internal id: kode barang and register number identify an
    asset (unique together), as on the KIB."""
    spec = FINDINGS[slug]
    return [
        _("Kode barang"),
        _("Register number"),
        _("Name"),
        _("Agency"),
        _("Kecamatan"),
        _("Kelurahan"),
        _("Finding"),
        *[str(label) for _key, label in spec.columns],
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, dt.date | int | float) or value is None:
        return value
    if hasattr(value, "as_tuple"):  # Decimal: a number in the sheet
        return float(value)
    return str(value)


def finding_rows(slug: str, rows: Iterable[FindingRow], n: Names) -> Iterator[list[Any]]:
    keys = [key for key, _label in FINDINGS[slug].columns]
    for row in rows:
        a = row.asset
        yield [
            a.kode_barang,
            a.nomor_register,
            a.nama_barang,
            n.agency(a.agency_id),
            n.area(a.kecamatan_id),
            n.area(a.kelurahan_id),
            row.detail,
            *[_cell(row.values.get(key)) for key in keys],
        ]


# How a value column reads on a page or in the PDF (the CSV and XLSX keep plain numbers and dates).
_MONEY = frozenset({"nilai"})
_AREAS = frozenset({"luas_kib", "luas_sertifikat", "luas_gis", "diff_m2", "overlap_m2", "outside_m2"})
_PERCENT = frozenset({"diff_pct"})


@dataclass(frozen=True)
class Cell:
    text: str
    num: bool = False  # right-aligned


def _display(key: str, value: Any) -> Cell:
    if value is None or value == "":
        return Cell(formats.EMPTY)
    if key in _MONEY:
        return Cell(formats.rupiah(value), True)
    if key in _AREAS:
        return Cell(formats.number(value, 2), True)
    if key in _PERCENT:
        return Cell(formats.number(value, 1), True)
    if isinstance(value, dt.date):
        return Cell(date_format(value, "j M Y"), True)
    if isinstance(value, int | float) or hasattr(value, "as_tuple"):
        return Cell(formats.number(value), True)
    return Cell(str(value))


# The findings whose "Finding" text only repeats their value columns: the page and the PDF leave it out (room for
# the rest); the CSV and XLSX keep it.
TABLES_WITHOUT_DETAIL = frozenset(FINDINGS) - {"outside"}


def display_rows(slug: str, rows: Iterable[FindingRow], n: Names, *, detail: bool = True) -> Iterator[list[Cell]]:
    """A finding's rows as read on the page and in the PDF: the columns of display_header, numbers in the
    active language's format, rupiah and dates in words."""
    keys = [key for key, _label in FINDINGS[slug].columns]
    for row in rows:
        a = row.asset
        fixed = [a.kode_barang, a.nomor_register, a.nama_barang, n.agency(a.agency_id), n.area(a.kecamatan_id),
                 n.area(a.kelurahan_id)] + ([row.detail] if detail else [])  # fmt: skip
        yield [Cell(str(v)) for v in fixed] + [_display(key, row.values.get(key)) for key in keys]


def display_header(slug: str, *, detail: bool = True) -> list[Cell]:
    """finding_header as (label, right-aligned) cells, without the "Finding" column when ``detail`` is off."""
    keys = [key for key, _label in FINDINGS[slug].columns]
    header = finding_header(slug)
    numeric = [False] * 7 + [key in _MONEY | _AREAS | _PERCENT or key == "days" for key in keys]
    cells = [Cell(label, num) for label, num in zip(header, numeric, strict=True)]
    return cells if detail else cells[:6] + cells[7:]


def csv_lines(slug: str, rows: Iterable[FindingRow], n: Names) -> Iterator[str]:
    yield "\ufeff" + cells.csv_line(finding_header(slug))
    for values in finding_rows(slug, rows, n):
        yield cells.csv_line(values)


@dataclass(frozen=True)
class SummaryRow:
    slug: str
    title: str
    rows: int
    assets: int  # distinct assets
    luas_kib_m2: Decimal  # of the distinct assets
    nilai: Decimal  # of the distinct assets

    def __iter__(self) -> Iterator[Any]:  # a summary sheet's row
        return iter((self.title, self.rows, self.assets, float(self.luas_kib_m2), float(self.nilai)))


def summary_rows(results: dict[str, list[FindingRow]]) -> list[SummaryRow]:
    """Per finding: rows, distinct assets, and their KIB area and acquisition value (each asset counted once)."""
    summary = []
    for slug, rows in results.items():
        assets = {r.asset.id: r.asset for r in rows}.values()
        summary.append(
            SummaryRow(
                slug,
                str(FINDINGS[slug].title),
                len(rows),
                len(assets),
                sum((a.luas_kib_m2 for a in assets), Decimal(0)),
                sum((a.nilai_perolehan for a in assets), Decimal(0)),
            )
        )
    return summary


def write_xlsx(
    target: str | Path | IO[bytes],
    sheets: Sequence[tuple[str, Iterable[list[Any]], list[str]]],
    *,
    summary: Sequence[Iterable[Any]] | None = None,
    meta: Sequence[tuple[str, str]] = (),
) -> None:
    """Write a workbook: a summary sheet first (when given), then (title, rows, header) sheets, streamed."""
    wb = Workbook(write_only=True)
    if summary is not None:
        ws = wb.create_sheet(_("Summary")[:31])
        for key, value in meta:
            ws.append(cells.xlsx_row(ws, [key, value]))
        ws.append(cells.xlsx_row(ws, []))
        ws.append(cells.xlsx_row(ws, [_("Finding"), _("Rows"), _("Assets"), _("KIB area (m²)"), _("Value (Rp)")]))
        for row in summary:
            ws.append(cells.xlsx_row(ws, list(row)))
    used: set[str] = set()
    for i, (title, rows, header) in enumerate(sheets, start=1):
        name = _safe_sheet_title(title)
        if name.lower() in used:  # Excel sheet names are unique, case-insensitively, within 31 characters
            name = f"{name[:27]} ({i})"
        used.add(name.lower())
        ws = wb.create_sheet(name)
        ws.append(cells.xlsx_row(ws, list(header)))
        for values in rows:
            ws.append(cells.xlsx_row(ws, list(values)))
    wb.save(target)


def _safe_sheet_title(title: str) -> str:
    for ch in "[]:*?/\\":
        title = title.replace(ch, " ")
    return title[:31]


def report_meta(
    *,
    user: Any,
    as_of: dt.date | None,
    generated: dt.datetime | None = None,
    options: FindingOptions | None = None,
) -> list[tuple[str, str]]:
    """The report's header lines (also the XLSX summary sheet's): what, as of when, by whom, with what parameters."""
    generated = generated or timezone.localtime()
    meta = [
        (_("Report"), _("Sipanah land asset audit findings")),
        (_("Register as of"), date_format(as_of, "j F Y") if as_of else _("now (current register)")),
        (_("Generated at"), date_format(timezone.localtime(generated), "j F Y H:i")),
        (_("Generated by"), user.get_full_name() or user.get_username()),
    ]
    note = empty_before(as_of)
    if note:  # as of a date before anything was recorded: why the report finds nothing
        meta.append((_("Note"), note))
    for parameter in (options or FindingOptions()).parameters():
        meta.append((str(parameter.label), str(parameter.value)))
    return meta


def xlsx_file(results: dict[str, list[FindingRow]], n: Names, meta: list[tuple[str, str]]) -> IO[bytes]:
    """The findings workbook in a temporary file (rewound), so a large workbook never sits in memory."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it
    sheets = [
        (str(FINDINGS[slug].title), finding_rows(slug, rows, n), finding_header(slug)) for slug, rows in results.items()
    ]
    write_xlsx(target, sheets, summary=summary_rows(results), meta=meta)
    target.seek(0)
    return target


def pdf_bytes(context: dict[str, Any]) -> bytes:
    """The PDF audit report (print/base.html through lib.printing): summary, parameters, signatures, appendices."""
    return pdf_from_template("audit/report_pdf.html", context)
