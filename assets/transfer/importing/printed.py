"""Printed KIB spreadsheets (SIMDA BMD, e-BMD): find the table under the title rows, read its rows only.

SIMDA BMD, e-BMD and the regional apps print a KIB A as a report: title rows (KARTU INVENTARIS BARANG (KIB) A,
TANAH, Provinsi, Kabupaten/Kota, Unit Organisasi, UPB, No. Kode Lokasi), a header of up to three rows with merged
cells (Nomor over Kode Barang | Register; Status Tanah over Hak | Sertifikat; Sertifikat over Tanggal | Nomor),
often a row of column numbers (1, 2 … 14), the data, then a footer (Jumlah, the signature block).

GDAL's XLSX driver takes row 1 as the header, or, opened with ``HEADERS=DISABLE``, gives every row as a feature
whose FID is the row's number in the sheet. So the reading path stays GDAL's: :func:`find_table` looks at the
first rows of that view for the header, and :meth:`PrintedTable.records` hands the importer the data rows only,
each with its spreadsheet row (errors name the row the user sees), stopping at the footer. No copy of the file
is written and nothing is held per row.

Column names are recognised by the importer's own table (``FieldMapping.field_of``, over the KIB A table's
spellings): a header cell of a lower level is read with the labels above it, the longest combination the table
knows winning ("Status Tanah" / "Sertifikat" / "Nomor" → "Sertifikat Nomor" → nomor_sertifikat).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from osgeo import gdal

from assets.register.kib import normalise_name
from assets.transfer.importing.records import Record
from assets.transfer.importing.report import ImportFileError, ImportReport

SCAN_ROWS = 30  # a spreadsheet's header is looked for in these first rows
MAX_HEADER_ROWS = 3  # levels of a merged header (KIB A: Status Tanah / Sertifikat / Tanggal)
MIN_FIELDS = 3  # known columns a row needs to count as the header (a title line names at most one)
MAX_LISTED_ROWS = 5  # skipped rows named one by one in the report

_TOTAL = re.compile(r"^(jumlah|total|sub_?total|grand_total)(_|$)")
_SIGNATURE = re.compile(
    r"^(mengetahui|menyetujui|diketahui|kepala|nip|pengurus_barang|penyimpan_barang|pengguna_barang|kuasa_pengguna"
    r"|pembantu_pengurus|a_n|an_kepala|sekretaris)(_|$)"
)
_CODE = re.compile(r"^\d{1,2}(\.\d{1,3}){2,}$")  # a kode barang: 1.3.1.01.01.01.001, or the old 01.11.04.23
_EMPTY_MARKS = {"-", "--", "–", "—"}  # what a printed KIB puts in an empty cell (no certificate: Hak "-")
_GDAL_NAME = re.compile(r"Field\d+")  # the name GDAL gives a column whose header cell is empty


@dataclass
class PrintedTable:
    """The table of a printed sheet, read through GDAL; rows are the spreadsheet's own numbers (from 1)."""

    dataset: Any  # the GDAL dataset opened with HEADERS=DISABLE (kept open while the layer is read)
    layer: Any
    sheet: str
    header: tuple[int, int]  # first and last header row
    columns: list[str]  # one label per field of the layer ("" for a column without a header)
    fields: list[str | None]  # the KIB field each column gives, by its label
    title: list[tuple[int, str]]  # the title lines above the header: (row, text)
    number_row: int | None = None
    data: tuple[int, int, int] | None = None  # first and last data row, number of data rows
    blank_rows: int = 0
    skipped: list[int] = field(default_factory=list)  # subtotal rows and headers repeated at page breaks
    footer: tuple[int, str] | None = None  # the first footer row and its text

    def describe(self) -> str:
        """Which rows were read as what, for the import report."""
        first, last = self.header
        header = self._header_text()
        if self.data is None:
            return _("Sheet %(sheet)s: %(header)s.") % {"sheet": self.sheet, "header": header}
        start, end, count = self.data
        rows = "-".join(dict.fromkeys(number_format(n, force_grouping=True) for n in (start, end)))
        data = ngettext("data on row %(rows)s (%(count)s row)", "data on rows %(rows)s (%(count)s rows)", count) % {
            "rows": rows,
            "count": number_format(count, force_grouping=True),
        }
        skipped = []
        if first > 1:
            skipped.append(_("the title rows 1-%(last)s") % {"last": first - 1} if first > 2 else _("the title row 1"))
        if self.number_row:
            skipped.append(_("the column-number row %(row)s") % {"row": self.number_row})
        if self.skipped:
            listed = ", ".join(str(n) for n in self.skipped[:MAX_LISTED_ROWS])
            if len(self.skipped) > MAX_LISTED_ROWS:
                listed += ", …"
            skipped.append(_("rows that are no asset (subtotals, repeated headers) %(rows)s") % {"rows": listed})
        if self.blank_rows:
            skipped.append(ngettext("%(n)s blank row", "%(n)s blank rows", self.blank_rows) % {"n": self.blank_rows})
        if self.footer:
            row, text = self.footer
            skipped.append(_("the footer from row %(row)s (%(text)s)") % {"row": row, "text": text})
        message = _("Sheet %(sheet)s: %(header)s, %(data)s.") % {"sheet": self.sheet, "header": header, "data": data}
        if skipped:
            message += " " + _("Skipped: %(skipped)s.") % {"skipped": "; ".join(skipped)}
        return message

    def records(self, features: Iterator[Any], used: list[int], report: ImportReport) -> Iterator[tuple[int, Record]]:
        """The data rows as (spreadsheet row, record), from ``features`` (the layer's, from the top).

        Skipped: everything down to the header, the column-number row, blank rows, subtotal rows (Jumlah, Total,
        or a line of one or two cells without a kode barang) and headers printed again at page breaks. The table
        ends at the footer: the subtotal under the last data row, the signature block (Mengetahui, Kepala …,
        NIP …) or, after a blank row, a line of one or two cells. A sheet with no data row, or with an asset below
        the footer, is refused. ``report.layout`` says what was read.
        """
        keep = [c for c, label in enumerate(self.columns) if label]
        kode = next((c for c in keep if self.fields[c] == "kode_barang"), None)
        header_cells = set()
        after_gap = False  # after a blank or a subtotal row: a sparse row there is signature text, not data
        total: tuple[int, str] | None = None  # the first Jumlah/Total row since the last data row: maybe the footer
        blanks = 0  # blank rows since the last data row (counted when data follows them)
        first = last = count = 0
        number = 0
        for feature in features:
            if isinstance(feature, RuntimeError):  # GDAL could not read it: the importer reports it by number
                number += 1
                yield number, Record({}, error=str(feature).strip())
                continue
            number = feature.GetFID()
            row = _values(feature, len(self.columns))
            if number <= self.header[1]:
                if number >= self.header[0]:
                    header_cells.add(tuple(_label_text(row[c]) for c in keep))
                continue
            cells = [_cell(row[c]) for c in keep]
            filled = sum(value is not None for value in cells)
            if not filled:
                blanks += 1
                after_gap = True
                continue
            text = _first_text(row)
            if not count and self.number_row is None and not self.skipped and _is_number_row(cells):
                self.number_row = number
                continue
            # A line of one or two cells is no asset (unless it has a kode barang: then the importer says what
            # is missing): after a blank row it is signature text, else a subtotal without its label
            sparse = filled < MIN_FIELDS and not (kode is not None and _CODE.match(_label_text(row[kode])))
            if _SIGNATURE.match(text) or (sparse and after_gap and not _TOTAL.match(text)):
                self.footer = (number, _first_label(row))
                break
            if _TOTAL.match(text) or sparse:
                self.skipped.append(number)
                total = total or (number, _first_label(row))
                after_gap = True
                continue
            if tuple(_label_text(v) for v in cells) in header_cells or (count and _is_number_row(cells)):
                self.skipped.append(number)  # the header printed again at a page break
                continue
            if count:
                self.blank_rows += blanks
            after_gap, total, blanks = False, None, 0
            first, last, count = first or number, number, count + 1
            values = dict(zip(keep, cells, strict=True))
            yield number, Record({where: values.get(where) for where in used}, feature=feature)
        if total is not None:  # the Jumlah row under the last data row starts the footer (not a page subtotal)
            self.skipped = [n for n in self.skipped if n < total[0]]
            self.footer = total
        if count:
            self.data = (first, last, count)
        report.layout = self.describe()
        if not count:
            raise ImportFileError(self._no_data())
        if self.footer is not None and kode is not None:
            self._refuse_data_below_footer(features, kode)

    def _header_text(self) -> str:
        first, last = self.header
        if first == last:
            return _("header on row %(row)s") % {"row": first}
        return _("header on rows %(first)s-%(last)s") % {"first": first, "last": last}

    def _no_data(self) -> str:
        where = (
            _("the footer starts on row %(row)s (%(text)s)") % {"row": self.footer[0], "text": self.footer[1]}
            if self.footer
            else _("the sheet ends there")
        )
        return _("The sheet %(sheet)s has no data rows under its %(header)s (%(columns)s): %(where)s.") % {
            "sheet": self.sheet,
            "header": self._header_text(),
            "columns": ", ".join(c for c in self.columns if c),
            "where": where,
        }

    def _refuse_data_below_footer(self, features: Iterator[Any], kode: int) -> None:
        """Rows after the signature block with a kode barang would be lost silently: refuse the file instead."""
        assert self.footer is not None
        for feature in features:
            if isinstance(feature, RuntimeError) or not feature.IsFieldSetAndNotNull(kode):
                continue
            value = _label_text(feature.GetFieldAsString(kode))
            if _CODE.match(value):
                raise ImportFileError(
                    _("Row %(row)s holds an asset (kode barang %(kode)s) below the footer that starts on row "
                      "%(footer)s (%(text)s): the table must end before the signature block; move that row up.")
                    % {"row": feature.GetFID(), "kode": value, "footer": self.footer[0], "text": self.footer[1]}
                )  # fmt: skip


