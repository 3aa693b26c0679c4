"""Export a selection of the register: GeoJSON, GeoPackage, Shapefile (zip), KML, CSV (WKT) and XLSX.

The columns and their names come from the KIB A table (assets.register.kib), whose names the importer recognises by
construction, so an export imports back. Vector formats are written by GDAL/OGR (it knows each format's rules:
.prj/.cpg, KML's lon/lat, GeoPackage metadata); XLSX by openpyxl in write-only mode, in the KIB A layout.

The register's rows come from one SQL statement (assets.transfer.export_query; as of a date on PostgreSQL too, over the
history rows valid at the date). On PostgreSQL, outside a transaction, GDAL reads that statement itself (VectorTranslate
from a PostgreSQL datasource into the layer made here): the rows never become Python objects, which is what makes an
export as fast as ogr2ogr. Elsewhere (SpatiaLite, or rows not yet committed, as in the tests) Django's connection reads
the same statement in chunks and the rows are written one by one; the register as of a date on SpatiaLite, or with rows
without history, is written from its records (assets.register.history). Either way memory stays flat in the selection's
size; the web view streams the file.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _
from osgeo import gdal, ogr, osr

from assets.evidence import selectors as evidence
from assets.lib import cells
from assets.register import kib, place
from assets.register.models import Certificate, LandAsset
from assets.register.reads import RegisterSelection
from assets.transfer import export_query

gdal.UseExceptions()
ogr.UseExceptions()

CHUNK = 2000


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    suffix: str
    content_type: str
    driver: str | None  # OGR driver; None: written by openpyxl


FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("geojson", "GeoJSON", ".geojson", "application/geo+json", "GeoJSON"),
        ExportFormat("gpkg", "GeoPackage", ".gpkg", "application/geopackage+sqlite3", "GPKG"),
        ExportFormat("shp", "Shapefile (zip)", ".zip", "application/zip", "ESRI Shapefile"),
        ExportFormat("kml", "KML", ".kml", "application/vnd.google-earth.kml+xml", "KML"),
        ExportFormat("csv", "CSV (WKT)", ".csv", "text/csv", "CSV"),
        ExportFormat(
            "xlsx", "XLSX (KIB A)", ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None
        ),
    )
}


class ExportError(ValueError):
    pass


def _leading_certificate(asset: LandAsset) -> Certificate | None:
    """The certificate whose stage the asset shows (the one an import would recreate)."""
    certificates = list(asset.certificates.all())
    for certificate in certificates:
        if certificate.stage == asset.tahap_sertifikat:
            return certificate
    return certificates[0] if certificates else None


def asset_values(asset: Any) -> dict[str, Any]:
    """The exported columns' values of an asset (or a record that reads like one), as OGR and openpyxl take them."""
    certificate = _leading_certificate(asset)
    values = {}
    for column in kib.EXPORTED:
        value = column.value(asset, certificate)
        if value is not None and column.ogr == "Real":
            value = float(value)
        elif value is not None and column.ogr == "Integer64":
            value = int(value)
        values[column.name] = value
    return values


def _srs(srid: int) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(srid)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


Source = RegisterSelection | Iterable[Any]
# A row to write: the kib.EXPORTED columns' values in order, and the geometry as WKB in EPSG:4326 (or None).
Row = tuple[tuple[Any, ...], bytes | None]


def write_export(source: Source, *, fmt: str, path: Path, srid: int = 4326, direct: bool | None = None) -> int:
    """Write ``source`` to ``path`` in ``fmt``; returns the number of assets written.

    ``source`` is a RegisterSelection (the register's read path, live or as of a date), or records that read like
    LandAssets (a selection's ``records()``). ``direct`` (default: whenever it can) lets GDAL read the live
    selection's SQL itself; False writes the same statement's rows one by one through Django's connection."""
    if fmt not in FORMATS:
        raise ExportError(
            _("Unknown export format %(format)s (known: %(known)s).") % {"format": fmt, "known": ", ".join(FORMATS)}
        )
    allowed = place.city().export_srids
    if srid not in allowed:
        raise ExportError(
            _("Exports are in %(allowed)s, not EPSG:%(srid)s.")
            % {"allowed": ", ".join(f"EPSG:{code}" for code in allowed), "srid": srid}
        )
    if fmt == "kml" and srid != 4326:
        raise ExportError(_("KML is always longitude/latitude (EPSG:4326)."))
    if fmt == "xlsx":
        return _write_xlsx(source, path, srid)
    if fmt == "shp":
        folder = Path(tempfile.mkdtemp(prefix="sipanah-shp-", dir=path.parent))
        try:
            count = _write_ogr(source, FORMATS[fmt], folder / "land_assets.shp", srid, direct)
            # Level 1: a DBF is mostly the padding of its text fields, which the fastest level packs nearly as well.
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                for member in sorted(folder.iterdir()):
                    archive.write(member, member.name)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return count
    return _write_ogr(source, FORMATS[fmt], path, srid, direct)


