"""A feature's geometry as the importer takes it: read by OGR, a closed line or a curve made a polygon, a point
refused, reprojected to lon/lat with geo's checked reprojection, repaired on request. Runs where the file is read
(the sandboxed child process, assets.transfer.importing.sandbox); the geometry rules proper run in the parent
(assets.register.services.prepare_parcels)."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from django.utils.translation import gettext as _
from osgeo import ogr

from assets.register import geo
from assets.transfer.importing.records import Record
from assets.transfer.importing.values import ValueRefused, text_of

# Types drawn as lines or curves that close around a parcel: CAD drafts (DXF) and KML outlines.
_LINEAR = (ogr.wkbLineString, ogr.wkbMultiLineString, ogr.wkbCurvePolygon, ogr.wkbMultiSurface, ogr.wkbCompoundCurve,
           ogr.wkbCircularString)  # fmt: skip


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
    ogr_geom = ogr_geom.Clone()
    kind = ogr.GT_Flatten(ogr_geom.GetGeometryType())
    if kind in _LINEAR:
        # A closed ring is the parcel's boundary; curves are linearised by OGR on the way.
        ogr_geom = ogr.ForceToMultiPolygon(ogr.ForceToPolygon(ogr_geom) if kind == ogr.wkbLineString else ogr_geom)
    elif kind == ogr.wkbGeometryCollection:
        parts = [ogr_geom.GetGeometryRef(i) for i in range(ogr_geom.GetGeometryCount())]
        if parts and all(ogr.GT_Flatten(p.GetGeometryType()) in (ogr.wkbPolygon, ogr.wkbMultiPolygon) for p in parts):
            ogr_geom = ogr.ForceToMultiPolygon(ogr_geom)
    geom = _lonlat(shapely.from_wkb(bytes(ogr_geom.ExportToIsoWkb())), plan)
    if kind in (ogr.wkbPoint, ogr.wkbMultiPoint):
        centroid = shapely.centroid(geom)
        raise ValueRefused(
            _("A point (%(x).6f, %(y).6f) is not a parcel: give the parcel's outline, or leave the geometry "
              "empty for an asset whose location is unknown.") % {"x": centroid.x, "y": centroid.y}
        )  # fmt: skip
    return _finish(geom, plan)


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