def _label_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _header_labels(rows: Sequence[Sequence[Any]], width: int) -> list[list[str]]:
    """Per column, the labels of its header rows from the top, a merged cell's label spread over its columns.

    GDAL gives no merged ranges, only the label in the first cell of each, so a merge is recognised by its
    shape: a label followed by empty cells, over columns the rows below go on naming, spans those columns (Nomor
    over Kode Barang | Register), never past the group above it. A label with nothing below it (No, Luas: merged
    downwards) spans no other column. Exports that repeat the label in every cell of the merge give the same.
    """
    grid = [[_label_text(row[c]) if c < len(row) else "" for c in range(width)] for row in rows]
    depth = len(grid)
    below = [[any(grid[k][c] for k in range(level + 1, depth)) for c in range(width)] for level in range(depth)]
    origin = [[-1] * width for _level in range(depth)]  # the column whose label covers this cell
    for level in range(depth):
        for c in range(width):
            if grid[level][c]:
                origin[level][c] = c
            elif (
                c
                and origin[level][c - 1] >= 0
                and below[level][c]
                and below[level][origin[level][c - 1]]
                and (level == 0 or origin[level - 1][c] == origin[level - 1][c - 1])
            ):
                origin[level][c] = origin[level][c - 1]
    labels = []
    for c in range(width):
        levels: list[str] = []
        for level in range(depth):
            if origin[level][c] >= 0 and (not levels or levels[-1] != grid[level][origin[level][c]]):
                levels.append(grid[level][origin[level][c]])
        labels.append(levels)
    return labels


