"""Import land assets from the files BPKAD meets: Shapefile, GeoPackage, GeoJSON/TopoJSON, KML/KMZ, DXF, CSV, XLSX.

Everything is read through GDAL/OGR (Debian's python3-gdal): it already knows every one of these formats,
their encodings (.cpg) and CRS declarations, so the importer only adds the Sipanah rules on top:

1. :func:`open_source` refuses hostile files (size, zip bombs, paths escaping the archive) before GDAL sees them;
2. :func:`resolve_crs` decides the source CRS (declared, or named by the user) and refuses a file whose
   coordinates cannot be in it, naming swapped lat/lon and suggesting the Balikpapan systems;
3. :class:`FieldMapping` maps source columns to KIB A fields (known spellings, or a mapping file); a spreadsheet
   printed as a report (title rows, a merged header, a footer: SIMDA BMD, e-BMD) has its table found by
   :mod:`assets.printed_sheets`, and its errors name the spreadsheet's rows;
4. :func:`run_import` validates every feature with the rules of assets.services/assets.geo (via
   ``services.asset_prepare``) and writes in batches inside ONE transaction, rolled back on any error
   or on a dry run. Memory stays bounded: features are read, checked and written batch by batch; only the
   keys seen so far (for duplicates inside the file) and the first ``MAX_REPORTED_ERRORS`` errors are kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import re
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, reset_queries, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from osgeo import gdal, ogr, osr
from simple_history.utils import bulk_create_with_history

from assets.lib import copy_insert
from assets.register import geo, permissions, place, rules, services
from assets.register.geo import STORAGE_SRID, GeometryError
from assets.register.models import (
    Agency,
    AsalUsul,
    Certificate,
    CertificateStageEvent,
    JenisHak,
    LandAsset,
    PlottingStatus,
    Stage,
    User,
)

if TYPE_CHECKING:
    from assets.transfer.importing.printed import PrintedTable

gdal.UseExceptions()
ogr.UseExceptions()
osr.UseExceptions()

# Limits against hostile uploads. The CLI may raise them; the web upload uses these.
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ARCHIVE_MEMBERS = 1000
MAX_REPORTED_ERRORS = 1000
MAX_UNREADABLE_IN_A_ROW = 100  # features GDAL cannot read, one after the other, before the file counts as damaged
PRINTED_HEADER_SCAN_ROWS = 30  # a spreadsheet's header is looked for in these first rows (assets/printed_sheets.py)
BATCH_SIZE = 10_000  # features read, checked and written together (bigger batches: fewer statements per import)


SUFFIX_FORMATS = {
    ".zip": "Shapefile (zip)",
    ".shp": "Shapefile",
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".topojson": "TopoJSON",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".dxf": "DXF",
    ".csv": "CSV",
    ".xlsx": "XLSX",
}


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


# ---------------------------------------------------------------------------------------------- opening files


def _check_archive(path: Path, *, max_uncompressed: int, max_ratio: int) -> list[zipfile.ZipInfo]:
    """Refuse zip bombs and members that would escape the archive, before anything is decompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(
            _("%(file)s is not a readable zip archive: %(error)s") % {"file": path.name, "error": exc}
        ) from exc
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise ImportFileError(
            _("The archive holds %(count)s files; at most %(max)s are accepted.")
            % {"count": len(members), "max": MAX_ARCHIVE_MEMBERS}
        )
    total = 0
    for member in members:
        name = member.filename.replace("\\", "/")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/"):
            raise ImportFileError(
                _("The archive member %(name)s points outside the archive folder; the file is refused.")
                % {"name": member.filename}
            )
        total += member.file_size
        if member.compress_size and member.file_size / member.compress_size > max_ratio and member.file_size > 1 << 20:
            raise ImportFileError(
                _(
                    "The archive member %(name)s expands %(ratio)d times (%(size)s bytes): "
                    "refused as a possible zip bomb."
                )
                % {"name": member.filename, "ratio": member.file_size // member.compress_size, "size": member.file_size}
            )
    if total > max_uncompressed:
        raise ImportFileError(
            _("The archive expands to %(size)s bytes; at most %(max)s are accepted.")
            % {"size": total, "max": max_uncompressed}
        )
    return members


def _gdal_path(path: Path) -> tuple[str, str]:
    """The path GDAL opens and the format's name; archives are read in place through /vsizip/."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise ImportFileError(
            _("%(file)s: the format %(suffix)s is not supported (accepted: %(accepted)s).")
            % {"file": path.name, "suffix": suffix or "?", "accepted": ", ".join(sorted(SUFFIX_FORMATS))}
        )
    if suffix == ".zip":
        members = _check_archive(path, max_uncompressed=MAX_UNCOMPRESSED_BYTES, max_ratio=MAX_COMPRESSION_RATIO)
        names = [m.filename for m in members if not m.is_dir()]
        for wanted, kind in ((".shp", "Shapefile (zip)"), (".gpkg", "GeoPackage (zip)"), (".geojson", "GeoJSON (zip)")):
            found = [n for n in names if n.lower().endswith(wanted)]
            if len(found) > 1 and wanted == ".shp":
                raise ImportFileError(
                    _("The archive holds several Shapefiles (%(names)s); send one per archive.")
                    % {"names": ", ".join(found)}
                )
            if found:
                return f"/vsizip/{path}/{found[0]}", kind
        raise ImportFileError(_("The archive %(file)s holds no .shp, .gpkg or .geojson file.") % {"file": path.name})
    if suffix == ".kmz":
        members = _check_archive(path, max_uncompressed=MAX_UNCOMPRESSED_BYTES, max_ratio=MAX_COMPRESSION_RATIO)
        kml = [m.filename for m in members if not m.is_dir() and m.filename.lower().endswith(".kml")]
        if kml and "doc.kml" not in kml:
            # Not the layout LIBKML expects (doc.kml at the root): GDAL opens the KMZ but loses the KML's schema,
            # so the columns vanish. Read the KML member itself instead: the only one, or the one named doc.kml.
            docs = [name for name in kml if name.lower().rsplit("/", 1)[-1] == "doc.kml"]
            if len(kml) > 1 and len(docs) != 1:
                raise ImportFileError(
                    _("The KMZ %(file)s holds several KML files (%(names)s) and no doc.kml; send one per file.")
                    % {"file": path.name, "names": ", ".join(kml)}
                )
            return f"/vsizip/{path}/{(docs or kml)[0]}", SUFFIX_FORMATS[suffix]
    if suffix == ".shp":
        missing = [ext for ext in (".shx", ".dbf") if not _sibling(path, ext)]
        if missing:
            raise ImportFileError(
                _("The Shapefile %(file)s comes without its %(missing)s file(s); send the .zip with all of them.")
                % {"file": path.name, "missing": ", ".join(missing)}
            )
    return str(path), SUFFIX_FORMATS[suffix]


def _sibling(path: Path, ext: str) -> Path | None:
    for candidate in (path.with_suffix(ext), path.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    return None


def _shapefile_needs_encoding(gdal_path: str) -> bool:
    """True when a Shapefile has neither a .cpg nor a DBF code page mark: GDAL would not recode it."""
    base = gdal_path[: -len(".shp")]
    for ext in (".cpg", ".CPG"):
        if gdal.VSIStatL(base + ext) is not None:
            return False
    handle = gdal.VSIFOpenL(base + ".dbf", "rb") or gdal.VSIFOpenL(base + ".DBF", "rb")
    if handle is None:
        return False
    try:
        header = gdal.VSIFReadL(1, 32, handle)
    finally:
        gdal.VSIFCloseL(handle)
    return len(header) < 32 or header[29] == 0


def _detect_dbf_encoding(gdal_path: str, report: ImportReport) -> str:
    """UTF-8 when every text value decodes as UTF-8, else Latin-1 (the common DBF code page without a .cpg)."""
    ds = gdal.OpenEx(gdal_path, gdal.OF_VECTOR, open_options=["ENCODING="])
    layer = ds.GetLayer(0)
    definition = layer.GetLayerDefn()
    text_fields = [
        i for i in range(definition.GetFieldCount()) if definition.GetFieldDefn(i).GetType() == ogr.OFTString
    ]
    utf8 = True
    for feature in layer:
        for i in text_fields:
            if feature.IsFieldSetAndNotNull(i):
                try:
                    feature.GetFieldAsBinary(i).decode("utf-8")
                except UnicodeDecodeError:
                    utf8 = False
                    break
        if not utf8:
            break
    encoding = "UTF-8" if utf8 else "ISO-8859-1"
    report.warnings.append(
        _("The DBF has no .cpg file: its text was read as %(encoding)s (detected).") % {"encoding": encoding}
    )
    return encoding


def open_source(path: Path, *, layer_name: str | None, report: ImportReport) -> tuple[Any, Any]:
    """Open the file (after the hostile-file checks) and pick its layer; returns (dataset, layer)."""
    if not path.exists():
        raise ImportFileError(_("%(file)s does not exist.") % {"file": path})
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImportFileError(
            _("%(file)s is %(size)s bytes; at most %(max)s are accepted.")
            % {"file": path.name, "size": size, "max": MAX_FILE_BYTES}
        )
    if size == 0:
        raise ImportFileError(_("%(file)s is empty.") % {"file": path.name})
    gdal_path, report.format = _gdal_path(path)
    options: list[str] = []
    if path.suffix.lower() == ".csv":
        options = [
            "GEOM_POSSIBLE_NAMES=wkt*,geometry*,geom,the_geom,geometri*",
            "X_POSSIBLE_NAMES=lon,lng,long,longitude,x,bujur",
            "Y_POSSIBLE_NAMES=lat,latitude,y,lintang",
            "KEEP_GEOM_COLUMNS=NO",
            "AUTODETECT_TYPE=NO",
        ]
    elif path.suffix.lower() == ".xlsx":
        options = ["HEADERS=FORCE", "FIELD_TYPES=STRING"]
    elif gdal_path.lower().endswith(".shp") and _shapefile_needs_encoding(gdal_path):
        try:
            options = [f"ENCODING={_detect_dbf_encoding(gdal_path, report)}"]
        except RuntimeError as exc:
            raise ImportFileError(_("%(file)s cannot be read: %(error)s") % {"file": path.name, "error": exc}) from exc
    try:
        dataset = gdal.OpenEx(gdal_path, gdal.OF_VECTOR | gdal.OF_READONLY, open_options=options)
    except RuntimeError as exc:
        raise ImportFileError(
            _("%(file)s cannot be read as %(format)s: %(error)s")
            % {"file": path.name, "format": report.format, "error": str(exc).strip()}
        ) from exc
    if dataset is None or dataset.GetLayerCount() == 0:
        raise ImportFileError(_("%(file)s holds no layer.") % {"file": path.name})
    names = [dataset.GetLayer(i).GetName() for i in range(dataset.GetLayerCount())]
    if layer_name:
        if layer_name not in names:
            raise ImportFileError(
                _("%(file)s has no layer %(layer)s; its layers: %(layers)s.")
                % {"file": path.name, "layer": layer_name, "layers": ", ".join(names)}
            )
        layer = dataset.GetLayerByName(layer_name)
    else:
        non_empty = [n for n in names if dataset.GetLayerByName(n).GetFeatureCount() != 0]
        if len(non_empty) > 1:
            raise ImportFileError(
                _("%(file)s has several layers (%(layers)s); choose one with --layer.")
                % {"file": path.name, "layers": ", ".join(non_empty)}
            )
        layer = dataset.GetLayerByName(non_empty[0] if non_empty else names[0])
    report.layer = layer.GetName()
    report.source = path.name
    return dataset, layer


def open_printed_table(path: Path, layer: Any, *, mapping: FieldMapping, report: ImportReport) -> PrintedTable | None:
    """A printed KIB sheet (title rows, a merged header, a footer): where its table is (assets/printed_sheets.py).

    None for a plain sheet (the header in row 1), read as it is. Otherwise the sheet is read again through GDAL,
    every row a feature numbered by its row, and the report counts spreadsheet rows.
    """
    from assets.transfer.importing import printed as printed_sheets  # it builds on this module's names

    table = printed_sheets.find_table(path, layer, mapping.field_of)
    if table is not None:
        report.layout = table.describe()
        report.numbering = "row"
    return table


# The title line of a printed KIB that names its agency, most specific organisation level first
_TITLE_AGENCY = re.compile(
    r"^\s*(?P<level>unit\s+organisasi|skpd|opd|pengguna\s+barang|sub\s+unit|upb|kuasa\s+pengguna\s+barang)\b"
    r"\s*[:.]?\s*(?P<value>.+)$",
    flags=re.IGNORECASE,
)
_TITLE_LEVELS = ("unit_organisasi", "skpd", "opd", "pengguna_barang", "sub_unit", "upb", "kuasa_pengguna_barang")


def title_agency(
    printed: PrintedTable, mapping: FieldMapping, columns: list[str], report: ImportReport
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
    for row, text in printed.title:
        match = _TITLE_AGENCY.match(text)
        if match:
            level = _TITLE_LEVELS.index(normalise_name(match["level"]))
            found.append((level, row, match["value"].strip(" :.")))
    if not found:
        return mapping
    agencies = _agency_lookup()
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


# ---------------------------------------------------------------------------------------------- CRS


@dataclass(frozen=True)
class SourceCRS:
    srs: Any  # osr.SpatialReference, axis order lon/lat (traditional GIS order)
    label: str
    epsg: int | None
    geographic: bool


def parse_user_crs(value: str) -> SourceCRS:
    """An EPSG code (``23837``, ``EPSG:23837``) or custom WKT (a string or a .prj file), checked by pyproj first."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    text = value.strip()
    if text and Path(text).suffix.lower() in (".prj", ".wkt") and Path(text).exists():
        text = Path(text).read_text(encoding="utf-8", errors="replace").strip()
    code = re.fullmatch(r"(?:EPSG:)?(\d{4,6})", text, flags=re.IGNORECASE)
    try:
        # pyproj first: it gives a clear message, where a bad WKT handed to GDAL can only say "corrupt data".
        crs = CRS.from_epsg(int(code.group(1))) if code else CRS.from_wkt(text)
    except CRSError as exc:
        raise ImportFileError(
            _("%(value)s is not a coordinate reference system pyproj knows: %(error)s")
            % {"value": value[:80], "error": exc}
        ) from exc
    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs.to_wkt())
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    epsg = crs.to_epsg()
    return SourceCRS(srs, f"EPSG:{epsg}" if epsg else crs.name, epsg, bool(crs.is_geographic))


