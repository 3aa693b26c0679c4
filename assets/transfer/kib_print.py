"""The KIB A as an office files it: the printed Kartu Inventaris Barang A – Tanah of one agency or of the whole
city, as XLSX and as PDF.

The layout is the SIMDA BMD / e-BMD print the importer already reads (assets.transfer.importing.printed): title
rows (the government, the card's name, the city, the unit and the date), a header of three rows with merged
groups ("Nomor" over Kode Barang | Register, "Status Tanah" over Hak | Sertifikat, "Sertifikat" over
Tanggal | Nomor), the row of column numbers 1 … 14, the data, the totals and the signature block. The columns,
their order and their labels come from the KIB A table (assets.register.kib: ``PRINTED``, ``printed_header``);
the city's KIB adds the agency's code as a 15th column (the importer needs it per row there). Codes are printed
as the words of the model's choices (Hak Pakai, Pembelian), numbers and dates as Indonesian offices write them.

The card is an Indonesian form: its fixed texts are Indonesian whatever the user's language, and it is rendered
with Indonesian formats (``translation.override("id")``). Records come from the register's one read path
(``RegisterSelection.records``), so the card is the register live or as of a date.

PDF pages are laid out here, not by WeasyPrint: each page is its own table of rows whose printed height is
estimated from their text, so every page can carry its own total ("Jumlah halaman ini") and the running total
("Jumlah s.d. halaman ini").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone, translation
from django.utils.formats import date_format

from assets.lib import formats, printing
from assets.register import kib, place
from assets.register.models import Agency, AsalUsul, CertificateStatus, JenisHak, Signatory
from assets.register.reads import RegisterSelection
from assets.register.signatories import SignatureBlock, signature_block
from assets.transfer.exports import asset_values

LANGUAGE = "id"  # the card's language and formats
TITLE = "KARTU INVENTARIS BARANG (KIB) A – TANAH"
EMPTY = "-"  # what a printed KIB puts in an empty cell (the importer reads it as empty)
AGENCY_COLUMN = kib.BY_NAME["agency_code"]
NUMBER_FORMATS = {"luas_kib_m2": "#,##0.00", "nilai_perolehan": "#,##0.00"}  # the XLSX cells' formats
DATE_FORMAT_XLSX = "dd-mm-yyyy"
PAPER_SIZES = {"a4": 9, "f4": 14}  # Excel's paper codes: A4, Folio 8.5 × 13 in (F4)

# PDF layout (A4 landscape, millimetres): column widths and the figures the page planner works with.
PDF_WIDTHS = {
    "no": 7, "nama_barang": 28, "kode_barang": 26, "nomor_register": 12, "luas_kib_m2": 17, "tahun_perolehan": 15,
    "alamat": 30, "jenis_hak": 18, "tanggal_sertifikat": 16, "nomor_sertifikat": 19, "penggunaan": 19,
    "asal_usul": 18, "nilai_perolehan": 27, "keterangan": 21, "agency_code": 14,
}  # fmt: skip
CITY_NARROWER = {"nama_barang": 4, "alamat": 3, "penggunaan": 2, "keterangan": 5}  # room for the agency column
PAGE_HEIGHT_MM = 210 - 15 - 16  # the page's content box (print/base.html margins)
TITLE_MM = 32  # the title block on the first page
HEADER_MM = 18  # the table's header rows and the column-number row
TOTALS_MM = 9  # the two total rows of every page
END_MM = 50  # the last page: the certificate summary and the signature block
SAFETY_MM = 5
FONT_PT = 6.5  # the cells' font size (print/kib_a.html)
MM_PER_PT = 25.4 / 72
CELL_PADDING_MM = 2.2  # a cell's padding and borders, left and right
NARROW, SEMI_NARROW, WIDE = " ijlI.,:;'|!", "frt-()/[]", "mwMW"
LINE_MM = 2.75
ROW_PADDING_MM = 1.5
PDF_RUN_PAGES = 20  # pages rendered by WeasyPrint at a time (memory), then joined


@dataclass(frozen=True)
class PrintedRow:
    number: int
    values: dict[str, Any]  # per column name, the value as the XLSX cell takes it (Decimal, date, text)
    texts: dict[str, str]  # per column name, the text the PDF prints
    luas: Decimal
    nilai: Decimal
    status: str  # the asset's certificate status (CertificateStatus)


@dataclass(frozen=True)
class Page:
    rows: list[PrintedRow]
    luas: Decimal  # this page's totals
    nilai: Decimal
    luas_to_date: Decimal  # up to and including this page
    nilai_to_date: Decimal
    first: bool
    last: bool


@dataclass
class KibA:
    """One printed KIB A: whose (``agency``, None for the city), as of which day, its rows and who signs."""

    agency: Agency | None
    day: dt.date
    as_of: bool  # the register as of ``day`` (else: live, printed on ``day``)
    rows: list[PrintedRow]
    signatures: SignatureBlock

    @property
    def columns(self) -> tuple[kib.Column, ...]:
        return kib.PRINTED + ((AGENCY_COLUMN,) if self.agency is None else ())

    @property
    def luas(self) -> Decimal:
        return sum((row.luas for row in self.rows), Decimal(0))

    @property
    def nilai(self) -> Decimal:
        return sum((row.nilai for row in self.rows), Decimal(0))

    @property
    def unit(self) -> str:
        if self.agency is None:
            return "SELURUH PENGGUNA BARANG"
        return f"{self.agency.code} - {self.agency.name}"

    @property
    def day_text(self) -> str:
        with translation.override(LANGUAGE):
            return date_format(self.day, "j F Y")

    def status_counts(self) -> list[tuple[str, int]]:
        """(status as a word, count) for each certificate status, in the model's order."""
        with translation.override(LANGUAGE):
            return [
                (str(label), sum(1 for row in self.rows if row.status == value))
                for value, label in CertificateStatus.choices
            ]

    def file_stem(self) -> str:
        who = self.agency.code if self.agency else "kota"
        return f"kib-a-{who}-{'per-' if self.as_of else ''}{self.day:%Y%m%d}"


