"""Opening an import file: the hostile-file checks (size, zip bombs, paths escaping an archive), the format by its
suffix, a Shapefile's text encoding, and the layer to read (through GDAL/OGR, which knows every format)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from osgeo import gdal, ogr

from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.mapping import FieldMapping
from assets.transfer.importing.printed import PrintedTable, find_table
from assets.transfer.importing.report import ImportFileError, ImportReport

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


def _check_archive(path: Path, limits: ImportLimits) -> list[zipfile.ZipInfo]:
    """Refuse zip bombs and members that would escape the archive, before anything is decompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(
            _("%(file)s is not a readable zip archive: %(error)s") % {"file": path.name, "error": exc}
        ) from exc
    if len(members) > limits.max_archive_members:
        raise ImportFileError(
            _("The archive holds %(count)s files; at most %(max)s are accepted.")
            % {"count": len(members), "max": limits.max_archive_members}
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
        ratio = member.file_size / member.compress_size if member.compress_size else 0
        if ratio > limits.max_compression_ratio and member.file_size > 1 << 20:
            raise ImportFileError(
                _(
                    "The archive member %(name)s expands %(ratio)d times (%(size)s bytes): "
                    "refused as a possible zip bomb."
                )
                % {"name": member.filename, "ratio": member.file_size // member.compress_size, "size": member.file_size}
            )
    if total > limits.max_uncompressed_bytes:
        raise ImportFileError(
            _("The archive expands to %(size)s bytes; at most %(max)s are accepted.")
            % {"size": total, "max": limits.max_uncompressed_bytes}
        )
    return members


def _gdal_path(path: Path, limits: ImportLimits, formats: dict[str, str] = SUFFIX_FORMATS) -> tuple[str, str]:
    """The path GDAL opens and the format's name; archives are read in place through /vsizip/."""
    suffix = path.suffix.lower()
    if suffix not in formats:
        raise ImportFileError(
            _("%(file)s: the format %(suffix)s is not supported (accepted: %(accepted)s).")
            % {"file": path.name, "suffix": suffix or "?", "accepted": ", ".join(sorted(formats))}
        )
    if suffix == ".zip":
        members = _check_archive(path, limits)
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
        members = _check_archive(path, limits)
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
            return f"/vsizip/{path}/{(docs or kml)[0]}", formats[suffix]
    if suffix == ".shp":
        missing = [ext for ext in (".shx", ".dbf") if not _sibling(path, ext)]
        if missing:
            raise ImportFileError(
                _("The Shapefile %(file)s comes without its %(missing)s file(s); send the .zip with all of them.")
                % {"file": path.name, "missing": ", ".join(missing)}
            )
    return str(path), formats[suffix]


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


def open_source(
    path: Path, *, layer_name: str | None, report: ImportReport, limits: ImportLimits, user_crs: str | None = None
) -> tuple[Any, Any]:
    """Open the file (after the hostile-file checks) and pick its layer; returns (dataset, layer)."""
    dataset = open_dataset(path, report=report, limits=limits, user_crs=user_crs)
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


def open_dataset(
    path: Path,
    *,
    report: ImportReport,
    limits: ImportLimits,
    user_crs: str | None = None,
    formats: dict[str, str] = SUFFIX_FORMATS,
) -> Any:
    """Open the file with GDAL after the hostile-file checks (size, archive, linked CRS, KML size; a GeoPackage's
    computed layers refused): the dataset, holding at least one layer. ``formats``: the suffixes accepted (an
    import's, or a survey file's: assets.transfer.importing.survey)."""
    if not path.exists():
        raise ImportFileError(_("%(file)s does not exist.") % {"file": path})
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise ImportFileError(
            _("%(file)s is %(size)s bytes; at most %(max)s are accepted.")
            % {"file": path.name, "size": size, "max": limits.max_file_bytes}
        )
    if size == 0:
        raise ImportFileError(_("%(file)s is empty.") % {"file": path.name})
    if _is_zip(path):  # every zip-based format (zip, KMZ, XLSX, a zip named otherwise): the same archive limits
        _check_archive(path, limits)
    _refuse_linked_crs(path)
    gdal_path, report.format = _gdal_path(path, limits, formats)
    _check_xml_size(path, gdal_path, limits)
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
    failures: list[str] = []
    gdal.PushErrorHandler(
        lambda level, _number, message: failures.append(message) if level >= gdal.CE_Failure else None
    )
    try:
        dataset = gdal.OpenEx(gdal_path, gdal.OF_VECTOR | gdal.OF_READONLY, open_options=options)
    except RuntimeError as exc:
        raise ImportFileError(
            _("%(file)s cannot be read as %(format)s: %(error)s")
            % {"file": path.name, "format": report.format, "error": str(exc).strip()}
        ) from exc
    finally:
        gdal.PopErrorHandler()
    unknown_crs = [message for message in failures if message.startswith("PROJ")]
    if unknown_crs and user_crs:
        report.warnings.append(
            _("The file declares a coordinate reference system PROJ does not know (%(error)s); %(named)s was used as "
              "you asked.") % {"error": unknown_crs[0], "named": user_crs}
        )  # fmt: skip
    elif unknown_crs:
        # GDAL reports a CRS it cannot build and goes on in its default (GeoJSON: lon/lat): parcels in a made-up place.
        raise ImportFileError(
            _("%(file)s declares a coordinate reference system PROJ does not know (%(error)s): correct it in the "
              "file, or name the right one with --srid.")
            % {"file": path.name, "error": unknown_crs[0]}
        )  # fmt: skip
    if dataset is None or dataset.GetLayerCount() == 0:
        raise ImportFileError(_("%(file)s holds no layer.") % {"file": path.name})
    names = [dataset.GetLayer(i).GetName() for i in range(dataset.GetLayerCount())]
    if report.format.startswith("GeoPackage"):
        _refuse_computed_layers(dataset, names, path)
    return dataset


def _is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


# A GeoJSON "crs" member of type "link" names a URL GDAL would fetch while reading (and take the answer as the CRS).
_LINKED_CRS = re.compile(rb'"crs"\s*:\s*\{[^{}]*"type"\s*:\s*"link"', re.IGNORECASE)
_JSON_SCAN_BYTES = 1 << 20


def _refuse_linked_crs(path: Path) -> None:
    """A GeoJSON/TopoJSON whose CRS is a link is refused by name (the reading's network is closed anyway)."""
    if path.suffix.lower() not in (".geojson", ".json", ".topojson"):
        return
    with path.open("rb") as handle:
        head = handle.read(_JSON_SCAN_BYTES)
    if _LINKED_CRS.search(head):
        raise ImportFileError(
            _('%(file)s gives its coordinate reference system as a link (a URL): Sipanah fetches nothing while '
              'reading a file. Declare it by name ("urn:ogc:def:crs:EPSG::23837"), or name it with --srid.')
            % {"file": path.name}
        )  # fmt: skip


def _check_xml_size(path: Path, gdal_path: str, limits: ImportLimits) -> None:
    """KML is read as a whole document (GDAL's LIBKML builds it in memory, several times its size): refused past
    max_xml_bytes, whether plain or inside a KMZ."""
    if not gdal_path.lower().endswith((".kml", ".kmz")):
        return
    if gdal_path.startswith("/vsizip/") or path.suffix.lower() == ".kmz":
        with zipfile.ZipFile(path) as archive:
            size = sum(m.file_size for m in archive.infolist() if m.filename.lower().endswith(".kml"))
    else:
        size = path.stat().st_size
    if size > limits.max_xml_bytes:
        raise ImportFileError(
            _("The KML of %(file)s is %(size)s bytes; at most %(max)s are accepted (a KML is read whole, in memory): "
              "send the parcels as a GeoPackage or Shapefile, or in parts.")
            % {"file": path.name, "size": size, "max": limits.max_xml_bytes}
        )  # fmt: skip


def _refuse_computed_layers(dataset: Any, names: list[str], path: Path) -> None:
    """A GeoPackage layer that is a view or a virtual table is computed while read (a recursive view never ends):
    refused, only tables are read."""
    for name in names:
        quoted = name.replace("'", "''")
        result = dataset.ExecuteSQL(
            f"SELECT type, sql FROM sqlite_master WHERE lower(name) = lower('{quoted}')",  # noqa: S608 - quoted
            dialect="SQLITE",
        )
        try:
            row = result.GetNextFeature() if result is not None else None
            kind, sql = (row.GetField(0), row.GetField(1) or "") if row is not None else ("table", "")
        finally:
            if result is not None:
                dataset.ReleaseResultSet(result)
        if kind == "view" or sql.lstrip().upper().startswith("CREATE VIRTUAL TABLE"):
            raise ImportFileError(
                _("The layer %(layer)s of %(file)s is a view or a virtual table, computed while it is read; "
                  "Sipanah reads only tables. Save the layer as a table (ogr2ogr, QGIS: Export) and import that.")
                % {"layer": name, "file": path.name}
            )  # fmt: skip


def open_printed_table(path: Path, layer: Any, *, mapping: FieldMapping, report: ImportReport) -> PrintedTable | None:
    """A printed KIB sheet (title rows, a merged header, a footer): where its table is (importing.printed).

    None for a plain sheet (the header in row 1), read as it is. Otherwise the sheet is read again through GDAL,
    every row a feature numbered by its row, and the report counts spreadsheet rows.
    """
    table = find_table(path, layer, mapping.field_of)
    if table is not None:
        report.layout = table.describe()
        report.numbering = "row"
    return table