def _describe_srs(srs: Any) -> SourceCRS:
    srs = srs.Clone()
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    epsg = None
    with contextlib.suppress(RuntimeError):  # raises when the CRS matches no EPSG code: a custom WKT
        srs.AutoIdentifyEPSG()
    code = srs.GetAuthorityCode(None)
    if code and (srs.GetAuthorityName(None) or "").upper() == "EPSG":
        epsg = int(code)
    else:
        try:
            matches = srs.FindMatches()
        except RuntimeError:
            matches = []
        if matches and matches[0][1] >= 90 and matches[0][0].GetAuthorityCode(None):
            epsg = int(matches[0][0].GetAuthorityCode(None))
    label = f"EPSG:{epsg}" if epsg else (srs.GetName() or _("custom WKT"))
    return SourceCRS(srs, label, epsg, bool(srs.IsGeographic()))


def resolve_crs(layer: Any, user_crs: str | None, report: ImportReport) -> SourceCRS:
    here = place.city()
    declared = layer.GetSpatialRef()
    try:
        extent = layer.GetExtent() if layer.GetGeomType() != ogr.wkbNone else None
    except RuntimeError:
        extent = None
    named = re.search(r"epsg_?(\d{4,6})", normalise_name(layer.GetGeometryColumn() or ""))
    if not user_crs and declared is None and named:
        user_crs = named.group(1)  # our CSV exports name the CRS in the geometry column: wkt_epsg_4326
    if user_crs:
        crs = parse_user_crs(user_crs)
        if declared is not None:
            described = _describe_srs(declared)
            if described.epsg != crs.epsg:
                report.warnings.append(
                    _("The file declares %(declared)s; %(named)s was used as you asked.")
                    % {"declared": described.label, "named": crs.label}
                )
    elif declared is not None:
        crs = _describe_srs(declared)
    elif extent is None:
        crs = SourceCRS(None, "", None, True)  # no geometry column: nothing to transform
    else:
        lonlat_possible = extent[0] >= -180 and extent[1] <= 180 and extent[2] >= -90 and extent[3] <= 90
        hint = (
            _("the coordinates look like longitude/latitude (EPSG:4326)")
            if lonlat_possible
            else _("the coordinates cannot be longitude/latitude; in %(city)s try %(systems)s")
            % {"city": here.name, "systems": here.suggested_systems()}
        )
        raise ImportFileError(
            _("The file declares no coordinate reference system: name one with --srid (%(hint)s).") % {"hint": hint}
        )
    report.crs = crs.label
    if crs.geographic and extent is not None and crs.srs is not None:
        xmin, xmax, ymin, ymax = extent
        swapped = (ymin, ymax, xmin, xmax)
        if here.contains_lonlat(*swapped) and not here.contains_lonlat(*extent):
            raise ImportFileError(
                _(
                    "Latitude and longitude are swapped: the coordinates (x %(xmin).5f…%(xmax).5f, y %(ymin).5f…"
                    "%(ymax).5f) fall in %(city)s only when swapped. Export the file as longitude, latitude."
                )
                % {"xmin": xmin, "xmax": xmax, "ymin": ymin, "ymax": ymax, "city": here.name}
            )
        if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
            raise ImportFileError(
                _(
                    "The coordinates (x %(xmin).0f…%(xmax).0f, y %(ymin).0f…%(ymax).0f) cannot be longitude/latitude "
                    "as %(crs)s says: the file's CRS is missing or wrong. Name the right one with --srid; in "
                    "%(city)s: %(systems)s."
                )
                % {
                    "xmin": xmin,
                    "xmax": xmax,
                    "ymin": ymin,
                    "ymax": ymax,
                    "crs": crs.label,
                    "city": here.name,
                    "systems": here.suggested_systems(),
                }
            )
    if crs.epsg is not None and crs.epsg not in here.accepted_epsg:
        report.warnings.append(
            _("%(crs)s is not a CRS used in %(city)s; the parcels were transformed from it as declared.")
            % {"crs": crs.label, "city": here.name}
        )
    return crs