def build(selection: RegisterSelection, agency: Agency | None) -> KibA:
    """The KIB A of ``selection`` (the caller narrows it to ``agency``; None: the whole city)."""
    day = selection.as_of or timezone.localdate()
    rows = list(_rows(selection.records()))
    if agency is not None:
        roles = [Signatory.Role.PENGGUNA_BARANG, Signatory.Role.PENGURUS_BARANG]
        captions = ["Mengetahui, Pengguna Barang", "Pengurus Barang"]
    else:
        roles = [Signatory.Role.KEPALA_BPKAD, Signatory.Role.PENGURUS_BARANG_PENGELOLA]
        captions = ["Mengetahui, Kepala BPKAD", "Pengurus Barang Pengelola"]
    with translation.override(LANGUAGE):
        block = signature_block(roles, agency=agency, on=day)
    slots = tuple(
        dataclasses.replace(slot, caption=caption, title="" if slot.title == caption else slot.title)
        for slot, caption in zip(block.slots, captions, strict=True)
    )
    return KibA(agency, day, selection.as_of is not None, rows, dataclasses.replace(block, slots=slots))


def _rows(records: Iterable[Any]) -> Iterable[PrintedRow]:
    with translation.override(LANGUAGE):
        hak = {value: str(label) for value, label in JenisHak.choices}
        asal = {value: str(label) for value, label in AsalUsul.choices}
        for number, record in enumerate(records, start=1):
            raw = asset_values(record)
            values: dict[str, Any] = {}
            texts: dict[str, str] = {}
            for column in (*kib.PRINTED, AGENCY_COLUMN):
                value = raw.get(column.name)
                if column.name == "jenis_hak":
                    value = hak.get(value, value) if value else None
                elif column.name == "asal_usul":
                    value = asal.get(value, value)
                elif column.name in NUMBER_FORMATS and value is not None:
                    value = Decimal(str(value))
                values[column.name] = value
                texts[column.name] = _text(column, value)
            yield PrintedRow(
                number=number,
                values=values,
                texts={"no": str(number), **texts},
                luas=values["luas_kib_m2"] or Decimal(0),
                nilai=values["nilai_perolehan"] or Decimal(0),
                status=raw.get("status_sertifikat") or CertificateStatus.BELUM,
            )


def _text(column: kib.Column, value: Any) -> str:
    """A cell as the PDF prints it (in the card's language: call under ``translation.override``)."""
    if value is None or value == "":
        return EMPTY if column.name in ("jenis_hak", "tanggal_sertifikat", "nomor_sertifikat") else ""
    if column.name in NUMBER_FORMATS:
        return formats.number(value, 2)
    if isinstance(value, dt.date):
        return date_format(value, "d-m-Y")
    return str(value)