def _column_label(levels: list[str], field_of: Callable[[str], str | None]) -> tuple[str, str | None]:
    """The label of a column and the field it gives: the longest tail of its header levels the table knows."""
    for i in range(len(levels)):
        label = " ".join(levels[i:])
        found = field_of(label)
        if found or (found == "" and i == 0):  # "Sertifikat" / "No" is not the running number "No"
            return label, found
    return " ".join(levels), None


@dataclass
class _Header:
    start: int  # index in the scanned rows, from 0
    depth: int
    labels: list[tuple[str, str | None]]  # per column: label, field


def _block(rows: list[Sequence[Any]], start: int, depth: int, field_of: Callable[[str], str | None]) -> _Header:
    block = rows[start : start + depth]
    width = max(len(row) for row in block)
    return _Header(start, depth, [_column_label(levels, field_of) for levels in _header_labels(block, width)])


def _known(header: _Header) -> int:
    return len({name for _label, name in header.labels if name})


def _find_header(rows: list[Sequence[Any]], field_of: Callable[[str], str | None]) -> _Header | None:
    """The block of one to three rows naming the most known fields; ties go to fewer rows, then to the first.

    A title line above the header or the first data row below it only spoils the labels it is read with, so the
    best block is the header itself. A top row that names the columns by itself, as an export that fills every
    cell of a merge does (Nomor | Nomor over Kode Barang | Register), belongs to the header though it adds no field.
    """
    best: tuple[tuple[int, int, int], _Header] | None = None
    for start in range(len(rows)):
        for depth in range(1, MAX_HEADER_ROWS + 1):
            if start + depth > len(rows) or not any(rows[start + depth - 1]):
                break
            header = _block(rows, start, depth, field_of)
            key = (_known(header), -depth, -start)
            if key[0] >= MIN_FIELDS and (best is None or key > best[0]):
                best = (key, header)
    if best is None:
        return None
    header = best[1]
    while header.start and header.depth < MAX_HEADER_ROWS and any(rows[header.start - 1]):
        above = _block(rows, header.start - 1, 1, field_of)
        wider = _block(rows, header.start - 1, header.depth + 1, field_of)
        if _known(above) < MIN_FIELDS or _known(wider) < _known(header):
            break
        header = wider
    return header