# ---------------------------------------------------------------------------------------------- field mapping


def normalise_name(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


# Column spellings met in SIMDA BMD / e-BMD KIB A exports, our own exports and survey files (normalised).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "kode_barang": ("kode_barang", "kd_barang", "kode_brg", "kodebarang", "kode", "kd_brg", "nomor_kode_barang"),
    "nomor_register": (
        "nomor_register",
        "no_register",
        "no_reg",
        "noreg",
        "register",
        "nomor_reg",
        "nomor_regi",
        "reg",
    ),
    "nibar": ("nibar", "nomor_induk_barang"),
    "nama_barang": (
        "nama_barang",
        "nama_barang_jenis_barang",
        "jenis_barang",
        "nama",
        "nama_brg",
        "jenis_nama_barang",
        "jenis_barang_nama_barang",
    ),
    "alamat": ("alamat", "letak_alamat", "letak", "lokasi", "letak_lokasi"),
    "agency": ("agency_code", "agency", "opd", "kode_opd", "skpd", "kode_skpd", "unit", "pengguna_barang"),
    "tanggal_perolehan": ("tanggal_perolehan", "tgl_perolehan", "tgl_oleh", "tanggal_pengadaan", "tgl_pengadaan"),
    "tahun_perolehan": ("tahun_perolehan", "thn_perolehan", "thn_oleh", "tahun_pengadaan", "tahun", "thn_pengadaan"),
    "asal_usul": ("asal_usul", "asal_usul_perolehan", "asal"),
    "nilai_perolehan": ("nilai_perolehan", "nilai", "harga", "harga_rp", "nilai_rp", "nilai_oleh", "harga_perolehan"),
    "penggunaan": ("penggunaan", "guna", "peruntukan"),
    "luas_kib_m2": ("luas_kib_m2", "luas_kib", "luas_m2", "luas", "luas_tanah", "luas_tanah_m2", "luas_m"),
    "keterangan": ("keterangan", "ket", "catatan"),
    "plotting_status": ("plotting_status", "plotting", "status_plotting"),
    "jenis_hak": ("jenis_hak", "hak", "status_tanah_hak", "status_hak"),
    "nomor_sertifikat": (
        "nomor_sertifikat",
        "no_sertifikat",
        "no_sert",
        "sertifikat_nomor",
        "nomor_sert",
        "sertifikat_no",
    ),
    "tanggal_sertifikat": ("tanggal_sertifikat", "tgl_sertifikat", "tgl_sert", "sertifikat_tanggal", "sertifikat_tgl"),
    "nib": ("nib", "nomor_identifikasi_bidang"),
    "atas_nama": ("atas_nama", "pemegang_hak"),
    "luas_sertifikat_m2": ("luas_sertifikat_m2", "luas_sertifikat", "luas_sert"),
    "stage": ("stage", "tahap", "tahap_sertifikat", "tahap_sertipikat"),
    "wkt": ("wkt", "geometri_wkt", "geometry_wkt", "geometri", "geometry", "geom", "the_geom"),
}
# Columns a file may carry that the import derives itself: recognised so they are not reported as unmapped.
DERIVED_COLUMNS = {
    "luas_gis_m2",
    "luas_gis",
    "no",
    "nomor",
    "kelurahan",
    "kecamatan",
    "status_sertifikat",
    "status_srt",
    "fid",
    "name",
    "description",
    "timestamp",
    "begin",
    "end",
    "altitudemode",
    "tessellate",
    "extrude",
    "visibility",
    "draworder",
    "icon",
}  # the last ones: KML's own columns
REQUIRED = (
    "kode_barang",
    "nomor_register",
    "nama_barang",
    "agency",
    "tahun_perolehan",
    "asal_usul",
    "nilai_perolehan",
    "luas_kib_m2",
)


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
        if not isinstance(data, dict) or not set(data) <= {"fields", "constants", "defaults", "comment"}:
            raise ImportFileError(
                _('The mapping file %(file)s must be a JSON object with "fields", "constants" and/or "defaults".')
                % {"file": path}
            )
        mapping = cls(dict(data.get("fields", {})), dict(data.get("constants", {})), dict(data.get("defaults", {})))
        unknown = (set(mapping.columns) | set(mapping.constants) | set(mapping.defaults)) - set(SYNONYMS)
        if unknown:
            raise ImportFileError(
                _("The mapping file names unknown fields: %(fields)s (known: %(known)s).")
                % {"fields": ", ".join(sorted(unknown)), "known": ", ".join(SYNONYMS)}
            )
        return mapping

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
        for name, value in self.constants.items():
            report.mapping[name] = _("(constant %(value)s)") % {"value": value}
        used = {v for v in plan.values() if isinstance(v, int)}
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
                "No column gives %(fields)s (columns found: %(columns)s); rename them or use a mapping file."
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
                ) % {"rows": PRINTED_HEADER_SCAN_ROWS, "sheet": report.layer}
            raise ImportFileError(message)
        return plan