# --- PDF ------------------------------------------------------------------------------------------------------------


def pdf_widths(kib_a: KibA) -> list[tuple[str, float]]:
    """(column name, width in mm) of the PDF's columns, "no" first."""
    names = ["no", *(c.name for c in kib_a.columns)]
    narrower = CITY_NARROWER if kib_a.agency is None else {}
    return [(name, PDF_WIDTHS[name] - narrower.get(name, 0)) for name in names]


def _em(char: str) -> float:
    """A character's advance in DejaVu Sans, in em, rounded up by class (capitals are wider than small letters:
    a register written in capitals takes more lines)."""
    if char in NARROW:
        return 0.32
    if char in SEMI_NARROW:
        return 0.42
    if char in WIDE:
        return 0.98
    if char.isupper():
        return 0.74
    if char.isdigit():
        return 0.64
    if char.islower():
        return 0.62
    return 0.72


def _lines(text: str, width_mm: float) -> int:
    """The lines ``text`` takes in a cell ``width_mm`` wide (its text box), wrapped at spaces as the PDF wraps it, a
    word wider than the line broken within."""
    em_mm = FONT_PT * MM_PER_PT
    space = _em(" ") * em_mm
    lines, used = 1, 0.0
    for word in text.split():
        size = sum(_em(c) for c in word) * em_mm
        if used and used + space + size > width_mm:
            lines, used = lines + 1, 0.0
        if used:
            used += space + size
        else:
            while size > width_mm:  # a word wider than the line: broken within (overflow-wrap)
                lines, size = lines + 1, size - width_mm
            used = size
    return lines


def _row_height(row: PrintedRow, widths: list[tuple[str, float]]) -> float:
    lines = 1
    for name, width in widths:
        lines = max(lines, _lines(row.texts.get(name, ""), width - CELL_PADDING_MM))
    return lines * LINE_MM + ROW_PADDING_MM


def paginate(kib_a: KibA) -> list[Page]:
    """The rows in pages: as many as fit each page by their estimated height, the first page below the title; the
    signature block follows the last page's rows (when they leave no room for it, the last row goes with it to a
    page of their own: a signature never stands alone)."""
    widths = pdf_widths(kib_a)
    chunks: list[list[PrintedRow]] = []
    chunk: list[PrintedRow] = []
    room = PAGE_HEIGHT_MM - TITLE_MM - HEADER_MM - TOTALS_MM - SAFETY_MM
    for row in kib_a.rows:
        height = _row_height(row, widths)
        if chunk and height > room:
            chunks.append(chunk)
            chunk, room = [], PAGE_HEIGHT_MM - HEADER_MM - TOTALS_MM - SAFETY_MM
        chunk.append(row)
        room -= height
    if room < END_MM and len(chunk) > 1:  # the signature block would stand alone on a page: a row goes with it
        chunks.append(chunk[:-1])
        chunk = chunk[-1:]
    chunks.append(chunk)  # the last page (empty when there is no row at all: the card still prints, with zeros)
    pages = []
    luas_to_date = nilai_to_date = Decimal(0)
    for i, rows in enumerate(chunks):
        luas = sum((r.luas for r in rows), Decimal(0))
        nilai = sum((r.nilai for r in rows), Decimal(0))
        luas_to_date += luas
        nilai_to_date += nilai
        pages.append(Page(rows, luas, nilai, luas_to_date, nilai_to_date, i == 0, i == len(chunks) - 1))
    return pages


