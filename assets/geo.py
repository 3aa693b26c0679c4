"""The geometry rules of Sipanah: the one place that decides what a parcel geometry may be.

Forms, admin, API, importers and the demo generator all call :func:`normalize_parcel_geometry`
and :func:`geodesic_area_m2`; nothing else validates or measures geometry.

Rules for a parcel geometry:

1. Polygon or MultiPolygon only (a GeometryCollection, point or line is refused).
2. 2D: Z and M are dropped.
3. Not empty; every part valid by GEOS (the message carries GEOS's reason and location).
4. Declared CRS required; coordinates in a geographic CRS must be valid lon/lat.
5. Stored as MultiPolygon in SRID 4326.

Areas are geodesic on the WGS84 ellipsoid (pyproj.Geod, Karney's algorithm), computed in
Python so that SpatiaLite and PostGIS store exactly the same number. Planar work that needs
metres (ranking overlaps, nearest-kelurahan distances) uses ``settings.SIPANAH_AREA_SRID``,
TM-3 zone 50.1 (EPSG:23837) by default, never degrees or Web Mercator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.gdal import OGRGeometry, SpatialReference
from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon, WKBWriter
from django.utils.translation import gettext as _
from pyproj import Geod, Transformer
from shapely.geometry.polygon import orient

STORAGE_SRID = 4326
# A parcel that touches no kelurahan but lies within this distance of one (piers, reclaimed
# coastal land, the slivers between the boundary polygons) is assigned to the nearest one.
NEAREST_KELURAHAN_TOLERANCE_M = 1000.0

_GEOD = Geod(ellps="WGS84")


class GeometryError(ValueError):
    """A geometry broke one of the rules; the message says which and where."""


def area_srid() -> int:
    return settings.SIPANAH_AREA_SRID


@lru_cache(maxsize=64)  # one SpatialReference per SRID, not per geometry (bulk imports call this per feature)
def _is_geographic(srid: int) -> bool:
    try:
        return bool(SpatialReference(srid).geographic)
    except (GDALException, TypeError, ValueError) as exc:
        raise GeometryError(_("Unknown coordinate reference system EPSG:%(srid)s.") % {"srid": srid}) from exc


def _to_geos(geom: GEOSGeometry | OGRGeometry | str, srid: int | None) -> GEOSGeometry:
    if isinstance(geom, OGRGeometry):
        if geom.srid is None and srid is not None:
            geom.srid = srid
        ogr_srid = geom.srid
        geom = GEOSGeometry(geom.wkb)
        geom.srid = ogr_srid
    elif isinstance(geom, str):
        try:
            geom = GEOSGeometry(geom)
        except (GEOSException, ValueError, GDALException) as exc:
            raise GeometryError(_("The geometry text cannot be read: %(error)s") % {"error": exc}) from exc
    if geom.srid is None:
        if srid is None:
            raise GeometryError(_("The geometry has no coordinate reference system; name one (for example EPSG:4326)."))
        geom.srid = srid
    return geom


def _drop_z(geom: GEOSGeometry) -> GEOSGeometry:
    if not geom.hasz:
        return geom
    writer = WKBWriter()
    writer.outdim = 2
    flat = GEOSGeometry(writer.write(geom))
    flat.srid = geom.srid
    return flat


def normalize_parcel_geometry(
    geom: GEOSGeometry | OGRGeometry | str | None, *, srid: int | None = None
) -> MultiPolygon:
    """Apply every geometry rule and return a 2D MultiPolygon in SRID 4326.

    ``srid`` is used only when the geometry carries none. Raises :class:`GeometryError`.
    """
    if geom is None:
        raise GeometryError(_("The geometry is empty."))
    geom = _drop_z(_to_geos(geom, srid))
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError(_("A parcel must be a Polygon or MultiPolygon, not a %(type)s.") % {"type": geom.geom_type})
    if geom.empty:
        raise GeometryError(_("The geometry is empty."))
    if _is_geographic(geom.srid):
        # shapely's bounds: the same GEOS envelope as geom.extent, without GeoDjango's per-vertex Python (5x faster)
        xmin, ymin, xmax, ymax = (float(v) for v in shapely.bounds(to_shapely(geom)))
        if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
            raise GeometryError(
                _(
                    "Coordinates spanning (%(xmin).6g, %(ymin).6g) to (%(xmax).6g, %(ymax).6g) are not valid "
                    "longitude/latitude for EPSG:%(srid)s; projected data needs its own CRS (Balikpapan: "
                    "TM-3 zone 50.1 = EPSG:23837, UTM 50S = EPSG:23880 or EPSG:32750)."
                )
                % {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "srid": geom.srid}
            )
    if not geom.valid:
        raise GeometryError(_("Invalid geometry: %(reason)s.") % {"reason": geom.valid_reason})
    if geom.srid != STORAGE_SRID:
        try:
            geom = geom.transform(STORAGE_SRID, clone=True)
        except (GDALException, GEOSException) as exc:
            raise GeometryError(
                _("The geometry cannot be transformed from EPSG:%(srid)s: %(error)s")
                % {"srid": geom.srid, "error": exc}
            ) from exc
        if not geom.valid:
            raise GeometryError(
                _("Invalid geometry after transformation to EPSG:4326: %(reason)s.") % {"reason": geom.valid_reason}
            )
    if isinstance(geom, Polygon):
        geom = MultiPolygon(geom, srid=STORAGE_SRID)
    return geom


def to_shapely(geom: GEOSGeometry) -> shapely.Geometry:
    return shapely.from_wkb(bytes(geom.wkb))


def geodesic_area_m2(geom: GEOSGeometry | shapely.Geometry | None) -> float | None:
    """Area on the WGS84 ellipsoid in m², rounded to 0.01 m² (None for no geometry).

    The input must be lon/lat (SRID 4326). Rings are oriented first because pyproj returns
    a signed area, and the shared Balikpapan data has clockwise shells.
    """
    if geom is None:
        return None
    shp = to_shapely(geom) if isinstance(geom, GEOSGeometry) else geom
    polygons = shp.geoms if hasattr(shp, "geoms") else [shp]
    total = 0.0
    for polygon in polygons:
        area, _perimeter = _GEOD.geometry_area_perimeter(orient(polygon, sign=1.0))
        total += area
    return round(abs(total), 2)


@lru_cache(maxsize=8)
def transformer(source: int, target: int) -> Transformer:
    """A cached lon/lat-ordered (always_xy) transformer between two EPSG codes."""
    return Transformer.from_crs(source, target, always_xy=True)


def reproject(geom: shapely.Geometry, source: int, target: int) -> shapely.Geometry:
    """Reproject a shapely geometry between two EPSG codes (x = longitude/easting)."""
    tr = transformer(source, target)

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _apply)


def to_metric(geom: shapely.Geometry, srid: int | None = None) -> shapely.Geometry:
    """Reproject a lon/lat shapely geometry to the metric CRS (default: ``area_srid()``)."""
    return reproject(geom, STORAGE_SRID, srid or area_srid())


def from_metric(geom: shapely.Geometry, srid: int | None = None) -> shapely.Geometry:
    """Reproject a shapely geometry from the metric CRS (default: ``area_srid()``) back to lon/lat."""
    return reproject(geom, srid or area_srid(), STORAGE_SRID)


def buffer_metres(geom: shapely.Geometry, metres: float, quad_segs: int = 64) -> shapely.Geometry:
    """Buffer a lon/lat geometry by a distance in metres, in the metric CRS; the result is lon/lat.

    With 64 segments per quarter circle the polygon lies within 0.008 % of the true circle.
    """
    return from_metric(shapely.buffer(to_metric(geom), metres, quad_segs=quad_segs))


@dataclass(frozen=True)
class AreaRef:
    """A kelurahan as the assignment rule sees it."""

    id: int
    code: str
    parent_id: int | None


class KelurahanIndex:
    """Assigns a parcel to one kelurahan, deterministically.

    The shared boundary data overlaps and leaves slivers, so a parcel may touch two kelurahan
    or none. The rule, in order:

    1. among the kelurahan the parcel intersects, the one sharing the largest area with it
       (measured in the metric CRS), ties broken by the lowest Kemendagri code;
    2. if it intersects none, the nearest kelurahan within ``NEAREST_KELURAHAN_TOLERANCE_M``
       metres, ties broken by the lowest code;
    3. otherwise no kelurahan: the parcel is outside the city and is reported as such.

    The kecamatan is the kelurahan's parent (the kecamatan layer is too coarse to be used).
    """

    def __init__(self, areas: Sequence[tuple[AreaRef, GEOSGeometry]]):
        ordered = sorted(areas, key=lambda item: item[0].code)
        self.refs = [ref for ref, _geom in ordered]
        self.geoms = [to_metric(to_shapely(geom)) for _ref, geom in ordered]
        for geom in self.geoms:
            shapely.prepare(geom)
        self.tree = shapely.STRtree(self.geoms)

    def assign(self, parcel: GEOSGeometry | shapely.Geometry | None) -> AreaRef | None:
        if parcel is None:
            return None
        shp = to_shapely(parcel) if isinstance(parcel, GEOSGeometry) else parcel
        metric = to_metric(shp)
        candidates = sorted(self.tree.query(metric, predicate="intersects"))
        if len(candidates) == 1:
            return self.refs[candidates[0]]
        if candidates:
            best = max(candidates, key=lambda i: (round(metric.intersection(self.geoms[i]).area, 6), -i))
            return self.refs[best]
        nearest = self.tree.query_nearest(metric, max_distance=NEAREST_KELURAHAN_TOLERANCE_M, all_matches=True)
        if len(nearest):
            return self.refs[int(min(nearest))]
        return None

    def assign_many(self, parcels: Iterable[GEOSGeometry | shapely.Geometry | None]) -> list[AreaRef | None]:
        return [self.assign(p) for p in parcels]
