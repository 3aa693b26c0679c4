"""A feature's geometry as the importer takes it: read by OGR, curves made of straight segments (CURVE_STEP_DEGREES),
Z and M dropped, a closed line made a polygon, empty parts left out, anything else that is not an outline (a point,
an open line, a TIN, a collection holding lines) refused naming its type, reprojected to lon/lat with geo's checked
reprojection, repaired on request. Runs where the file is read (the sandboxed child process,
assets.transfer.importing.sandbox); the geometry rules proper run in the parent (services.prepare_parcels)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import shapely
from django.utils.translation import gettext as _
from osgeo import ogr

from assets.register import geo
from assets.transfer.importing.records import Record
from assets.transfer.importing.values import ValueRefused, text_of

# Curves (CircularString, CompoundCurve, CurvePolygon, MultiCurve, MultiSurface) are made of straight segments by
# OGR, each spanning at most this angle of its arc: a segment strays from the arc by at most r·(1 − cos 0.5°), that is
# 0.0038 % of the arc's radius (1.9 mm on a 50 m arc), and a full circle gets 360 vertices.
CURVE_STEP_DEGREES = 1.0
# how far a segment strays from its arc, as a share of the arc's radius: 1 − cos(step / 2)
CURVE_DEVIATION = 1 - math.cos(math.radians(CURVE_STEP_DEGREES / 2))

_POINTS = (ogr.wkbPoint, ogr.wkbMultiPoint)
_SURFACES_3D = (ogr.wkbTIN, ogr.wkbPolyhedralSurface)  # faces of a terrain or a 3D model, not an outline
_POLYGONS = (ogr.wkbPolygon, ogr.wkbTriangle)


@dataclass(frozen=True)
class GeometryPlan:
    """What the reading needs to know besides the file: the WKT column (a CSV's or a sheet's), the source CRS as
    WKT for pyproj (None: lon/lat already) with its label, whether to repair invalid geometry."""

    wkt_column: int | None = None
    source_crs: str | None = None
    crs_label: str = ""
    repair: bool = False


@dataclass(frozen=True)
class ReadGeometry:
    geom: shapely.Geometry | None  # lon/lat, 2D or not yet checked by the geometry rules
    present: bool  # the feature has a geometry (an empty one counts as none)
    repaired: str | None = None  # GEOS's reason, when MakeValid repaired it
    curve: str | None = None  # the type of a curved geometry made of straight segments (CURVEPOLYGON …)


def read_geometry(record: Record, plan: GeometryPlan) -> ReadGeometry:
    """The record's geometry in lon/lat. Raises ValueRefused or geo.GeometryError (a point, unreadable WKT,
    coordinates the source CRS cannot describe)."""
    if record.shape is not None:  # a Polygon/MultiPolygon read as a batch (Arrow)
        if shapely.is_empty(record.shape):
            return ReadGeometry(None, False)
        return _finish(_lonlat(record.shape, plan), plan)
    ogr_geom = record.ogr_geometry()
    if ogr_geom is None and plan.wkt_column is not None:
        text = text_of(record.values.get(plan.wkt_column))
        if text:
            try:
                ogr_geom = ogr.CreateGeometryFromWkt(text)
            except RuntimeError as exc:
                raise ValueRefused(_("The WKT geometry cannot be read: %(error)s") % {"error": exc}) from exc
    if ogr_geom is None or ogr_geom.IsEmpty():
        return ReadGeometry(None, False)
    name = ogr_geom.GetGeometryName()
    curve = name if ogr_geom.HasCurveGeometry(True) else None  # holds arcs
    # a curve type (MultiSurface, CompoundCurve …) even with straight parts only: made its linear counterpart
    linear = ogr_geom.GetLinearGeometry(CURVE_STEP_DEGREES) if ogr_geom.HasCurveGeometry() else ogr_geom.Clone()
    linear.FlattenTo2D()  # Z and M dropped (geometry rule 2), here already: the types below are 2D
    if ogr.GT_Flatten(linear.GetGeometryType()) in _POINTS:
        centroid = shapely.centroid(_lonlat(shapely.from_wkb(bytes(linear.ExportToIsoWkb())), plan))
        raise ValueRefused(
            _("A point (%(x).6f, %(y).6f) is not a parcel: give the parcel's outline, or leave the geometry "
              "empty for an asset whose location is unknown.") % {"x": centroid.x, "y": centroid.y}
        )  # fmt: skip
    polygons = _polygons(linear, name)
    if not polygons:  # nothing but empty parts
        return ReadGeometry(None, False)
    multi = ogr.Geometry(ogr.wkbMultiPolygon)
    for polygon in polygons:
        multi.AddGeometry(polygon)
    geom = _lonlat(shapely.from_wkb(bytes(multi.ExportToIsoWkb())), plan)
    finished = _finish(geom, plan)
    return ReadGeometry(finished.geom, True, finished.repaired, curve)


def _polygons(geom: Any, name: str) -> list[Any]:
    """The polygons of a linear 2D OGR geometry read as a parcel (empty parts left out); raises ValueRefused naming
    the type (``name``, the file's own) for anything that is not an outline: an open line, a TIN or polyhedral
    surface, a collection holding points or lines."""
    kind = ogr.GT_Flatten(geom.GetGeometryType())
    if geom.IsEmpty():
        return []
    if kind in _POLYGONS:
        polygon = ogr.Geometry(ogr.wkbPolygon)
        for i in range(geom.GetGeometryCount()):
            polygon.AddGeometry(geom.GetGeometryRef(i))
        return [polygon]
    if kind == ogr.wkbLineString:  # a closed line is the parcel's boundary (CAD drafts, KML outlines)
        if not geom.IsRing() and not _closed(geom):
            if _gap(geom) == 0:  # closed on fewer than 4 points: no area to enclose
                raise ValueRefused(
                    _("A %(type)s is not a parcel: give the parcel's outline as a Polygon.") % {"type": name}
                )
            raise ValueRefused(
                _("A %(type)s that does not close (it ends %(gap).6g units from where it starts) is not a parcel "
                  "outline: close it, or give the parcel as a Polygon.") % {"type": name, "gap": _gap(geom)}
            )  # fmt: skip
        return [ogr.ForceToPolygon(geom.Clone())]
    if kind in _SURFACES_3D:
        raise ValueRefused(
            _("A %(type)s (a surface of %(count)s faces, as a terrain or a 3D model is made) is not a parcel "
              "outline: give the parcel's outline as a Polygon.") % {"type": name, "count": geom.GetGeometryCount()}
        )  # fmt: skip
    if kind in (ogr.wkbMultiPolygon, ogr.wkbMultiLineString, ogr.wkbGeometryCollection):
        parts: list[Any] = []
        for i in range(geom.GetGeometryCount()):
            part = geom.GetGeometryRef(i)
            part_kind = ogr.GT_Flatten(part.GetGeometryType())
            if kind == ogr.wkbGeometryCollection and part_kind not in (*_POLYGONS, ogr.wkbMultiPolygon):
                if part.IsEmpty():
                    continue
                raise ValueRefused(
                    _("A %(type)s holding a %(part)s is not a parcel: a parcel is one or more polygons.")
                    % {"type": name, "part": part.GetGeometryName()}
                )
            parts += _polygons(part, name)
        return parts
    raise ValueRefused(_("A %(type)s is not a parcel: give the parcel's outline as a Polygon.") % {"type": name})


def _closed(line: Any) -> bool:
    count = line.GetPointCount()
    return count >= 4 and line.GetPoint_2D(0) == line.GetPoint_2D(count - 1)


def _gap(line: Any) -> float:
    (x0, y0), (x1, y1) = line.GetPoint_2D(0), line.GetPoint_2D(line.GetPointCount() - 1)
    return float(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)


def _lonlat(geom: shapely.Geometry, plan: GeometryPlan) -> shapely.Geometry:
    """The geometry in lon/lat; geo's pyproj reprojection refuses absurd coordinates (GeometryError)."""
    if plan.source_crs is None:
        return geom
    return geo.reproject_to_lonlat(geom, plan.source_crs, plan.crs_label)


def _finish(geom: shapely.Geometry, plan: GeometryPlan) -> ReadGeometry:
    if plan.repair:
        (repaired,), (reason,) = geo.repair_parcel_geometries([geom])
        if reason is not None:
            return ReadGeometry(repaired, True, reason)
    return ReadGeometry(geom, True)