def pdf(kib_a: KibA) -> bytes:
    """The card as a PDF (A4 landscape, print/base.html).

    WeasyPrint holds every page's layout until it writes the file (about 1 GB for the 183 pages of the demo
    city), so the pages are rendered in runs of ``PDF_RUN_PAGES`` and the runs joined with pypdf: memory stays
    that of one run. Each page prints its own number ("Halaman 3 dari 183", a running element of the page
    footer), which a run's own page counter could not."""
    widths = pdf_widths(kib_a)
    total = sum(width for _name, width in widths)
    columns = []
    for name, width in widths:
        column = kib.BY_NAME.get(name)
        columns.append(
            {
                "name": name,
                "width": f"{100 * width / total:.2f}%",
                "num": name in NUMBER_FORMATS or name in ("no", "tahun_perolehan"),
                "header": kib.printed_header(column) if column else ("No",),
            }
        )
    names = [c["name"] for c in columns]
    with translation.override(LANGUAGE):
        pages = paginate(kib_a)
        context = {
            "kib": kib_a,
            "city": place.city(),
            "title": TITLE,
            "header_rows": _header_rows([c["header"] for c in columns]),
            "columns": columns,
            "luas": formats.number(kib_a.luas, 2),
            "nilai": formats.number(kib_a.nilai, 2),
            "count": formats.number(len(kib_a.rows)),
            "statuses": [(label, formats.number(n)) for label, n in kib_a.status_counts()],
            "totals_span": names.index("luas_kib_m2"),
            "between_span": names.index("nilai_perolehan") - names.index("luas_kib_m2") - 1,
            "after_span": len(names) - 1 - names.index("nilai_perolehan"),
            "signatures": kib_a.signatures,
            # (no "-" in the note: print/base.html puts it in a CSS string through escapejs, which escapes "-")
            "printed_note": f"KIB A · {kib_a.unit.replace(' - ', ' ')} · keadaan per {kib_a.day_text}",
        }
        runs = []
        for first in range(0, len(pages), PDF_RUN_PAGES):
            run = [
                {
                    "page": page,
                    "number": number,
                    "rows": [[(row.texts.get(c["name"], ""), c["num"]) for c in columns] for row in page.rows],
                    "luas": formats.number(page.luas, 2),
                    "nilai": formats.number(page.nilai, 2),
                    "luas_to_date": formats.number(page.luas_to_date, 2),
                    "nilai_to_date": formats.number(page.nilai_to_date, 2),
                }
                for number, page in enumerate(pages[first : first + PDF_RUN_PAGES], start=first + 1)
            ]
            runs.append(printing.pdf_from_template("print/kib_a.html", {**context, "pages": run, "of": len(pages)}))
    return runs[0] if len(runs) == 1 else _joined(runs)


