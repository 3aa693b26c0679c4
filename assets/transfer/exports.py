"""Export a selection of the register: GeoJSON, GeoPackage, Shapefile (zip), KML, CSV (WKT) and XLSX.

The columns and their names come from the KIB A table (assets.register.kib), whose names the importer recognises by
construction, so an export imports back. Vector formats are written by GDAL/OGR (it knows each format's rules:
.prj/.cpg, KML's lon/lat, GeoPackage metadata); XLSX by openpyxl in write-only mode, in the KIB A layout. Records
come from the register's read path in chunks and go to a file, so memory stays bounded whatever the selection's
size; the web view streams that file.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from osgeo import gdal, ogr, osr

from assets.evidence import selectors as evidence
from assets.lib import cells
from assets.register import kib, place
from assets.register.models import Certificate, LandAsset

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
        ExportFormat("kml", "KML", ".kml", "application/vnd.google-earth.kml+xml", "LIBKML"),
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


def write_export(records: Iterable[Any], *, fmt: str, path: Path, srid: int = 4326) -> int:
    """Write ``records`` (a selection's, assets.register.reads: LandAssets, or as of a date records that read like
    them) to ``path`` in ``fmt``; returns the number of assets written."""
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
        return _write_xlsx(records, path, srid)
    if fmt == "shp":
        folder = Path(tempfile.mkdtemp(prefix="sipanah-shp-", dir=path.parent))
        try:
            count = _write_ogr(records, FORMATS[fmt], folder / "land_assets.shp", srid)
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for member in sorted(folder.iterdir()):
                    archive.write(member, member.name)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return count
    return _write_ogr(records, FORMATS[fmt], path, srid)


def _write_ogr(records: Iterable[Any], fmt: ExportFormat, path: Path, srid: int) -> int:
    short = fmt.key == "shp"
    driver = ogr.GetDriverByName(fmt.driver)
    dataset = driver.CreateDataSource(str(path))
    layer_options = {
        "shp": ["ENCODING=UTF-8"],  # writes the .cpg
        "csv": ["CREATE_CSVT=NO", "SEPARATOR=COMMA"],
        "geojson": ["RFC7946=YES"] if srid == 4326 else [],
        "gpkg": ["GEOMETRY_NAME=geom"],
    }.get(fmt.key, [])
    csv = fmt.key == "csv"
    # CSV has no place for a CRS: the geometry goes as WKT into a column whose name carries it (the importer reads it).
    layer = dataset.CreateLayer("land_assets", _srs(srid), ogr.wkbNone if csv else ogr.wkbMultiPolygon, layer_options)
    if csv:
        layer.CreateField(ogr.FieldDefn(f"wkt_epsg_{srid}", ogr.OFTString))
    # A CSV is opened in a spreadsheet: its header has the printed KIB A's words (the importer reads them back).
    names = [column.shapefile_name if short else column.label if csv else column.name for column in kib.EXPORTED]
    for name, column in zip(names, kib.EXPORTED, strict=True):
        kind = getattr(ogr, f"OFT{column.ogr}")
        if fmt.key in ("csv", "kml") and kind == ogr.OFTDate:  # neither has a date type: ISO text
            kind = ogr.OFTString
        definition = ogr.FieldDefn(name, kind)
        if short and kind == ogr.OFTString:
            definition.SetWidth(254)
        layer.CreateField(definition)
    definition = layer.GetLayerDefn()
    # By name: some drivers (KML) add fields of their own before ours.
    indexes = [definition.GetFieldIndex(name) for name in names]
    transform = None if srid == 4326 else osr.CoordinateTransformation(_srs(4326), _srs(srid))
    transactions = fmt.key == "gpkg"
    if transactions:
        dataset.StartTransaction()
    count = 0
    for asset in records:
        feature = ogr.Feature(definition)
        values = asset_values(asset)
        for i, column in zip(indexes, kib.EXPORTED, strict=True):
            value = values[column.name]
            if value is None or value == "":
                continue
            if csv:
                value = cells.csv_text(value)  # text that a spreadsheet would take for a formula is quoted
            feature.SetField(i, value.isoformat() if hasattr(value, "isoformat") else value)
        if asset.geom is not None:
            geometry = ogr.CreateGeometryFromWkb(bytes(asset.geom.wkb))
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
    dataset = None  # noqa: F841 - closing flushes the file
    return count


def _write_xlsx(records: Iterable[Any], path: Path, srid: int) -> int:
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
    transform = None if srid == 4326 else osr.CoordinateTransformation(_srs(4326), _srs(srid))
    requirements = evidence.active_requirements()
    count = 0
    for chunk in _chunks(records, CHUNK):
        ids = [asset.id for asset in chunk]  # (an as-of record's pk is its history row's)
        counts, present = evidence.document_counts(ids), evidence.present_types(ids)
        for asset in chunk:
            count += 1
            v = asset_values(asset)
            wkt = None
            if asset.geom is not None:
                geometry = ogr.CreateGeometryFromWkb(bytes(asset.geom.wkb))
                if transform is not None:
                    geometry.Transform(transform)
                wkt = geometry.ExportToIsoWkt()
            status = evidence.checklist_status(asset, present.get(asset.id, set()), requirements)
            row = [count, *(v[column.name] for column in columns), wkt, counts.get(asset.id, 0), status]
            sheet.append(cells.xlsx_row(sheet, row))
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
