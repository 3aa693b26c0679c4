"""What an import found: the report (counts, mapping, warnings, errors by feature or row) and the refusal of a
whole file."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from assets.lib import formats
from assets.register.models import AsalUsul, Certificate, LandAsset, PlottingStatus

MAX_REPORTED_ERRORS = 1000
MAX_LISTED = 500  # updates, overlaps and created assets listed one by one in the report (the counts stay exact)


class UpdateMode:
    """What an update of an existing asset may overwrite (web radio, ``import_assets --update``)."""

    ALL = "all"
    GEOMETRY = "geometry"
    ATTRIBUTES = "attributes"
    CHOICES = (ALL, GEOMETRY, ATTRIBUTES)


class ImportFileError(Exception):
    """The whole file is refused; the message says why (and nothing was written)."""


def out_of_memory(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an error it was raised from, is running out of memory: Python's MemoryError, or GDAL's
    "Out of memory" (a plain RuntimeError) under the reading's address-space cap (assets.transfer.importing.sandbox).
    Such an error is never a fact about the file: whoever catches GDAL's errors to word them, or to go on without
    a value, lets this one through, so that the reading is refused for its memory budget instead of going on with
    what GDAL had read so far."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, MemoryError) or (type(exc) is RuntimeError and "memory" in str(exc).lower()):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


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
    update_mode: str = UpdateMode.ALL  # what an update may overwrite (UpdateMode)
    strict: bool = False  # overlaps are errors (nothing written), not warnings
    unchanged: int = 0  # rows naming a register asset they would not change (not written, not counted as updated)
    # per update: {"n", "asset_id", "label", "fields": [{"field", "label", "before", "after"}]} (MAX_LISTED)
    changes: list[dict[str, Any]] = field(default_factory=list)
    # {"n", "label", "asset_id" (a register asset) or "other_n" (a feature of the file), "other_label", "area_m2"}
    overlaps: list[dict[str, Any]] = field(default_factory=list)
    overlap_count: int = 0
    preview_register: list[dict[str, Any]] = field(default_factory=list)  # register parcels overlapped (the map)
    created_assets: list[list[Any]] = field(default_factory=list)  # [id, label] of the assets written (MAX_LISTED)
    # the file's columns: {"name", "field" (the field it gives, "" derived, None unused), "samples"}
    columns: list[dict[str, Any]] = field(default_factory=list)

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

    def add_change(self, entry: dict[str, Any]) -> None:
        if len(self.changes) < MAX_LISTED:
            self.changes.append(entry)

    def add_overlap(self, entry: dict[str, Any]) -> None:
        """An overlap: listed (a warning of its own kind, in ``overlaps``), and an error of the feature when the import
        is strict. Its words are made only while there is room to keep them (a file can hold hundreds of thousands
        of overlaps)."""
        self.overlap_count += 1
        if len(self.overlaps) < MAX_LISTED:
            self.overlaps.append(entry)
        if self.strict:
            self.error_count += 1
            if len(self.errors) < MAX_REPORTED_ERRORS:
                self.errors.append(Issue(entry["n"], "geom", overlap_message(entry, self)))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def overlap_message(entry: dict[str, Any], report: ImportReport) -> str:
    """The words of one overlap (the same for the web page, the command line and a strict import's error)."""
    area = formats.m2(entry["area_m2"])
    if entry.get("asset_id") is not None:
        return _("The parcel lies %(area)s over asset %(asset)s of the register.") % {
            "area": area,
            "asset": entry["other_label"],
        }
    return _("The parcel lies %(area)s over %(other)s of the file (%(label)s).") % {
        "area": area,
        "other": report.place(entry["other_n"], start=False),
        "label": entry["other_label"],
    }


def change_lines(report: ImportReport | dict[str, Any], *, max_lines: int = 50) -> list[str]:
    """The updates as text, one line per field (the command line's and the ``--report`` file's view of what the
    web page shows): ``Feature 3: asset 1.3.1/0003 Tanah (#12): nama_barang: Tanah → Tanah Taman``."""
    data = report if isinstance(report, dict) else report.as_dict()
    numbering = ImportReport(numbering=data.get("numbering", "feature"))
    lines = []
    shown = data.get("changes", [])[:max_lines]
    for change in shown:
        head = _("%(place)s updates asset %(asset)s (#%(id)s):") % {
            "place": numbering.place(change["n"]),
            "asset": change["label"],
            "id": change["asset_id"],
        }
        lines.append(head)
        lines += [f"    {f['label']}: {f['before']} → {f['after']}" for f in change["fields"]]
    if data.get("updated", 0) > len(shown):
        lines.append(_("... and %(n)s more updates") % {"n": data["updated"] - len(shown)})
    return lines


def display_value(name: str, value: Any, agencies: dict[int, str] | None = None) -> str:
    """A field's value as the register's pages show it: rupiah, m², dates in the language's format, a choice's
    label, an agency's name; empty as an em dash."""
    if value is None or value == "":
        return formats.EMPTY
    if name == "nilai_perolehan":
        return formats.rupiah(value)
    if name in ("luas_kib_m2", "luas_gis_m2"):
        return formats.m2(value)
    if name == "agency_id":
        return (agencies or {}).get(value, str(value))
    if isinstance(value, datetime.date):
        return date_format(value)
    choices = {"asal_usul": AsalUsul, "plotting_status": PlottingStatus}.get(name)
    if choices is not None:
        try:
            return str(choices(value).label)
        except ValueError:
            return str(value)
    return str(value)


def field_label(name: str) -> str:
    """The register's name of a field (its verbose name)."""
    if name == "geom":
        return str(_("geometry"))
    if name == "certificate":
        return str(_("certificate"))
    certificate_field = {"nomor_sertifikat": "nomor", "tanggal_sertifikat": "tanggal"}.get(name, name)
    for model, field_name in ((LandAsset, name.removesuffix("_id")), (Certificate, certificate_field)):
        try:
            return str(model._meta.get_field(field_name).verbose_name)
        except FieldDoesNotExist:
            continue
    return name