def _in_one_statement(source: Source) -> RegisterSelection | None:
    """The selection, when its rows come from export_query's one statement (else records() in Python)."""
    if isinstance(source, RegisterSelection) and export_query.in_one_statement(source):
        return source
    return None


def gdal_reads_database() -> bool:
    """Whether GDAL can read the register's rows through a connection of its own: PostgreSQL (GDAL's driver), and
    no transaction open here (its rows would be invisible to another connection)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def shapefile_width(column: kib.Column) -> int:
    """A text column's width in a DBF (at most 254 characters): its model field's max_length, else 254."""
    source = column.source or column.name
    model: Any = LandAsset
    if column.from_certificate:
        model, source = Certificate, source[len(kib.CERT) :]
    *relations, name = source.split(".")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return min(getattr(model._meta.get_field(name), "max_length", None) or 254, 254)


def _field_names(fmt: ExportFormat) -> tuple[str, ...]:
    # A CSV is opened in a spreadsheet: its header has the printed KIB A's words (the importer reads them back).
    if fmt.key == "shp":
        return tuple(column.shapefile_name for column in kib.EXPORTED)
    if fmt.key == "csv":
        return tuple(column.label for column in kib.EXPORTED)
    return tuple(column.name for column in kib.EXPORTED)


def _record_rows(records: Iterable[Any]) -> Iterator[Row]:
    for record in records:
        values = asset_values(record)
        geom = record.geom
        yield tuple(values[column.name] for column in kib.EXPORTED), (bytes(geom.wkb) if geom is not None else None)


def _query_rows(query: export_query.ExportQuery) -> Iterator[Row]:
    for row in export_query.fetch_rows(query):
        wkb = row[len(query.names)]
        yield row[: len(query.names)], (bytes(wkb) if wkb is not None else None)


def _write_ogr(source: Source, fmt: ExportFormat, path: Path, srid: int, direct: bool | None) -> int:
    short, csv = fmt.key == "shp", fmt.key == "csv"
    names = _field_names(fmt)
    driver = gdal.GetDriverByName(fmt.driver)
    dataset = driver.Create(str(path), 0, 0, 0, gdal.GDT_Unknown)  # a gdal.Dataset: VectorTranslate writes into it
    layer_options = {
        "shp": ["ENCODING=UTF-8"],  # writes the .cpg
        "csv": ["CREATE_CSVT=NO", "SEPARATOR=COMMA"],
        "geojson": ["RFC7946=YES"] if srid == 4326 else [],
        "gpkg": ["GEOMETRY_NAME=geom"],
    }.get(fmt.key, [])
    # CSV has no place for a CRS: the geometry goes as WKT into a column whose name carries it (the importer reads it).
    layer = dataset.CreateLayer("land_assets", _srs(srid), ogr.wkbNone if csv else ogr.wkbMultiPolygon, layer_options)
    if csv:
        layer.CreateField(ogr.FieldDefn(f"wkt_epsg_{srid}", ogr.OFTString))
    for name, column in zip(names, kib.EXPORTED, strict=True):
        kind = getattr(ogr, f"OFT{column.ogr}")
        if fmt.key in ("csv", "kml") and kind == ogr.OFTDate:  # neither has a date type: ISO text
            kind = ogr.OFTString
        definition = ogr.FieldDefn(name, kind)
        if short and kind == ogr.OFTString:
            definition.SetWidth(shapefile_width(column))
        layer.CreateField(definition)
    selection = _in_one_statement(source)
    if selection is not None and (gdal_reads_database() if direct is None else direct):
        count = _translate(dataset, layer, direct_query(selection, fmt.key, srid), srid, selection)
    else:
        if selection is not None:
            query = export_query.export_query(
                selection, names=names, csv=csv, text_dates=fmt.key in ("csv", "kml"), geometry="wkb"
            )
            rows = _query_rows(query)
        else:
            rows = _record_rows(source.records() if isinstance(source, RegisterSelection) else source)
        count = _write_rows(dataset, layer, names, rows, srid, csv=csv, transactions=fmt.key == "gpkg")
    dataset = None  # noqa: F841 - closing flushes the file
    return count


def direct_query(selection: RegisterSelection, fmt: str, srid: int) -> export_query.ExportQuery:
    """The statement GDAL reads for ``selection`` in ``fmt`` (bench/bench_export.py gives ogr2ogr the same)."""
    csv = fmt == "csv"
    widths = {column.name: shapefile_width(column) for column in kib.EXPORTED} if fmt == "shp" else None
    return export_query.export_query(
        selection, names=_field_names(FORMATS[fmt]), csv=csv, text_dates=fmt in ("csv", "kml"),
        geometry="wkt" if csv else "raw", srid=srid, widths=widths,
    )  # fmt: skip


def _write_rows(
    dataset: Any, layer: Any, names: tuple[str, ...], rows: Iterable[Row], srid: int, *, csv: bool, transactions: bool
) -> int:
    definition = layer.GetLayerDefn()
    # By name: some drivers (KML) add fields of their own before ours.
    indexes = [definition.GetFieldIndex(name) for name in names]
    transform = None if srid == 4326 else osr.CoordinateTransformation(_srs(4326), _srs(srid))
    if transactions:
        dataset.StartTransaction()
    count = 0
    for values, wkb in rows:
        feature = ogr.Feature(definition)
        for i, value in zip(indexes, values, strict=True):
            if value is None or value == "":  # null, not unset: a GeoJSON feature names every property (as GDAL's)
                feature.SetFieldNull(i)
                continue
            if csv:
                value = cells.csv_text(value)  # text that a spreadsheet would take for a formula is quoted
            feature.SetField(i, value.isoformat() if hasattr(value, "isoformat") else value)
        if wkb is not None:
            geometry = ogr.CreateGeometryFromWkb(wkb)
            if transform is not None:
                geometry.Transform(transform)
            if csv:
                feature.SetField(0, geometry.ExportToIsoWkt())
            else:
                feature.SetGeometryDirectly(geometry)
        layer.CreateFeature(feature)
        count += 1
        if transactions and count % 10000 == 0:
            dataset.CommitTransaction()
            dataset.StartTransaction()
    if transactions:
        dataset.CommitTransaction()
    return count


def _pg_connection_string() -> str:
    db = connection.settings_dict  # (the test database during tests)

    def quoted(value: Any) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    parts = {"dbname": db.get("NAME"), "host": db.get("HOST"), "port": db.get("PORT"), "user": db.get("USER")}
    parts["password"] = db.get("PASSWORD")
    parts["options"] = (db.get("OPTIONS") or {}).get("options")
    return "PG:" + " ".join(f"{key}={quoted(value)}" for key, value in parts.items() if value)


def _translate(
    dataset: Any, layer: Any, query: export_query.ExportQuery, srid: int, selection: RegisterSelection
) -> int:
    """GDAL reads the statement from PostgreSQL (a cursor, 500 rows a fetch) and appends it to ``layer``,
    reprojecting on the way as ogr2ogr does; returns the number of features written."""
    source = gdal.OpenEx(_pg_connection_string(), gdal.OF_VECTOR | gdal.OF_READONLY)
    crs = {} if layer.GetGeomType() == ogr.wkbNone else {"srcSRS": "EPSG:4326", "dstSRS": f"EPSG:{srid}"}
    options = gdal.VectorTranslateOptions(
        accessMode="append", layerName="land_assets", SQLStatement=query.literal_sql(), **crs
    )
    try:
        written = gdal.VectorTranslate(dataset, source, options=options)
    except RuntimeError as exc:
        written, gdal_error = None, str(exc)
    else:
        gdal_error = gdal.GetLastErrorMsg()
    if written is None:
        raise ExportError(_("The export could not be written: %(error)s") % {"error": gdal_error})
    source = None
    if layer.TestCapability(ogr.OLCFastFeatureCount):
        return int(layer.GetFeatureCount())
    # (a GeoJSON, CSV or KML being written cannot count its own features)
    return selection.queryset().count() if selection.live else selection.totals().count


# An XLSX row's source: the XLSX columns' values in order (kib.xlsx_columns()), the geometry as WKT in the export's
# CRS, the asset's id and the two fields its document checklist depends on (origin, certificate stage).
XlsxRow = tuple[list[Any], str | None, int, str, str]


def _wkt_maker(srid: int) -> Any:
    transform = None if srid == 4326 else osr.CoordinateTransformation(_srs(4326), _srs(srid))

    def wkt(wkb: bytes | None) -> str | None:
        if wkb is None:
            return None
        geometry = ogr.CreateGeometryFromWkb(wkb)
        if transform is not None:
            geometry.Transform(transform)
        return str(geometry.ExportToIsoWkt())

    return wkt


def _xlsx_rows(source: Source, srid: int) -> Iterator[XlsxRow]:
    columns = kib.xlsx_columns()
    wkt = _wkt_maker(srid)
    selection = _in_one_statement(source)
    if selection is None:
        for record in source.records() if isinstance(source, RegisterSelection) else source:
            values = asset_values(record)
            geom = wkt(bytes(record.geom.wkb) if record.geom is not None else None)
            # (an as-of record's id is the asset's)
            yield [values[c.name] for c in columns], geom, record.id, record.asal_usul, record.tahap_sertifikat
        return
    names = tuple(column.name for column in kib.EXPORTED)
    # PostGIS writes the WKT (as the floor's rows have it); SpatiaLite gives WKB, written by OGR.
    in_database = connection.vendor == "postgresql"
    query = export_query.export_query(
        selection, names=names, geometry="wkt" if in_database else "wkb", srid=srid, extra=True
    )
    offset = 1 if in_database else 0  # the WKT comes first, the WKB after the columns
    order = [offset + names.index(column.name) for column in columns]
    dates = [i for i, column in enumerate(columns) if column.ogr == "Date"]
    origin = offset + names.index("asal_usul")
    width = offset + len(names)
    for row in export_query.fetch_rows(query):
        ordered = [row[i] for i in order]
        for i in dates:  # SpatiaLite keeps dates as ISO text; a spreadsheet wants a date
            if isinstance(ordered[i], str):
                ordered[i] = dt.date.fromisoformat(ordered[i])
        geom = row[0] if in_database else wkt(bytes(row[width]) if row[width] is not None else None)
        yield ordered, geom, row[-2], row[origin], row[-1]


def _write_xlsx(source: Source, path: Path, srid: int) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("KIB A")
    # The printed KIB A's columns in their order (No. is the running number), then every other exported column
    # and the geometry as WKT: what an import needs to rebuild the asset.
    # After them, the evidence of each asset (assets.evidence; the importer leaves both columns alone): its documents
    # not withdrawn, and the checklist's state.
    columns = kib.xlsx_columns()
    sheet.append(
        ["No", *(column.label for column in columns), f"{kib.BY_NAME['wkt'].label} (EPSG:{srid})",
         _("Documents"), _("Document checklist")]
    )  # fmt: skip
    requirements = evidence.active_requirements()
    statuses: dict[tuple[str, str, frozenset[str]], str] = {}  # the checklist's cell depends on these three only
    count = 0
    for chunk in _chunks(_xlsx_rows(source, srid), CHUNK):
        ids = [row[2] for row in chunk]
        counts, present = evidence.document_counts(ids), evidence.present_types(ids)
        for values, wkt, asset_id, asal_usul, tahap in chunk:
            count += 1
            key = (asal_usul, tahap, frozenset(present.get(asset_id, ())))
            status = statuses.get(key)
            if status is None:
                checklist = SimpleNamespace(asal_usul=asal_usul, tahap_sertifikat=tahap)
                status = statuses[key] = evidence.checklist_status(checklist, set(key[2]), requirements)
            sheet.append(cells.xlsx_row(sheet, [count, *values, wkt, counts.get(asset_id, 0), status]))
    workbook.save(path)
    return count


def _chunks(records: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