# ---------------------------------------------------------------------------------------------- value parsing


class ValueError_(ValueError):
    pass


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _digits_text(value: Any) -> str:
    text = _text(value)
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


_PRINTED_NUMBER = re.compile(r"^Rp\.?|(,-|\.-|m2|m²)$", flags=re.IGNORECASE)  # currency before, unit after


def _decimal(value: Any, name: str) -> Decimal | None:
    text = _text(value)
    if not text.replace(".", "").replace(",", "").isdigit():  # as printed: "Rp. 1.250.000,-", "1.250,5 m²"
        text = _PRINTED_NUMBER.sub("", re.sub(r"\s+", "", text))  # (\s: no-break spaces too)
    if not text:
        return None
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", text):  # Indonesian 1.250.000,50
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d+,\d+", text):
        text = text.replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError_(_("%(value)s is not a number.") % {"value": _text(value)}) from exc
    if not number.is_finite():
        raise ValueError_(_("%(value)s is not a number.") % {"value": _text(value)})
    return number


def _date(value: Any) -> dt.date | None:
    text = _text(value)
    if not text:
        return None
    parsed = _parse_date(text)
    if parsed is None:
        raise ValueError_(_("%(value)s is not a date (expected YYYY-MM-DD or DD/MM/YYYY).") % {"value": text})
    return parsed


@functools.lru_cache(maxsize=8192)  # a register repeats its dates; strptime is slow
def _parse_date(text: str) -> dt.date | None:
    for pattern in (
        "%Y-%m-%d",
        "%Y/%m/%d",
        "%d/%m/%Y",
        "%d-%m-%Y",
        "%d.%m.%Y",
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
    ):
        try:
            return dt.datetime.strptime(text[:19], pattern).date()
        except ValueError:
            continue
    # As printed in Indonesian: 12 Maret 2005, 1-Agu-2010, 03 Des. 1998 (strptime's %B is the C locale's English)
    match = re.fullmatch(r"(\d{1,2})[\s.-]+([A-Za-z]{3,9})\.?[\s.,-]+(\d{4})", text.strip())
    month = _MONTHS.get(match[2][:3].lower()) if match else None
    if match and month:
        with contextlib.suppress(ValueError):
            return dt.date(int(match[3]), month, int(match[1]))
    return None


_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "mei": 5, "may": 5, "jun": 6, "jul": 7, "agu": 8, "agt": 8,
           "ags": 8, "aug": 8, "sep": 9, "okt": 10, "oct": 10, "nov": 11, "nop": 11, "des": 12, "dec": 12}  # fmt: skip