def _joined(documents: list[bytes]) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for document in documents:
        writer.append(PdfReader(io.BytesIO(document)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass(frozen=True)
class HeaderCell:
    text: str
    colspan: int
    rowspan: int


def _header_rows(headers: list[tuple[str, ...]]) -> list[list[HeaderCell]]:
    """The header's rows of cells with their spans: a label shared by neighbouring columns at the same level (under
    the same label above) is one cell over them; a column's last label reaches down to the header's last row."""
    depth = max(len(h) for h in headers)
    rows: list[list[HeaderCell]] = []
    for level in range(depth):
        row: list[HeaderCell] = []
        c = 0
        while c < len(headers):
            header = headers[c]
            if level >= len(header):
                c += 1
                continue
            span = 1
            while (
                c + span < len(headers)
                and len(headers[c + span]) > level + 1
                and len(header) > level + 1
                and headers[c + span][: level + 1] == header[: level + 1]
            ):
                span += 1
            rowspan = depth - level if level == len(header) - 1 else 1
            row.append(HeaderCell(header[level], span, rowspan))
            c += span
        rows.append(row)
    return rows


# --- XLSX -----------------------------------------------------------------------------------------------------------


def write_xlsx(kib_a: KibA, path: Path, *, paper: str = "a4") -> int:
    """The card as an XLSX sheet "KIB A" that prints as filed (landscape, fitted to the page's width, the header
    repeated on every page, panes frozen under it) and that the importer reads back. Returns the rows written."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "KIB A"
    columns = kib_a.columns
    width = len(columns) + 1
    last = get_column_letter(width)
    thin = Side(style="thin", color="444444")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    bold = Font(bold=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    top_left = Alignment(vertical="top", wrap_text=True)
    city = place.city()

    def put(row: int, col: int, value: Any, **style: Any) -> Any:
        cell = sheet.cell(row=row, column=col)
        cell.value = value
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # a text, never a formula (assets.lib.cells)
        for name, item in style.items():
            setattr(cell, name, item)
        return cell

    # Title rows
    for row, text in ((1, city.government.upper()), (2, TITLE)):
        put(row, 1, text, font=Font(bold=True, size=12), alignment=Alignment(horizontal="center"))
        sheet.merge_cells(f"A{row}:{last}{row}")
    for row, (label, value) in enumerate(
        (("KABUPATEN/KOTA", city.name.upper()), ("UNIT ORGANISASI", kib_a.unit), ("KEADAAN PER", kib_a.day_text)),
        start=4,
    ):
        put(row, 1, label, font=bold)
        put(row, 3, f": {value}")
    # The header (rows 8-10), the column numbers (row 11)
    first_header = 8
    headers = [("No",), *(kib.printed_header(c) for c in columns)]
    fill = PatternFill("solid", fgColor="E8E8EE")
    for level, cells in enumerate(_header_rows(headers)):
        row = first_header + level
        col = 1
        for cell in cells:
            while sheet.cell(row=row, column=col).coordinate in sheet.merged_cells:
                col += 1
            put(row, col, cell.text)
            if cell.colspan > 1 or cell.rowspan > 1:
                sheet.merge_cells(
                    start_row=row, start_column=col, end_row=row + cell.rowspan - 1, end_column=col + cell.colspan - 1
                )
            col += cell.colspan
    depth = max(len(h) for h in headers)
    number_row = first_header + depth
    for col in range(1, width + 1):
        for row in range(first_header, number_row):
            cell = sheet.cell(row=row, column=col)
            cell.font, cell.alignment, cell.fill, cell.border = bold, centre, fill, box
        put(number_row, col, col, alignment=centre, border=box, font=Font(italic=True, size=8))
    # The data
    row = number_row
    for printed in kib_a.rows:
        row += 1
        put(row, 1, printed.number, border=box, alignment=top_left)
        for col, column in enumerate(columns, start=2):
            value = printed.values.get(column.name)
            if value is None or value == "":
                value = EMPTY if column.name in ("jenis_hak", "tanggal_sertifikat", "nomor_sertifikat") else None
            cell = put(row, col, value, border=box, alignment=top_left)
            if column.name in NUMBER_FORMATS and value is not None:
                cell.value = float(value)
                cell.number_format = NUMBER_FORMATS[column.name]
            elif isinstance(value, dt.date):
                cell.number_format = DATE_FORMAT_XLSX
    # The grand total, then the footer: certificate summary and the signature block
    row += 1
    names = [c.name for c in columns]
    put(row, 1, "Jumlah", font=bold, border=box)
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=names.index("luas_kib_m2") + 1)
    for name in ("luas_kib_m2", "nilai_perolehan"):
        total = kib_a.luas if name == "luas_kib_m2" else kib_a.nilai
        put(row, names.index(name) + 2, float(total), font=bold, border=box, number_format=NUMBER_FORMATS[name])
    row += 1
    summary = "; ".join(f"{label}: {n} bidang" for label, n in kib_a.status_counts())
    put(row, 2, f"Jumlah bidang: {len(kib_a.rows)} ({summary})")
    row += 2
    right = max(2, width - 3)
    put(row, right, kib_a.signatures.place_and_date)
    row += 1
    left_slot, right_slot = kib_a.signatures.slots
    for left_text, right_text in (
        (left_slot.caption, right_slot.caption),
        (left_slot.title, right_slot.title),
        (None, None),
        (None, None),
        (None, None),
        (left_slot.name or "(..............................)", right_slot.name or "(..............................)"),
        (f"NIP. {left_slot.nip or '......................'}", f"NIP. {right_slot.nip or '......................'}"),
    ):
        if left_text:
            put(row, 2, left_text)
        if right_text:
            put(row, right, right_text)
        row += 1
    for col in (2, right):
        sheet.cell(row=row - 2, column=col).font = Font(bold=True, underline="single")
    # Column widths, print setup
    for col, name in enumerate(["no", *names], start=1):
        sheet.column_dimensions[get_column_letter(col)].width = max(5, PDF_WIDTHS[name] * 0.75)
    sheet.freeze_panes = sheet.cell(row=number_row + 1, column=3)
    sheet.print_title_rows = f"{first_header}:{number_row}"
    sheet.print_area = f"A1:{last}{row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = PAPER_SIZES.get(paper, PAPER_SIZES["a4"])
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.oddFooter.right.text = "Halaman &P dari &N"
    sheet.oddFooter.left.text = f"KIB A - {kib_a.unit}".replace("&", "&&")  # "&" starts a header/footer code
    workbook.save(path)
    return len(kib_a.rows)
