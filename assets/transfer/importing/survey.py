"""A surveyor's file read for the parcel outlines in it (the geometry check's ``file``): every polygon, and every
line that closes on itself (CAD polylines, a GPS track walked around the parcel: ``geo.ring_from_line``), in lon/lat,
labelled by its layer and feature name.

The import's reader, not a second one: the file is opened by ``source.open_dataset`` (the same hostile-file checks
and limits), each layer's CRS decided by ``crs.resolve_crs`` (declared, or named by the user when the file declares
none; refused when the coordinates cannot be in it, naming the likely CRS), coordinates reprojected by
``geo.reproject_to_lonlat``. It runs in the sandboxed child process (``sandbox.OutlineSource``) under the import's
budget; the parent checks the outlines by the register's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from django.utils.translation import gettext as _
from osgeo import ogr

from assets.register import geo, place
from assets.register.geo import GeometryError
from assets.transfer.importing.crs import resolve_crs
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.report import ImportFileError, ImportReport, out_of_memory
from assets.transfer.importing.source import open_dataset

# What a surveyor sends: CAD drawings, zipped Shapefiles, Google Earth, GPS tracks, GeoJSON (and GeoPackage).
SURVEY_FORMATS = {
    ".dxf": "DXF",
    ".zip": "Shapefile (zip)",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".gpx": "GPX",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
}
MAX_OUTLINES = 200  # outlines offered to choose from; a file with more is a map, not a parcel's survey
# Columns that name a feature, in this order (KML and GPX "Name", Shapefile attributes, a DXF entity's text).
NAME_FIELDS = ("name", "nama", "label", "text", "nib", "nomor", "no", "id", "kode")


@dataclass(frozen=True)
class Outline:
    label: str  # "layer · name" (a DXF's CAD layer), "#n" for a feature without a name, "(part k)" for a track's part
    wkb: bytes  # the outline in lon/lat, a Polygon or MultiPolygon, not yet checked by the rules


def read_outlines(path: Path, *, srid: str | None, limits: ImportLimits) -> tuple[list[Outline], int]:
    """The file's outlines (at most MAX_OUTLINES, in file order) and how many it holds. ``srid``: the CRS of a file
    that declares none (a DXF); a declared CRS is the file's own. Raises ImportFileError."""
    report = ImportReport(source=path.name)
    dataset = open_dataset(path, report=report, limits=limits, formats=SURVEY_FORMATS)
    outlines: list[Outline] = []
    found = features = 0
    for index in range(dataset.GetLayerCount()):
        layer = dataset.GetLayer(index)
        if layer.GetGeomType() == ogr.wkbNone or layer.GetFeatureCount() == 0:
            continue
        declared = layer.GetSpatialRef() is not None
        if not declared and not srid:
            raise ImportFileError(_no_crs_message(path, layer))
        crs = resolve_crs(layer, None if declared else srid, report)
        source = (
            None if crs.epsg == place.STORAGE_SRID or crs.srs is None else crs.srs.ExportToWkt(["FORMAT=WKT2_2019"])
        )
        definition = layer.GetLayerDefn()
        columns = {definition.GetFieldDefn(i).GetName().lower(): i for i in range(definition.GetFieldCount())}
        layer.ResetReading()
        for number, feature in enumerate(layer, start=1):
            features += 1
            if features > limits.max_features:
                raise ImportFileError(
                    _("The file holds more than %(max)s features, more than an import may take; send it in parts.")
                    % {"max": limits.max_features}
                )
            shapes = _outlines_of(feature.GetGeometryRef(), source, crs.label)
            label = _label(layer.GetName(), feature, columns, number)
            for part, shape in enumerate(shapes, start=1):
                found += 1
                if len(outlines) < MAX_OUTLINES:
                    name = (
                        label if len(shapes) == 1 else _("%(label)s (part %(part)s)") % {"label": label, "part": part}
                    )
                    outlines.append(Outline(name, shapely.to_wkb(shape)))
    return outlines, found


def _no_crs_message(path: Path, layer: Any) -> str:
    """A file without a CRS and none chosen: say which of the city's systems its coordinates look like."""
    hint = ""
    try:
        xmin, xmax, ymin, ymax = layer.GetExtent()
    except RuntimeError as exc:
        if out_of_memory(exc):
            raise
        xmin = xmax = ymin = ymax = 0.0
    likely = geo.likely_crs((xmin + xmax) / 2, (ymin + ymax) / 2, None)
    if likely is not None:
        hint = " " + _("Its coordinates look like %(crs)s.") % {"crs": place.crs_name(likely)}
    return (
        _("%(file)s declares no coordinate reference system: choose the one its coordinates are in.")
        % {"file": path.name}
        + hint
    )


def _label(layer_name: str, feature: Any, columns: dict[str, int], number: int) -> str:
    where = layer_name
    if "layer" in columns and feature.IsFieldSetAndNotNull(columns["layer"]):  # a DXF's CAD layer
        where = feature.GetFieldAsString(columns["layer"]).strip() or where
    for name in NAME_FIELDS:
        if name in columns and name != "layer" and feature.IsFieldSetAndNotNull(columns[name]):
            text = feature.GetFieldAsString(columns[name]).strip()
            if text:
                return f"{where} · {text[:80]}"
    return f"{where} #{number}"


def _outlines_of(geometry: Any, source: str | None, crs_label: str) -> list[shapely.Geometry]:
    """The outlines one feature holds, in lon/lat: a (multi)polygon as one, each closed line as one."""
    if geometry is None or geometry.IsEmpty():
        return []
    kind = ogr.GT_Flatten(geometry.GetGeometryType())
    if kind in (ogr.wkbGeometryCollection, ogr.wkbMultiLineString, ogr.wkbMultiCurve):
        return [o for i in range(geometry.GetGeometryCount())
                for o in _outlines_of(geometry.GetGeometryRef(i), source, crs_label)]  # fmt: skip
    if geometry.HasCurveGeometry():
        geometry = geometry.GetLinearGeometry()
        kind = ogr.GT_Flatten(geometry.GetGeometryType())
    if kind not in (ogr.wkbPolygon, ogr.wkbMultiPolygon, ogr.wkbLineString, ogr.wkbLinearRing):
        return []  # points (GPX waypoints, survey marks), TINs: not an outline
    shape = shapely.force_2d(shapely.from_wkb(bytes(geometry.ExportToIsoWkb())))
    try:
        if source is not None:
            shape = geo.reproject_to_lonlat(shape, source, crs_label)
    except GeometryError:
        return []  # coordinates the CRS cannot describe: not offered (the file's extent was checked already)
    if kind in (ogr.wkbLineString, ogr.wkbLinearRing):
        ring = geo.ring_from_line(shape)
        return [ring] if ring is not None else []
    return [shape]