@functools.lru_cache(maxsize=64)
def _choice_labels(choices: Any, language: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((value, normalise_name(str(label)).upper()) for value, label in choices.choices)


def _choice(value: Any, choices: Any, name: str, language: str | None = None) -> str | None:
    text = _text(value)
    if not text:
        return None
    found = _find_choice(text, choices, language or translation.get_language())
    if found is None:
        raise ValueError_(
            _("%(value)s is not one of %(choices)s.") % {"value": text, "choices": ", ".join(choices.values)}
        )
    return found


@functools.lru_cache(maxsize=4096)
def _find_choice(text: str, choices: Any, language: str | None) -> str | None:
    key = normalise_name(text).upper()
    labels = _choice_labels(choices, language)
    for choice_value, label in labels:
        if key in (choice_value.upper(), label):
            return choice_value
    # One word of a label ("Pembelian" in "Purchase (pembelian)"), only when it points to a single choice.
    words = [v for v, label in labels if key and key in label.split("_")]
    if len(words) == 1:
        return words[0]
    return None


STAGE_ALIASES = {"TERBIT": Stage.SERTIFIKAT_TERBIT, "SERTIFIKAT": Stage.SERTIFIKAT_TERBIT}


# ---------------------------------------------------------------------------------------------- the import


@dataclass
class Row:
    number: int
    asset_fields: dict[str, Any]
    certificate: dict[str, Any] | None
    geom: shapely.Geometry | None  # lon/lat (SRID 4326), not yet checked by the geometry rules
    has_geometry: bool


def _agency_lookup() -> dict[str, int]:
    table: dict[str, int] = {}
    for pk, code, name in Agency.objects.values_list("pk", "code", "name"):
        table[code.lower()] = pk
        table[normalise_name(name)] = pk
    return table


class Record:
    """One feature as the reader sees it: its column values and its geometry.

    ``values`` maps a column's index to its value as OGR's typed getters give it (int, float, str; dates as
    YYYY-MM-DD text), only for the columns the mapping uses. The geometry is either the OGR feature's, or,
    from a batch read through Arrow, ISO WKB with the shapely geometry already parsed when it is a Polygon or
    MultiPolygon (anything else goes through OGR as before).
    """

    __slots__ = ("values", "feature", "wkb", "shape", "error")

    def __init__(self, values: dict[int, Any], *, feature: Any = None, wkb: bytes | None = None,
                 shape: shapely.Geometry | None = None, error: str | None = None):  # fmt: skip
        self.values, self.feature, self.wkb, self.shape = values, feature, wkb, shape
        self.error = error  # GDAL could not read this feature (see _features): its message, maybe ""

    def ogr_geometry(self) -> Any:
        if self.feature is not None:
            return self.feature.GetGeometryRef()
        if self.wkb is None:
            return None
        try:
            return ogr.CreateGeometryFromWkb(self.wkb)
        except RuntimeError as exc:
            raise ValueError_(_("The geometry cannot be read: %(error)s") % {"error": exc}) from exc


def _ogr_value(feature: Any, where: int) -> Any:
    if not feature.IsFieldSetAndNotNull(where):
        return None
    kind = feature.GetFieldType(where)
    if kind in (ogr.OFTInteger, ogr.OFTInteger64):
        return feature.GetFieldAsInteger64(where)
    if kind == ogr.OFTReal:
        return feature.GetFieldAsDouble(where)
    if kind == ogr.OFTDate:
        y, m, d, *_rest = feature.GetFieldAsDateTime(where)
        return f"{y:04d}-{m:02d}-{d:02d}"
    return feature.GetFieldAsString(where)


def _records(layer: Any, columns: list[int], report: ImportReport) -> Iterator[Record]:
    """The layer's features one by one, as records (the general path, every format)."""
    for feature in _features(layer, report):
        if isinstance(feature, RuntimeError):
            yield Record({}, error=str(feature).strip())
        else:
            yield Record({where: _ogr_value(feature, where) for where in columns}, feature=feature)


# Arrow types whose Python values are those of OGR's typed getters (dates are turned into the same text)
_ARROW_TYPES = ("string", "large_string", "int8", "int16", "int32", "int64", "float", "double", "date32[day]")


def _arrow_records(layer: Any, columns: list[int], report: ImportReport) -> Iterator[Record] | None:
    """The layer read in batches through GDAL's Arrow stream (GDAL >= 3.6, with pyarrow), or None when not fit.

    Used for GeoPackage, where GDAL reads the batch natively: all the values of a column come out as one list,
    and the geometries are parsed by shapely in one call, instead of a dozen OGR calls per feature. Only for
    columns of plain types (text, integers, reals, dates), which convert exactly as :func:`_ogr_value` reads them.
    """
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency; without it the general path is used
        return None
    if not report.format.startswith("GeoPackage") or not hasattr(layer, "GetArrowStream"):
        return None
    definition = layer.GetLayerDefn()
    for where in columns:
        if definition.GetFieldDefn(where).GetSubType() == ogr.OFSTBoolean:
            return None
    try:
        layer.ResetReading()
        stream = layer.GetArrowStream([f"MAX_FEATURES_IN_BATCH={BATCH_SIZE}"])
        c_schema = stream.GetSchema()  # kept alive while pyarrow imports it
        schema = pa.Schema._import_from_c(c_schema._getPtr())
    except (RuntimeError, pa.ArrowException):
        return None
    names = [definition.GetFieldDefn(where).GetName() for where in columns]
    geometry_name = layer.GetGeometryColumn() or None
    if any(name not in schema.names or str(schema.field(name).type) not in _ARROW_TYPES for name in names):
        return None
    if geometry_name is not None and geometry_name not in schema.names:
        return None

    def generate() -> Iterator[Record]:
        while True:
            try:
                array = stream.GetNextRecordBatch()
                if array is None:
                    return
                batch = pa.RecordBatch._import_from_c(array._getPtr(), schema)
            except (RuntimeError, pa.ArrowException) as exc:
                raise ImportFileError(
                    _("The file is damaged after feature %(n)s: %(error)s") % {"n": report.features, "error": exc}
                ) from exc
            lists = []
            for name in names:
                values = batch.column(name).to_pylist()
                if str(schema.field(name).type).startswith("date"):
                    values = [None if v is None else f"{v.year:04d}-{v.month:02d}-{v.day:02d}" for v in values]
                lists.append(values)
            wkbs = batch.column(geometry_name).to_pylist() if geometry_name else [None] * batch.num_rows
            shapes = shapely.from_wkb(np.array(wkbs, dtype=object), on_invalid="ignore")
            types = shapely.get_type_id(shapes)
            polygonal = (types == shapely.GeometryType.POLYGON) | (types == shapely.GeometryType.MULTIPOLYGON)
            for i in range(batch.num_rows):
                yield Record({where: values[i] for where, values in zip(columns, lists, strict=True)},
                             wkb=wkbs[i], shape=shapes[i] if polygonal[i] else None)  # fmt: skip

    return generate()


class _Reader:
    """Turns OGR features into checked rows; a feature with errors gives None and adds them to the report."""

    def __init__(self, layer: Any, crs: SourceCRS, plan: dict[str, int | str], mapping: FieldMapping, *,
                 repair: bool, user: User | None, report: ImportReport):  # fmt: skip
        self.layer, self.plan, self.mapping, self.repair, self.user, self.report = (
            layer, plan, mapping, repair, user, report
        )  # fmt: skip
        self.agencies = _agency_lookup()
        self.language = translation.get_language()  # choice labels are matched in the import's language
        # The source CRS for geo.reproject_to_lonlat (pyproj): its full WKT, as GDAL read or built it
        self.source_crs: str | None = None
        self.crs_label = crs.label
        if crs.srs is not None and crs.epsg != STORAGE_SRID:
            self.source_crs = crs.srs.ExportToWkt(["FORMAT=WKT2_2019"])
        self.forced_agency = None
        if user is not None and not permissions.can_edit_all(user):
            self.forced_agency = user.agency_id  # officers import for their own agency only

    def raw(self, feature: Record, number: int, name: str) -> Any:
        if name in self.plan:
            where = self.plan[name]
            if where == "$feature":
                return number
            value = feature.values.get(where)
            if name in self.mapping.defaults and _text(value) == "":
                return self.mapping.defaults[name]
            return value
        if name in self.mapping.constants:
            return self.mapping.constants[name]
        return self.mapping.defaults.get(name)

    def geometry(self, feature: Record, number: int) -> tuple[shapely.Geometry | None, bool]:
        if feature.shape is not None:  # a Polygon/MultiPolygon read as a batch (Arrow)
            if shapely.is_empty(feature.shape):
                return None, False
            return self._repaired(self._lonlat(feature.shape), number), True
        ogr_geom = feature.ogr_geometry()
        if ogr_geom is None and "wkt" in self.plan:
            text = _text(self.raw(feature, number, "wkt"))
            if text:
                try:
                    ogr_geom = ogr.CreateGeometryFromWkt(text)
                except RuntimeError as exc:
                    raise ValueError_(_("The WKT geometry cannot be read: %(error)s") % {"error": exc}) from exc
        if ogr_geom is None or ogr_geom.IsEmpty():
            return None, False
        ogr_geom = ogr_geom.Clone()
        kind = ogr.GT_Flatten(ogr_geom.GetGeometryType())
        if kind in (ogr.wkbLineString, ogr.wkbMultiLineString, ogr.wkbCurvePolygon, ogr.wkbMultiSurface,
                    ogr.wkbCompoundCurve, ogr.wkbCircularString):  # fmt: skip
            # CAD drafts (DXF) and KML outlines draw a parcel as a closed line: a closed ring is its boundary.
            ogr_geom = ogr.ForceToMultiPolygon(ogr.ForceToPolygon(ogr_geom) if kind == ogr.wkbLineString else ogr_geom)
        elif kind == ogr.wkbGeometryCollection:
            parts = [ogr_geom.GetGeometryRef(i) for i in range(ogr_geom.GetGeometryCount())]
            if parts and all(
                ogr.GT_Flatten(p.GetGeometryType()) in (ogr.wkbPolygon, ogr.wkbMultiPolygon) for p in parts
            ):
                ogr_geom = ogr.ForceToMultiPolygon(ogr_geom)
        geom = self._lonlat(shapely.from_wkb(bytes(ogr_geom.ExportToIsoWkb())))
        if kind in (ogr.wkbPoint, ogr.wkbMultiPoint):
            centroid = shapely.centroid(geom)
            raise ValueError_(
                _("A point (%(x).6f, %(y).6f) is not a parcel: give the parcel's outline, or leave the geometry "
                  "empty for an asset whose location is unknown.") % {"x": centroid.x, "y": centroid.y}
            )  # fmt: skip
        return self._repaired(geom, number), True

    def _lonlat(self, geom: shapely.Geometry) -> shapely.Geometry:
        """The geometry in lon/lat (2D); geo's pyproj reprojection refuses absurd coordinates (GeometryError)."""
        if self.source_crs is None:
            return geom
        return geo.reproject_to_lonlat(geom, self.source_crs, self.crs_label)

    def _repaired(self, geom: shapely.Geometry, number: int) -> shapely.Geometry:
        if self.repair:
            (repaired,), (reason,) = geo.repair_parcel_geometries([geom])
            if reason is not None:
                self.report.repairs.append(
                    Issue(number, "geom", _("Repaired with MakeValid (was: %(reason)s).") % {"reason": reason})
                )
                return repaired
        return geom

    def read(self, feature: Record, number: int) -> Row | None:
        if feature.error is not None:
            reason = feature.error or _("GDAL gives no reason (in a CSV, check the row's WKT geometry).")
            self.report.add_error(number, "", _("This feature cannot be read: %(error)s") % {"error": reason})
            return None
        errors_before = self.report.error_count

        def fail(name: str, message: str) -> None:
            self.report.add_error(number, name, message)

        values: dict[str, Any] = {}
        for name in ("kode_barang", "nibar", "nama_barang", "alamat", "penggunaan", "keterangan"):
            values[name] = _text(self.raw(feature, number, name))
        values["nomor_register"] = _digits_text(self.raw(feature, number, "nomor_register"))
        for name in ("kode_barang", "nomor_register", "nama_barang"):
            if not values[name]:
                fail(name, _("%(field)s is empty.") % {"field": name})
        parsers: dict[str, Callable[[Any], Any]] = {
            "tanggal_perolehan": _date,
            "nilai_perolehan": lambda v: _decimal(v, "nilai_perolehan"),
            "luas_kib_m2": lambda v: _decimal(v, "luas_kib_m2"),
            "asal_usul": lambda v: _choice(v, AsalUsul, "asal_usul", self.language),
            "plotting_status": lambda v: _choice(v, PlottingStatus, "plotting_status", self.language),
        }
        for name, parse in parsers.items():
            try:
                values[name] = parse(self.raw(feature, number, name))
            except ValueError_ as exc:
                fail(name, str(exc))
                values[name] = None
        year = _digits_text(self.raw(feature, number, "tahun_perolehan"))
        if year:
            if year.isdigit():
                values["tahun_perolehan"] = int(year)
            else:
                fail("tahun_perolehan", _("%(value)s is not a year.") % {"value": year})
        elif values.get("tanggal_perolehan"):
            values["tahun_perolehan"] = values["tanggal_perolehan"].year
        else:
            fail("tahun_perolehan", _("tahun_perolehan is empty."))
        for name in ("nilai_perolehan", "luas_kib_m2", "asal_usul"):
            if values.get(name) is None and not any(
                i.feature == number and i.field == name for i in self.report.errors[-5:]
            ):
                fail(name, _("%(field)s is empty.") % {"field": name})
        if values.get("nilai_perolehan") is not None:
            values["nilai_perolehan"] = values["nilai_perolehan"].quantize(Decimal(1))
        if values.get("luas_kib_m2") is not None:
            values["luas_kib_m2"] = values["luas_kib_m2"].quantize(Decimal("0.01"))
        if values.get("plotting_status") in (None, PlottingStatus.UNKNOWN):
            values.pop("plotting_status", None)
        agency_text = _text(self.raw(feature, number, "agency"))
        agency_id = self.agencies.get(agency_text.lower()) or self.agencies.get(normalise_name(agency_text))
        if self.forced_agency is not None:
            if agency_text and agency_id != self.forced_agency:
                fail("agency", _("%(agency)s is not your agency: you may import only your own agency's assets.")
                     % {"agency": agency_text})  # fmt: skip
            agency_id = self.forced_agency
        elif not agency_text:
            fail("agency", _("The agency (OPD) is empty."))
        elif agency_id is None:
            fail("agency", _("Unknown agency %(agency)s (give its code or name).") % {"agency": agency_text})
        values["agency_id"] = agency_id
        if not values["nibar"]:
            values["nibar"] = None
        try:
            geom, has_geometry = self.geometry(feature, number)
        except (ValueError_, GeometryError) as exc:
            fail("geom", str(exc))
            geom, has_geometry = None, False
        except (RuntimeError, shapely.errors.GEOSException) as exc:  # GDAL's or GEOS's own refusal of this geometry
            fail("geom", _("The geometry cannot be read: %(error)s") % {"error": str(exc).strip()})
            geom, has_geometry = None, False
        certificate = self._certificate(feature, number, fail)
        if self.report.error_count > errors_before:
            return None
        return Row(number, values, certificate, geom, has_geometry)

    def _certificate(self, feature: Record, number: int, fail: Callable[[str, str], None]) -> dict[str, Any] | None:
        raw = {name: self.raw(feature, number, name) for name in (
            "jenis_hak", "nomor_sertifikat", "tanggal_sertifikat", "nib", "atas_nama", "luas_sertifikat_m2", "stage"
        )}  # fmt: skip
        if not any(_text(v) for v in raw.values()):
            return None
        data: dict[str, Any] = {"nomor": _text(raw["nomor_sertifikat"]), "nib": _digits_text(raw["nib"]),
                                "atas_nama": _text(raw["atas_nama"])}  # fmt: skip
        try:
            data["jenis_hak"] = _choice(raw["jenis_hak"], JenisHak, "jenis_hak", self.language) or ""
            data["tanggal"] = _date(raw["tanggal_sertifikat"])
            data["luas_sertifikat_m2"] = _decimal(raw["luas_sertifikat_m2"], "luas_sertifikat_m2")
            if data["luas_sertifikat_m2"] is not None:
                data["luas_sertifikat_m2"] = data["luas_sertifikat_m2"].quantize(Decimal("0.01"))
            stage_text = normalise_name(_text(raw["stage"])).upper()
            stage = STAGE_ALIASES.get(stage_text) or _choice(raw["stage"], Stage, "stage", self.language)
        except ValueError_ as exc:
            fail("certificate", str(exc))
            return None
        if stage is None:
            stage = Stage.SERTIFIKAT_TERBIT if data["nomor"] and data["tanggal"] else Stage.BELUM
        data["stage"] = stage
        return data


def _key(kode: str, register: str) -> int:
    # 8-byte digests instead of the strings keep the duplicate check small at 1M features.
    return int.from_bytes(hashlib.blake2b(f"{kode}\x00{register}".encode(), digest_size=8).digest(), "big")


def _existing_assets(columns: tuple[str, ...], keys: Iterable[tuple[str, ...]]) -> Iterator[LandAsset]:
    """The register's assets whose ``columns`` equal one of ``keys`` (a unique key of the register).

    PostgreSQL: one statement for the batch, one unique-index lookup per key (``unnest`` of one array per column,
    each key looked up in a LATERAL subquery that ``LIMIT 1`` keeps from being turned into a join). Not ``kode =
    %s AND register IN (...)``: PostgreSQL took the index on kode alone and filtered every asset of that kode (its
    statistics are those of the register before the import's own rows), so each batch read the whole register again
    (at 300k assets the lookups of the last batches took longer than their COPY; superlinear in N). Elsewhere the
    ORM, one ``__in`` query per value of the leading columns.
    """
    keys = list(keys)
    if not keys:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        names = [f"k{i}" for i in range(len(columns))]
        match = " AND ".join(f"{quote(c)} = k.{n}" for c, n in zip(columns, names, strict=True))
        sql = (
            f"SELECT a.* FROM unnest({', '.join(['%s::text[]'] * len(columns))}) AS k({', '.join(names)}) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT * FROM {quote(LandAsset._meta.db_table)} WHERE {match} LIMIT 1) a"
        )
        yield from LandAsset.objects.raw(sql, [list(values) for values in zip(*keys, strict=True)])
        return
    groups: dict[tuple[str, ...], list[str]] = {}
    for key in keys:
        groups.setdefault(key[:-1], []).append(key[-1])
    for leading, lasts in groups.items():
        yield from LandAsset.objects.filter(
            **dict(zip(columns, leading, strict=False)), **{f"{columns[-1]}__in": lasts}
        )


class _SeenKeys:
    """The keys met so far in the file and the number of the feature each was first met on.

    Two sorted numpy arrays (8-byte digest, feature number): 16 bytes per key, where a dict of Python ints took
    about 110 (at 1M features, 16 MB instead of 200 MB: the import's memory stays nearly flat in N).
    """

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.uint64)
        self.numbers = np.empty(0, dtype=np.int64)

    def first_seen(self, keys: list[int], numbers: list[int]) -> np.ndarray:
        """For each (key, feature number) of a batch, in file order: the number of the feature the key was first
        met on (itself when new); the batch's new keys are remembered."""
        if not keys:
            return np.empty(0, dtype=np.int64)
        batch, own = np.array(keys, dtype=np.uint64), np.array(numbers, dtype=np.int64)
        first = own.copy()
        where = np.minimum(np.searchsorted(self.keys, batch), max(len(self.keys) - 1, 0))
        known = (self.keys[where] == batch) if len(self.keys) else np.zeros(len(batch), dtype=bool)
        first[known] = self.numbers[where[known]]
        fresh = ~known
        unique, at, inverse = np.unique(batch[fresh], return_index=True, return_inverse=True)
        first[fresh] = own[fresh][at][inverse]  # a key met twice in the batch: its first feature in the batch
        merged = np.concatenate([self.keys, unique])
        order = np.argsort(merged, kind="stable")  # two sorted runs: merged in linear time
        self.keys = merged[order]
        self.numbers = np.concatenate([self.numbers, own[fresh][at]])[order]
        return first


