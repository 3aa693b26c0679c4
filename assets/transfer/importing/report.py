"""What an import found: the report (counts, mapping, warnings, errors by feature or row) and the refusal of a
whole file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext as _

MAX_REPORTED_ERRORS = 1000


class ImportFileError(Exception):
    """The whole file is refused; the message says why (and nothing was written)."""


@dataclass
class Issue:
    feature: int  # number of the feature in the file, from 1 (0: the file as a whole)
    field: str
    message: str


@dataclass
class ImportReport:
    source: str = ""
    format: str = ""
    layer: str = ""
    crs: str = ""
    features: int = 0
    created: int = 0
    updated: int = 0
    without_geometry: int = 0
    certificates: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    repairs: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    error_count: int = 0
    dry_run: bool = False
    committed: bool = False
    seconds: float = 0.0
    layout: str = ""  # a printed spreadsheet: which rows were read as header and data (assets/printed_sheets.py)
    numbering: str = "feature"  # what Issue.feature counts: "feature" (the file's features) or "row" (a sheet's rows)
    preview: list[dict[str, Any]] = field(default_factory=list)  # a few features (lon/lat GeoJSON) for the web page

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def place(self, n: int, *, start: bool = True) -> str:
        """Feature n, or Row n of a printed spreadsheet (its rows, as the user sees them); ``start``: capitalised."""
        if self.numbering == "row":
            return (_("Row %(n)s") if start else _("row %(n)s")) % {"n": n}
        return (_("Feature %(n)s") if start else _("feature %(n)s")) % {"n": n}

    def add_error(self, feature: int, field_name: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(Issue(feature, field_name, message))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data
