"""Which column gives which KIB A field: the spellings of the KIB A table (assets.register.kib), a mapping file
(fields, constants, defaults), and a printed sheet's title naming its agency."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from assets.register import kib
from assets.register.kib import normalise_name
from assets.transfer.importing.printed import SCAN_ROWS
from assets.transfer.importing.report import ImportFileError, ImportReport
from assets.transfer.importing.values import agency_lookup

# Column spellings met in SIMDA BMD / e-BMD KIB A exports, our own exports and survey files (normalised).
# The KIB A table's spellings (assets.register.kib); the columns KML writes of its own are recognised too.
_TABLE = kib.import_table()
SYNONYMS: dict[str, tuple[str, ...]] = _TABLE.synonyms
REQUIRED: tuple[str, ...] = _TABLE.required
KML_COLUMNS = frozenset({"name", "description", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude",
                         "visibility", "draworder", "icon", "fid"})  # fmt: skip
DERIVED_COLUMNS: frozenset[str] = _TABLE.derived | KML_COLUMNS
# A DBF field name has at most 10 characters: a Shapefile written by GDAL, QGIS or ArcGIS from a layer with
# kode_barang has kode_baran. Such cuts of the table's spellings (kib.ImportTable.cut) are read, and reported,
# only from the formats whose names are DBF field names: elsewhere a 10-character name is the name it was given.
CUT_NAMES: dict[str, frozenset[str]] = _TABLE.cut
DBF_FORMATS = ("Shapefile", "Shapefile (zip)")
# GDAL (and ArcGIS) make a cut name unique when it is already taken: the first 8 characters, then _1 … _9, 10 … 99.
_MADE_UNIQUE = re.compile(r"^(?P<radix>[a-z0-9_]{8})(?:_[1-9]|[1-9][0-9])$")


@dataclass
class FieldMapping:
    """Where each field comes from: a source column, a constant, or ``$feature`` (the feature's number)."""

    columns: dict[str, str] = field(default_factory=dict)  # field -> source column
    constants: dict[str, Any] = field(default_factory=dict)  # field -> constant value
    defaults: dict[str, Any] = field(default_factory=dict)  # field -> value when the column is empty

    @classmethod
    def load(cls, path: Path) -> FieldMapping:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ImportFileError(
                _("The mapping file %(file)s cannot be read: %(error)s") % {"file": path, "error": exc}
            ) from exc
        return cls.from_dict(data, name=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, name: str = "") -> FieldMapping:
        """A mapping from the JSON of a mapping file (the command line's ``--mapping``, the web page's saved and
        downloaded mappings: one format, one check)."""
        if not isinstance(data, dict) or not set(data) <= {"fields", "constants", "defaults", "comment"}:
            raise ImportFileError(
                _('The mapping file %(file)s must be a JSON object with "fields", "constants" and/or "defaults".')
                % {"file": name}
            )
        parts = [data.get(key, {}) for key in ("fields", "constants", "defaults")]
        if not all(isinstance(part, dict) for part in parts):
            raise ImportFileError(
                _('In the mapping file %(file)s, "fields", "constants" and "defaults" must be JSON objects.')
                % {"file": name}
            )
        if not all(isinstance(column, str) for column in parts[0].values()):
            raise ImportFileError(_("In the mapping file %(file)s, every field names a column.") % {"file": name})
        mapping = cls(dict(parts[0]), dict(parts[1]), dict(parts[2]))
        unknown = (set(mapping.columns) | set(mapping.constants) | set(mapping.defaults)) - set(SYNONYMS)
        if unknown:
            raise ImportFileError(
                _("The mapping file names unknown fields: %(fields)s (known: %(known)s).")
                % {"fields": ", ".join(sorted(unknown)), "known": ", ".join(SYNONYMS)}
            )
        return mapping

    def as_dict(self) -> dict[str, Any]:
        """The mapping as a mapping file's JSON (what :meth:`from_dict` reads)."""
        data: dict[str, Any] = {"fields": dict(self.columns)}
        if self.constants:
            data["constants"] = dict(self.constants)
        if self.defaults:
            data["defaults"] = dict(self.defaults)
        return data

    def field_of(self, label: str) -> str | None:
        """The field a column name gives (by this mapping, else by SYNONYMS); "" for a column the import derives
        itself (No, Nomor), None for an unknown name. Used to find the header of a printed spreadsheet."""
        norm = normalise_name(label)
        for name, column in self.columns.items():
            if column != "$feature" and (column == label or normalise_name(column) == norm):
                return name
        for name, synonyms in SYNONYMS.items():
            if norm in synonyms or (name == "wkt" and norm.split("_epsg_")[0] in synonyms):
                return name
        return "" if norm in DERIVED_COLUMNS else None

    def resolve(
        self, source_columns: list[str], report: ImportReport, *, optional: tuple[str, ...] = ()
    ) -> dict[str, int | str]:
        """field -> column index (or "$feature" / "=constant"); records which column fed which field."""
        by_norm = {normalise_name(name): i for i, name in reversed(list(enumerate(source_columns)))}
        by_name = {name: i for i, name in enumerate(source_columns)}
        plan: dict[str, int | str] = {}
        for name, column in self.columns.items():
            if column == "$feature":
                plan[name] = "$feature"
                report.mapping[name] = _("(feature number)")
            elif column in by_name or normalise_name(column) in by_norm:
                plan[name] = by_name.get(column, by_norm.get(normalise_name(column)))  # type: ignore[assignment]
                report.mapping[name] = source_columns[plan[name]]  # type: ignore[index]
            else:
                raise ImportFileError(
                    _("The mapping names the column %(column)s for %(field)s, but the file has no such column "
                      "(its columns: %(columns)s).")
                    % {"column": column, "field": name, "columns": ", ".join(source_columns)}
                )  # fmt: skip
        for name, synonyms in SYNONYMS.items():
            if name in plan or name in self.constants:
                continue
            if name == "wkt":  # "Geometri WKT (EPSG:4326)": the column name may carry the CRS
                for norm, i in list(by_norm.items()):
                    if any(norm.startswith(f"{s}_epsg_") for s in synonyms):
                        by_norm.setdefault(norm.split("_epsg_")[0], i)
            for synonym in synonyms:
                if synonym in by_norm and by_norm[synonym] not in plan.values():
                    plan[name] = by_norm[synonym]
                    report.mapping[name] = source_columns[by_norm[synonym]]
                    break
        derived: set[int] = set()
        if report.format in DBF_FORMATS:
            derived = self._read_cut_names(source_columns, plan, report)
        for name, value in self.constants.items():
            report.mapping[name] = _("(constant %(value)s)") % {"value": value}
        used = {v for v in plan.values() if isinstance(v, int)} | derived
        report.unmapped_columns = [
            c for i, c in enumerate(source_columns) if c and i not in used and normalise_name(c) not in DERIVED_COLUMNS
        ]
        missing = [
            f
            for f in REQUIRED
            if f not in plan and f not in self.constants and f not in self.defaults and f not in optional
        ]
        if "tahun_perolehan" in missing and "tanggal_perolehan" in plan:
            missing.remove("tahun_perolehan")
        if missing:
            message = _(
                "No column gives %(fields)s (columns found: %(columns)s); rename them, or map them to the fields: "
                "on the import page (web upload), or with a mapping file (import_assets --mapping)."
            ) % {
                "fields": ", ".join(missing),
                "columns": ", ".join(c for c in source_columns if c) or "-",
            }
            if report.format == "XLSX" and not report.layout:  # no header found under title rows either
                message += " " + _(
                    "Sipanah looks for the column names in the first %(rows)s rows of the sheet %(sheet)s, in a header "
                    "of one to three rows (a printed KIB A: No, Jenis/Nama Barang, Nomor Kode Barang, Nomor Register, "
                    "Luas, Tahun Pengadaan, Letak/Alamat, Status Tanah Hak, Sertifikat Tanggal/Nomor, Penggunaan, "
                    "Asal Usul, Harga, Keterangan)."
                ) % {"rows": SCAN_ROWS, "sheet": report.layer}
            raise ImportFileError(message)
        return plan

    def _read_cut_names(self, source_columns: list[str], plan: dict[str, int | str], report: ImportReport) -> set[int]:
        """Give the fields no column named in full the DBF columns whose names are their spellings cut to 10
        characters; each is reported. A cut several columns share (``sertifikat``: sertifikat_no and
        sertifikat_tgl), or one GDAL had to make unique (``nama_baran`` beside ``nama_bar_1``: two names cut
        alike, in an order the file does not keep), is not guessed: a warning names the columns and the fields.
        Returns the columns that are cuts of derived columns (recognised, not reported as unknown)."""
        norms = [normalise_name(c) for c in source_columns]
        used = {v for v in plan.values() if isinstance(v, int)}
        taken = set(plan) | set(self.constants)
        derived: set[int] = set()
        for i, norm in enumerate(norms):
            if i in used or norm not in CUT_NAMES:
                continue
            names = sorted(CUT_NAMES[norm])
            fields = {kib.BY_NAME[name].import_field for name in names}
            if not fields - {""}:  # only derived columns: recognised, never read
                derived.add(i)
                continue
            if fields - {""} <= taken:
                continue  # every field it may be is given by another column: an unused column
            alike = [j for j, other in enumerate(norms) if j != i and _cut_alike(norm, other)]
            if alike:
                report.warnings.append(
                    _("The columns %(columns)s were cut alike to 10 characters (Shapefile field names), so which one "
                      "was %(names)s cannot be told: none of them is used. Name the column in a mapping file.")
                    % {"columns": ", ".join(source_columns[j] for j in [i, *alike]), "names": " / ".join(names)}
                )  # fmt: skip
            elif len(fields - {""}) > 1:
                report.warnings.append(
                    _("The column %(column)s may be %(names)s (Shapefile field names are cut to 10 characters): it "
                      "is not used. Name it in a mapping file.")
                    % {"column": source_columns[i], "names": " / ".join(names)}
                )  # fmt: skip
            else:
                (name,) = fields - {""}
                plan[name] = i
                used.add(i)
                taken.add(name)
                report.mapping[name] = source_columns[i]
                others = [other for other in names if not kib.BY_NAME[other].import_field]
                message = _("Column %(column)s read as %(field)s (Shapefile field names are cut to 10 characters).")
                if others:  # a derived column cut alike is never imported: the imported field is meant
                    message = _(
                        "Column %(column)s read as %(field)s (Shapefile field names are cut to 10 characters; "
                        "%(others)s, cut alike, is never imported)."
                    )
                report.warnings.append(
                    message % {"column": source_columns[i], "field": name, "others": ", ".join(others)}
                )
        return derived


def _cut_alike(cut: str, other: str) -> bool:
    """``other`` is a name GDAL made unique after cutting a name the same way as ``cut`` (nama_baran, nama_bar_1)."""
    match = _MADE_UNIQUE.match(other)
    return match is not None and match["radix"] == cut[:8]


# The title line of a printed KIB that names its agency, most specific organisation level first
_TITLE_AGENCY = re.compile(
    r"^\s*(?P<level>unit\s+organisasi|skpd|opd|pengguna\s+barang|sub\s+unit|upb|kuasa\s+pengguna\s+barang)\b"
    r"\s*[:.]?\s*(?P<value>.+)$",
    flags=re.IGNORECASE,
)


_TITLE_LEVELS = ("unit_organisasi", "skpd", "opd", "pengguna_barang", "sub_unit", "upb", "kuasa_pengguna_barang")


def title_agency(
    title: list[tuple[int, str]], mapping: FieldMapping, columns: list[str], report: ImportReport
) -> FieldMapping:
    """The agency named by a printed sheet's title (Unit Organisasi : Dinas …), as the default of every row.

    A printed KIB A has no agency column: the title says whose register it is. Only when neither the sheet nor
    the mapping gives the agency; a title naming no known agency is reported (the agency then stays missing).
    """
    if "agency" in mapping.columns or "agency" in mapping.constants or "agency" in mapping.defaults:
        return mapping
    if any(mapping.field_of(column) == "agency" for column in columns):
        return mapping
    found: list[tuple[int, int, str]] = []  # (level, row, value)
    for row, text in title:
        match = _TITLE_AGENCY.match(text)
        if match:
            level = _TITLE_LEVELS.index(normalise_name(match["level"]))
            found.append((level, row, match["value"].strip(" :.")))
    if not found:
        return mapping
    agencies = agency_lookup()
    for _level, row, value in sorted(found):
        code = re.match(r"^(?P<code>\d+(?:\.\d+)+)\s*[-–:]?\s*(?P<name>.*)$", value)
        for candidate in (value, *(code.group("name", "code") if code else ())):
            if candidate and (agencies.get(candidate.lower()) or agencies.get(normalise_name(candidate))):
                report.mapping["agency"] = _("(title, row %(row)s: %(text)s)") % {"row": row, "text": value}
                return FieldMapping(dict(mapping.columns), dict(mapping.constants),
                                    {**mapping.defaults, "agency": candidate})  # fmt: skip
    _level, row, value = min(found)
    report.warnings.append(
        _("Row %(row)s of the title names %(text)s, which is not an agency in Sipanah (give its code or name).")
        % {"row": row, "text": value}
    )
    return mapping