class _Writer:
    """Checks rows against the register and writes them in batches (inside the caller's transaction)."""

    def __init__(self, *, user: User | None, report: ImportReport, write: bool):
        self.user, self.report, self.write = user, report, write
        self.index = services.kelurahan_index()
        self.seen_keys, self.seen_nibar = _SeenKeys(), _SeenKeys()
        self.today = timezone.localdate()
        self.clean_cache: dict = {}  # field checks per distinct value, for the whole file (services.clean_asset)

    def _without_in_file_duplicates(self, rows: list[Row]) -> list[Row]:
        """The rows whose kode barang/register and NIBAR no earlier feature of the file has; the others reported."""
        numbers = [row.number for row in rows]
        registers = [str(row.asset_fields["nomor_register"]).zfill(4) for row in rows]
        first_key = self.seen_keys.first_seen(
            [_key(row.asset_fields["kode_barang"], register) for row, register in zip(rows, registers, strict=True)],
            numbers,
        ).tolist()
        with_nibar = [i for i, row in enumerate(rows) if row.asset_fields["nibar"]]
        first_nibar = dict(zip(with_nibar, self.seen_nibar.first_seen(
            [_key("nibar", rows[i].asset_fields["nibar"]) for i in with_nibar], [numbers[i] for i in with_nibar]
        ).tolist(), strict=True))  # fmt: skip
        kept = []
        for i, row in enumerate(rows):
            fields, duplicate = row.asset_fields, False
            if first_key[i] != row.number:
                self.report.add_error(row.number, "nomor_register",
                    _("Duplicate of %(first)s inside the file (kode barang %(kode)s, register %(reg)s).")
                    % {"first": self.report.place(first_key[i], start=False), "kode": fields["kode_barang"],
                       "reg": registers[i]})  # fmt: skip
                duplicate = True
            if first_nibar.get(i, row.number) != row.number:
                self.report.add_error(row.number, "nibar",
                    _("NIBAR %(nibar)s is also on %(first)s of the file.")
                    % {"nibar": fields["nibar"], "first": self.report.place(first_nibar[i], start=False)})  # fmt: skip
                duplicate = True
            if not duplicate:
                kept.append(row)
        return kept

    def batch(self, rows: list[Row]) -> None:
        rows = self._without_in_file_duplicates(rows)
        if not rows:
            return
        pairs = {(r.asset_fields["kode_barang"], str(r.asset_fields["nomor_register"]).zfill(4)) for r in rows}
        nibars = {r.asset_fields["nibar"] for r in rows if r.asset_fields["nibar"]}
        by_key = {}
        # Two queries, each on its own unique index (an OR of both made PostgreSQL scan the table: ~1.6 s per
        # 10,000 features on a growing register)
        for a in _existing_assets(("kode_barang", "nomor_register"), pairs):
            by_key[(a.kode_barang, a.nomor_register)] = a
        for a in _existing_assets(("nibar",), [(nibar,) for nibar in nibars]):
            by_key.setdefault((a.kode_barang, a.nomor_register), a)
        by_nibar = {a.nibar: a for a in by_key.values() if a.nibar}
        # The geometry rules, GIS area and kelurahan for the whole batch at once (vectorised, assets.geo)
        located = [i for i, r in enumerate(rows) if r.geom is not None]
        prepared_geoms: dict[int, Any] = {}
        if located:
            prepared, messages = services.prepare_parcels(
                [rows[i].geom for i in located], srid=STORAGE_SRID, index=self.index
            )
            for i, parcel, message in zip(located, prepared, messages, strict=True):
                prepared_geoms[i] = parcel if message is None else GeometryError(message)
        # First every row's asset is built (conflicts, agency, geometry); then the field checks run for the whole
        # batch at once (services.clean_assets, then the certificates'), and the rows are reported in file order.
        prepared: list[tuple[Row, LandAsset | None, LandAsset | None, list[tuple[str, str]]]] = []
        for position, row in enumerate(rows):
            fields = dict(row.asset_fields)
            key = (fields["kode_barang"], str(fields["nomor_register"]).zfill(4))
            match_key, match_nibar = by_key.get(key), by_nibar.get(fields["nibar"]) if fields["nibar"] else None
            if match_key and match_nibar and match_key.pk != match_nibar.pk:
                prepared.append((row, None, None, [("nibar",
                    _("Conflict: kode barang/register match asset %(a)s but NIBAR %(nibar)s belongs to asset %(b)s.")
                    % {"a": match_key, "nibar": fields["nibar"], "b": match_nibar})]))  # fmt: skip
                continue
            target = match_key or match_nibar
            if target is not None and target.nibar and fields["nibar"] is None:
                fields["nibar"] = target.nibar  # an empty NIBAR in the file does not erase the register's
            if target is not None and not match_key and key in by_key:
                prepared.append((row, None, None, [("nomor_register",
                    _("Conflict: NIBAR %(nibar)s is asset %(a)s, but kode barang/register %(k)s/%(r)s is another "
                      "asset.")
                    % {"nibar": fields["nibar"], "a": target, "k": key[0], "r": key[1]})]))  # fmt: skip
                continue
            geom: Any = prepared_geoms.get(position)
            if target is not None and not row.has_geometry:
                geom = ...  # never replace a located geometry with an empty one
                if target.geom is not None:
                    self.report.warnings.append(
                        _("%(place)s has no geometry: asset %(a)s keeps its located geometry.")
                        % {"place": self.report.place(row.number), "a": target}
                    )
            try:
                asset = services.asset_prepare(user=self.user, instance=target, geom=geom, srid=STORAGE_SRID,
                                               index=self.index, clean=False, **fields)  # fmt: skip
            except PermissionDenied as exc:
                prepared.append((row, None, None, [("agency", str(exc))]))
                continue
            except ValidationError as exc:
                prepared.append((row, None, None, _messages(exc)))
                continue
            prepared.append((row, asset, target, []))
        checked = [entry for entry in prepared if entry[1] is not None]
        for entry, error in zip(checked, services.clean_assets([e[1] for e in checked], cache=self.clean_cache),
                                strict=True):  # fmt: skip
            if error is not None:
                entry[3].extend(_messages(error))
        wanted = [entry for entry in checked if not entry[3] and entry[0].certificate
                  and (entry[2] is None or not entry[2].certificates.exists())]  # fmt: skip
        built = {id(entry): self._certificate(entry[0]) for entry in wanted}
        cert_errors = services.clean_instances(list(built.values()), exclude=frozenset({"asset"}),
                                               cache=self.clean_cache)  # fmt: skip
        for entry, error in zip(wanted, cert_errors, strict=True):
            if error is not None:
                entry[3].extend((f"certificate.{name}", message) for name, message in _messages(error))
        new_assets: list[tuple[LandAsset, Row]] = []
        updates: list[tuple[LandAsset, Row]] = []
        for entry in prepared:
            row, asset, target, failures = entry
            for name, message in failures:
                self.report.add_error(row.number, name, message)
            if failures:
                continue
            certificate = built.get(id(entry))
            if target is None:
                new_assets.append((asset, row))
            else:
                updates.append((asset, row))
            if certificate is not None:
                status = rules.derive_certificate_status([(certificate.stage, bool(certificate.nomor))])
                asset.status_sertifikat, asset.tahap_sertifikat, asset.bermasalah = status
                row.certificate = {"object": certificate}
            else:
                row.certificate = None
            has_geom = asset.__dict__.get("geom") is not None  # the stored value: no GEOS object built per asset
            if not has_geom:
                self.report.without_geometry += 1
            if len(self.report.preview) < 500 and has_geom:
                self.report.preview.append(
                    {"n": row.number, "label": str(asset), "geometry": json.loads(asset.geom.json)}
                )
        self.report.created += len(new_assets)
        self.report.updated += len(updates)
        if not self.write or self.report.error_count:
            return  # nothing more will be written: the transaction is rolled back anyway
        reason = _("Imported from %(file)s") % {"file": self.report.source}
        certificates = [(a, r.certificate["object"]) for a, r in new_assets + updates if r.certificate]
        for obj in [a for a, _row in new_assets + updates] + [c for _a, c in certificates]:
            obj._history_user, obj._change_reason = self.user, reason  # read by simple_history and copy_insert
        if new_assets and copy_insert.supported():
            copy_insert.copy_insert_with_history(LandAsset, [a for a, _row in new_assets])
        elif new_assets:
            bulk_create_with_history([a for a, _row in new_assets], LandAsset, batch_size=500)
        for asset, _row in updates:
            asset.save()
        for asset, certificate in certificates:
            certificate.asset = asset
        if copy_insert.supported():  # PostgreSQL: COPY (assets/copy_insert.py); the same rows, much faster
            copy_insert.copy_insert_with_history(Certificate, [c for _a, c in certificates])
        else:
            bulk_create_with_history([c for _a, c in certificates], Certificate, batch_size=500)
        user_id = self.user.pk if self.user is not None else None
        # Each certificate's first stage event, built once the certificates have their ids: plain rows for COPY (no
        # model instance per event), model instances only for bulk_create
        columns = ["certificate_id", "from_stage", "to_stage", "tanggal", "nomor_dokumen", "catatan", "user_id",
                   "created_at"]  # fmt: skip
        now = timezone.now()
        events = [(c.pk, "", c.stage, c.stage_since, "", reason, user_id, now) for _a, c in certificates]
        if copy_insert.supported():
            copy_insert.copy_rows(CertificateStageEvent, columns, events)
        else:
            CertificateStageEvent.objects.bulk_create(
                [CertificateStageEvent(**dict(zip(columns, event, strict=True))) for event in events]
            )
        self.report.certificates += len(certificates)

    def _certificate(self, row: Row) -> Certificate:
        """The row's certificate, not yet checked (the batch's certificates are checked together)."""
        data = dict(row.certificate or {})
        stage_since = data.get("tanggal") if data["stage"] == Stage.SERTIFIKAT_TERBIT and data.get("tanggal") else None
        return Certificate(stage_since=stage_since or self.today, **data)


