"""Spreadsheet cells that stay data: a text a user typed must never become a formula in the CSV or XLSX files
Sipanah writes (OWASP's CSV injection guidance).

- CSV: a text cell starting with one of ``= + - @`` (or a tab or carriage return) gets a leading apostrophe, which
  spreadsheet programs show as text; the importer drops that apostrophe again (assets.transfer.importing.values).
- XLSX: text is written as a string cell (openpyxl would make ``=...`` a formula), numbers stay numbers.
"""

from __future__ import annotations

import csv
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def csv_text(value: Any) -> Any:
    """A CSV cell value: text that a spreadsheet would read as a formula is quoted; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return QUOTE + value
    return value


def unquote(text: str) -> str:
    """The text a CSV cell quoted by :func:`csv_text` stood for."""
    if text.startswith(QUOTE) and text[1:2] and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def xlsx_row(sheet: Any, values: list[Any]) -> list[Any]:
    """The row for ``sheet.append`` of an openpyxl write-only sheet, every text a string cell (never a formula)."""
    from openpyxl.cell import WriteOnlyCell

    row = []
    for value in values:
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # openpyxl takes "=..." for a formula
            row.append(cell)
        else:
            row.append(value)
    return row


class _Echo:
    def write(self, value: str) -> str:
        return value


_CSV = csv.writer(_Echo())


def csv_line(values: list[Any]) -> str:
    """One CSV line (a streamed download's), every text cell through :func:`csv_text`, None as an empty cell."""
    return _CSV.writerow(["" if v is None else csv_text(v) for v in values])