def _is_number_row(cells: list[Any]) -> bool:
    """A row of column numbers printed under the header: 1, 2, 3 … (or (1), (2) …), rising."""
    numbers = []
    for value in cells:
        text = _label_text(value).strip("()")
        if not text:
            continue
        if not text.isdigit():
            return False
        numbers.append(int(text))
    rising = all(b > a for a, b in zip(numbers, numbers[1:], strict=False))
    return rising and len(numbers) >= max(MIN_FIELDS, len(cells) // 2)


def _first_text(row: Sequence[Any]) -> str:
    """The first filled cell of the row, normalised, when it is text (where Jumlah, Mengetahui, NIP … stand)."""
    for value in row:
        if value is None or value == "":
            continue
        return normalise_name(value) if isinstance(value, str) else ""
    return ""


def _first_label(row: Sequence[Any]) -> str:
    return next((_label_text(v) for v in row if v is not None and v != ""), "")[:60]


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return None if not text or text in _EMPTY_MARKS else value
    return value


def _values(feature: Any, count: int) -> list[str | None]:
    return [feature.GetFieldAsString(i) if feature.IsFieldSetAndNotNull(i) else None for i in range(count)]


def _first_rows(layer: Any, limit: int) -> list[tuple[int, list[str | None]]]:
    """(FID, values as text) of the layer's first features; the layer is read from the top again afterwards."""
    count = layer.GetLayerDefn().GetFieldCount()
    layer.ResetReading()
    rows = []
    for feature in islice(iter(layer.GetNextFeature, None), limit):
        rows.append((feature.GetFID(), _values(feature, count)))
    layer.ResetReading()
    return rows


def _is_plain(layer: Any, field_of: Callable[[str], str | None]) -> bool | None:
    """On the layer as GDAL reads it (row 1 the header): True when row 1 is the whole header, None when no header
    is found at all (the importer then says which columns it looked for), False for a printed sheet."""
    definition = layer.GetLayerDefn()
    names = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    rows = _first_rows(layer, SCAN_ROWS + MAX_HEADER_ROWS - 1)
    if not rows or rows[0][0] != 2:  # GDAL did not take row 1 as the header (an empty row 1)
        return False
    header = _find_header([["" if _GDAL_NAME.fullmatch(n) else n for n in names], *(r for _n, r in rows)], field_of)
    if header is None:
        return None
    return header.start == 0 and header.depth == 1


def find_table(path: Path, layer: Any, field_of: Callable[[str], str | None]) -> PrintedTable | None:
    """The table of a printed sheet, or None for a plain one (the header in row 1, read by GDAL as it is) and for a
    sheet where no header is found in the first ``SCAN_ROWS`` rows.

    ``layer`` is the sheet as the importer opened it (row 1 the header): most sheets are plain, and that is seen
    from its first features without reading the file again.
    """
    if _is_plain(layer, field_of) is not False:
        return None
    options = ["HEADERS=DISABLE", "FIELD_TYPES=STRING"]  # every row a feature, FID its row; the cells as text
    dataset = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_READONLY, open_options=options)
    sheet = dataset.GetLayerByName(layer.GetName())
    head = _first_rows(sheet, SCAN_ROWS + MAX_HEADER_ROWS)
    header = _find_header([row for _n, row in head[:SCAN_ROWS]], field_of)
    if header is None or (head[header.start][0] == 1 and header.depth == 1):
        return None
    labels = header.labels + [("", None)] * (sheet.GetLayerDefn().GetFieldCount() - len(header.labels))
    title = [(n, text) for n, row in head[: header.start] if (text := " ".join(filter(None, map(_label_text, row))))]
    return PrintedTable(
        dataset=dataset,
        layer=sheet,
        sheet=sheet.GetName(),
        header=(head[header.start][0], head[header.start + header.depth - 1][0]),
        columns=[label for label, _name in labels],
        fields=[name for _label, name in labels],
        title=title,
    )