def _messages(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) for each message of a model's ValidationError."""
    return [(name, message) for name, messages in error.message_dict.items() for message in messages]


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
) -> ImportReport:
    """Import one file; all or nothing. Raises nothing for bad input: the report says what is wrong."""
    started = time.monotonic()
    report = ImportReport(dry_run=dry_run, source=path.name)
    if user is not None and not permissions.can_create_asset(user):
        report.add_error(0, "", _("Your role does not allow importing assets."))
        return report
    try:
        dataset, source_layer = open_source(path, layer_name=layer, report=report)
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
            crs = _wkt_column_crs(columns, plan, srid, report)
        total = source_layer.GetFeatureCount()
        reader = _Reader(source_layer, crs, plan, mapping or FieldMapping(), repair=repair, user=user, report=report)
        try:
            with transaction.atomic():
                writer = _Writer(user=user, report=report, write=not dry_run)
                rows: list[Row] = []
                used = sorted({where for where in plan.values() if isinstance(where, int)})
                if printed is not None:  # (spreadsheet row, record) for the rows of the table only
                    numbered = printed.records(_features(source_layer, report), used, report)
                else:
                    records = _arrow_records(source_layer, used, report) or _records(source_layer, used, report)
                    numbered = enumerate(records, start=1)
                for count, (number, record) in enumerate(numbered, start=1):
                    row = reader.read(record, number)
                    if row is not None:
                        rows.append(row)
                    if len(rows) >= BATCH_SIZE:
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


def _wkt_column_crs(
    columns: list[str], plan: dict[str, int | str], user_crs: str | None, report: ImportReport
) -> SourceCRS:
    """The CRS of geometry given as WKT in a plain column (XLSX): named by the user or in the column's name."""
    named = re.search(r"epsg_?(\d{4,6})", normalise_name(columns[plan["wkt"]]) if isinstance(plan["wkt"], int) else "")
    if not user_crs and not named:
        raise ImportFileError(
            _("The geometry column %(column)s declares no coordinate reference system: name one with --srid "
              "(in %(city)s: EPSG:4326 for longitude/latitude, or %(systems)s).")
            % {"column": report.mapping.get("wkt", "?"), "city": place.city().name,
               "systems": place.city().suggested_systems()}
        )  # fmt: skip
    crs = parse_user_crs(user_crs or named.group(1))  # type: ignore[union-attr]
    report.crs = crs.label
    return crs


def _features(layer: Any, report: ImportReport) -> Iterator[Any]:
    """The layer's OGR features; one GDAL cannot read is yielded as its RuntimeError, to be reported by number.

    GDAL's CSV driver raises (with no message) on a row whose WKT does not parse, then reads on from the next
    row. A driver that cannot go on raises again: after ``MAX_UNREADABLE_IN_A_ROW`` in a row the file is damaged.
    """
    layer.ResetReading()
    failures = 0
    while True:
        try:
            feature = layer.GetNextFeature()
        except RuntimeError as exc:
            failures += 1
            if failures >= MAX_UNREADABLE_IN_A_ROW:
                raise ImportFileError(
                    _("The file is damaged after feature %(n)s: %(error)s") % {"n": report.features, "error": exc}
                ) from exc
            yield exc
            continue
        failures = 0
        if feature is None:
            return
        yield feature


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
