"""The geometry rules of Sipanah: the one place that decides what a parcel geometry may be.

Forms, admin and API call :func:`normalize_parcel_geometry` (one geometry), the importers
:func:`normalize_parcel_geometries` (a batch, through ``services.prepare_parcels``); the first is a
batch of one of the second, so both apply the same rules. Areas: :func:`geodesic_areas_m2` (and
:func:`geodesic_area_m2` for one); nothing else validates or measures geometry.

Rules for a parcel geometry:

1. Polygon or MultiPolygon only (a GeometryCollection, point or line is refused).
2. 2D: Z and M are dropped.
3. Not empty; every part valid by GEOS (the message carries GEOS's reason and location).
4. Declared CRS required and known; coordinates in a geographic CRS must be valid lon/lat.
5. At most ``settings.SIPANAH_MAX_PARCEL_VERTICES`` vertices (SpatiaLite's WKT parser gives up near 450,000).
6. Inside the region where the city's parcels can lie (``SIPANAH_CITY["region_bbox"]``, Indonesia): a parcel
   outside it was given in the wrong CRS; the message names the CRS that would put it in the city, if one does.
7. Stored as MultiPolygon in SRID 4326.

Areas are geodesic on the WGS84 ellipsoid (pyproj.Geod, Karney's algorithm), computed in
Python so that SpatiaLite and PostGIS store exactly the same number. Planar work that needs
metres (ranking overlaps, nearest-kelurahan distances) uses ``settings.SIPANAH_AREA_SRID``,
TM-3 zone 50.1 (EPSG:23837) by default, never degrees or Web Mercator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.gdal import OGRGeometry, SpatialReference
from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon
from django.utils.translation import gettext as _
from pyproj import Geod, Transformer

from assets.register import place
from assets.register.place import STORAGE_SRID

# A parcel that touches no kelurahan but lies within this distance of one (piers, reclaimed
# coastal land, the slivers between the boundary polygons) is assigned to the nearest one.
NEAREST_KELURAHAN_TOLERANCE_M = 1000.0
# Clipping each parcel to a query shape is done in Python (the same number on SpatiaLite and PostGIS); above this
# many parcels the totals leave the clipped area out rather than stall.
MAX_CLIPPED_ASSETS = 20_000

_GEOD = Geod(ellps="WGS84")


class GeometryError(ValueError):
    """A geometry broke one of the rules; the message says which and where."""


def area_srid() -> int:
    return place.area_srid()


@lru_cache(maxsize=64)  # one SpatialReference per SRID, not per geometry (bulk imports call this per feature)
def _is_geographic(srid: int) -> bool:
    try:
        return bool(SpatialReference(srid).geographic)
    except (GDALException, TypeError, ValueError) as exc:
        raise GeometryError(_("Unknown coordinate reference system EPSG:%(srid)s.") % {"srid": srid}) from exc


def _to_geos(geom: GEOSGeometry | OGRGeometry | str, srid: int | None) -> tuple[GEOSGeometry, int]:
    """The geometry as GEOS, and its SRID: its own, else ``srid`` (set on it); GeometryError when it has neither."""
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
        return geom, srid
    return geom, geom.srid


def normalize_parcel_geometry(
    geom: GEOSGeometry | OGRGeometry | str | None, *, srid: int | None = None
) -> MultiPolygon:
    """Apply every geometry rule and return a 2D MultiPolygon in SRID 4326.

    ``srid`` is used only when the geometry carries none. Raises :class:`GeometryError`.
    A thin wrapper over :func:`normalize_parcel_geometries`, which decides.
    """
    if geom is None:
        raise GeometryError(_("The geometry is empty."))
    geom, geom_srid = _to_geos(geom, srid)
    if geom.empty:  # an empty Point has no WKB for to_shapely: a ValueError, a 500 on the form (fuzzing found it)
        raise GeometryError(_("The geometry is empty."))
    (result,), (error,) = normalize_parcel_geometries([to_shapely(geom)], geom_srid)
    if error is not None:
        raise GeometryError(error)
    # GEOSGeometry() gives the class of the WKB's type: a MultiPolygon here (the stubs say GEOSGeometry)
    return cast(MultiPolygon, GEOSGeometry(memoryview(shapely.to_wkb(result)), srid=STORAGE_SRID))


_POLYGON, _MULTIPOLYGON = shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON


def normalize_parcel_geometries(
    geoms: Sequence[shapely.Geometry | None] | np.ndarray, srid: int
) -> tuple[np.ndarray, list[str | None]]:
    """The geometry rules for a whole batch of shapely geometries, all in ``srid``: the one implementation.

    Returns the 2D MultiPolygons in SRID 4326 (None where refused) and, per geometry, None or the message
    saying which rule it broke (the messages of :class:`GeometryError`). Vectorised with shapely 2 (GEOS
    runs over the whole array); only the refused geometries get Python work, to word their message.
    """
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = list(geoms)  # a 1-D copy: the caller's array is never changed
    errors: list[str | None] = [None] * len(arr)
    ok = ~shapely.is_missing(arr)
    for i in np.flatnonzero(~ok):
        errors[i] = _("The geometry is empty.")
    arr = shapely.force_2d(arr)  # rule 2: Z and M dropped
    types = shapely.get_type_id(arr)
    bad_type = ok & (types != _POLYGON) & (types != _MULTIPOLYGON)
    for i in np.flatnonzero(bad_type):
        errors[i] = _("A parcel must be a Polygon or MultiPolygon, not a %(type)s.") % {"type": arr[i].geom_type}
    ok &= ~bad_type
    empty = ok & shapely.is_empty(arr)
    for i in np.flatnonzero(empty):
        errors[i] = _("The geometry is empty.")
    ok &= ~empty
    max_vertices = settings.SIPANAH_MAX_PARCEL_VERTICES
    vertices = shapely.get_num_coordinates(arr)
    too_many = ok & (vertices > max_vertices)
    for i in np.flatnonzero(too_many):
        errors[i] = _(
            "The parcel has %(count)s vertices; at most %(max)s are accepted. Simplify it in a GIS first."
        ) % {"count": f"{int(vertices[i]):,}", "max": f"{max_vertices:,}"}
    ok &= ~too_many
    source_bounds = shapely.bounds(arr)  # before reprojection: what the region rule's hint is worked out from
    if _is_geographic(srid):
        bounds = shapely.bounds(arr)
        with np.errstate(invalid="ignore"):
            outside = ok & ((bounds[:, 0] < -180) | (bounds[:, 2] > 180) | (bounds[:, 1] < -90) | (bounds[:, 3] > 90))
        for i in np.flatnonzero(outside):
            xmin, ymin, xmax, ymax = (float(v) for v in bounds[i])
            if place.city().contains_lonlat(ymin, ymax, xmin, xmax):
                errors[i] = _("Latitude and longitude are swapped: with them swapped the parcel lies in %(city)s.") % {
                    "city": place.city().name
                }
                continue
            message = _(
                "Coordinates spanning (%(xmin).6g, %(ymin).6g) to (%(xmax).6g, %(ymax).6g) are not valid "
                "longitude/latitude for EPSG:%(srid)s; projected data needs its own CRS (%(city)s: %(systems)s)."
            ) % {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "srid": srid, **_city_systems()}
            likely = likely_crs((xmin + xmax) / 2, (ymin + ymax) / 2, srid)
            if likely is not None:  # projected metres typed as lon/lat: say which of the city's systems fits
                message += " " + _("Read as %(crs)s they lie in %(city)s: that is probably their CRS.") % {
                    "crs": place.crs_name(likely),
                    "city": place.city().name,
                }
            errors[i] = message
        ok &= ~outside
    invalid = ok.copy()
    invalid[ok] = ~shapely.is_valid(arr[ok])
    for i in np.flatnonzero(invalid):
        errors[i] = _("Invalid geometry: %(reason)s.") % {"reason": shapely.is_valid_reason(arr[i])}
    ok &= ~invalid
    if srid != STORAGE_SRID and ok.any():
        # One geometry at a time through the same checked reprojection as the importers (absurd coordinates
        # are refused, not folded into a made-up place); importers hand over lon/lat already, so this is the
        # forms', admin's and API's path: a few geometries at a time.
        for i in np.flatnonzero(ok):
            try:
                arr[i] = reproject_to_lonlat(arr[i], srid, f"EPSG:{srid}")
            except GeometryError as exc:
                errors[i] = str(exc)
                ok[i] = False
            except Exception as exc:  # noqa: BLE001 - PROJ's errors have no common class; the message names it
                errors[i] = _("The geometry cannot be transformed from EPSG:%(srid)s: %(error)s") % {
                    "srid": srid,
                    "error": exc,
                }
                ok[i] = False
        invalid = ok.copy()
        invalid[ok] = ~shapely.is_valid(arr[ok])
        for i in np.flatnonzero(invalid):
            errors[i] = _("Invalid geometry after transformation to EPSG:4326: %(reason)s.") % {
                "reason": shapely.is_valid_reason(arr[i])
            }
        ok &= ~invalid
    _refuse_outside_region(arr, ok, errors, source_bounds, srid)
    polygons = ok & (types == _POLYGON)
    if polygons.any():
        arr[polygons] = shapely.multipolygons(arr[polygons][:, np.newaxis])  # rule 5: always a MultiPolygon
    arr[~ok] = None
    return arr, errors


def _refuse_outside_region(
    lonlat: np.ndarray, ok: np.ndarray, errors: list[str | None], source_bounds: np.ndarray, srid: int
) -> None:
    """Rule 6, in place: a parcel whose lon/lat extent leaves the region is refused, naming the likely CRS."""
    here = place.city()
    bounds = shapely.bounds(lonlat[ok]) if ok.any() else np.empty((0, 4))
    for i, (xmin, ymin, xmax, ymax) in zip(np.flatnonzero(ok), bounds, strict=True):
        if here.region_contains_lonlat(xmin, xmax, ymin, ymax):
            continue
        errors[i] = outside_region_message((xmin + xmax) / 2, (ymin + ymax) / 2, srid, f"EPSG:{srid}", source_bounds[i])
        ok[i] = False


def outside_region_message(lon: float, lat: float, srid: int | None, label: str, source_bounds: Sequence[float]) -> str:
    """Why coordinates read in ``srid`` (named ``label``) that land at (lon, lat), outside the region, were refused."""
    here = place.city()
    xmin, ymin, xmax, ymax = (float(v) for v in source_bounds)
    x, y = (xmin + xmax) / 2, (ymin + ymax) / 2
    likely = likely_crs(x, y, srid)
    if likely is not None:
        hint = _("Read as %(crs)s they lie in %(city)s: that is probably their CRS.") % {
            "crs": place.crs_name(likely),
            "city": here.name,
        }
    else:
        hint = _("In %(city)s: %(systems)s.") % _city_systems()
    return _(
        "Read as %(crs)s the coordinates land at longitude %(lon).4f, latitude %(lat).4f, outside %(region)s, "
        "where the parcels of %(city)s lie: the coordinate reference system is wrong. %(hint)s"
    ) % {"crs": label, "lon": lon, "lat": lat, "region": here.region, "city": here.name, "hint": hint}


def likely_crs(x: float, y: float, declared: int | None) -> int | None:
    """The city's CRS (lon/lat first) that would put the point (x, y), given in the wrong CRS, inside the city."""
    here = place.city()
    candidates = (STORAGE_SRID, *(code for code, _name in here.suggested_epsg), *here.accepted_epsg)
    for candidate in dict.fromkeys(candidates):
        if candidate == declared:
            continue
        try:
            with np.errstate(invalid="ignore", over="ignore"):
                lon, lat = transformer(candidate, STORAGE_SRID).transform(x, y)
        except Exception:  # noqa: BLE001, S112 - PROJ's errors have no common class; a candidate that fails is no guess
            continue
        if np.isfinite(lon) and np.isfinite(lat) and here.contains_lonlat(lon, lon, lat, lat):
            return candidate
    return None


def repair_parcel_geometries(geoms: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """MakeValid for the invalid Polygons/MultiPolygons of a batch (``--repair``), keeping their polygonal parts.

    Returns the geometries (repaired where needed) and, per geometry, None or GEOS's reason for the repair.
    """
    arr = np.array(geoms, dtype=object)
    reasons: list[str | None] = [None] * len(arr)
    types = shapely.get_type_id(arr)
    candidates = (types == _POLYGON) | (types == _MULTIPOLYGON)
    candidates[candidates] = ~shapely.is_valid(arr[candidates])
    for i in np.flatnonzero(candidates):
        reasons[i] = shapely.is_valid_reason(arr[i])
        repaired = shapely.make_valid(arr[i])
        if repaired.geom_type not in ("Polygon", "MultiPolygon"):
            parts = shapely.get_parts(repaired)
            polygons = [p for part in parts if part.geom_type in ("Polygon", "MultiPolygon") for p in
                        (shapely.get_parts(part) if part.geom_type == "MultiPolygon" else [part])]  # fmt: skip
            repaired = shapely.MultiPolygon(polygons) if polygons else repaired
        arr[i] = repaired
    return arr, reasons


_LOCATION = re.compile(r"\[\s*(-?[0-9.eE+-]+)\s+(-?[0-9.eE+-]+)")


def validity_location(geom: shapely.Geometry, srid: int) -> tuple[float, float] | None:
    """Where GEOS finds ``geom`` (in ``srid``) invalid, as (lon, lat); None when it is valid or GEOS names no point.

    GEOS's reason carries the point (``Self-intersection[116.855 -1.245]``, the text of rule 3's message); it is
    given back in lon/lat so that a map can show it."""
    if geom is None or shapely.is_valid(geom):
        return None
    found = _LOCATION.search(shapely.is_valid_reason(geom))
    if found is None:
        return None
    x, y = float(found.group(1)), float(found.group(2))
    if srid != STORAGE_SRID:
        try:
            with np.errstate(invalid="ignore", over="ignore"):
                x, y = transformer(srid, STORAGE_SRID).transform(x, y)
        except Exception:  # noqa: BLE001 - PROJ's errors have no common class: no location rather than a wrong one
            return None
    if not (np.isfinite(x) and np.isfinite(y) and abs(x) <= 180 and abs(y) <= 90):
        return None
    return round(float(x), 8), round(float(y), 8)


# A line read from a survey file counts as a parcel's closed outline when its two ends lie this close: exactly closed
# CAD polylines, and GPS tracks walked around the parcel, which end a few metres from where they began.
RING_CLOSURE_M = 1.0
RING_CLOSURE_SHARE = 0.02  # ... or within this share of the line's length (2 % of a 400 m walk: 8 m)


def ring_from_line(line: shapely.Geometry) -> shapely.Geometry | None:
    """The polygon a lon/lat line closes around (its ends joined), or None when it is not a closed outline: fewer
    than three distinct corners, or ends farther apart than RING_CLOSURE_M and RING_CLOSURE_SHARE of its length."""
    coords = shapely.get_coordinates(line)
    if len(coords) < 3:
        return None
    lons, lats = coords[:, 0], coords[:, 1]
    length = float(_GEOD.line_length(lons, lats))
    gap = float(_GEOD.inv(lons[0], lats[0], lons[-1], lats[-1])[2])
    if gap > max(RING_CLOSURE_M, RING_CLOSURE_SHARE * length):
        return None
    if gap > 0:
        coords = np.vstack([coords, coords[:1]])
    if len(np.unique(coords[:-1], axis=0)) < 3:
        return None
    return shapely.Polygon(coords)


def _city_systems() -> dict[str, str]:
    """The city's name and its suggested projected systems, for the messages about a wrong CRS."""
    here = place.city()
    return {"city": here.name, "systems": here.suggested_systems()}


def from_shapely(geom: shapely.Geometry, srid: int = STORAGE_SRID) -> GEOSGeometry:
    """A shapely geometry as GEOS (GeoDjango's), lon/lat unless ``srid`` says otherwise."""
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=srid)


def to_shapely(geom: GEOSGeometry) -> shapely.Geometry:
    return shapely.from_wkb(bytes(geom.wkb))


def geodesic_area_m2(geom: GEOSGeometry | shapely.Geometry | None) -> float | None:
    """Area on the WGS84 ellipsoid in m², rounded to 0.01 m² (None for no geometry); wraps :func:`geodesic_areas_m2`."""
    if geom is None:
        return None
    return geodesic_areas_m2([to_shapely(geom) if isinstance(geom, GEOSGeometry) else geom])[0]


def geodesic_areas_m2(geoms: Sequence[shapely.Geometry | None] | np.ndarray) -> list[float | None]:
    """Areas on the WGS84 ellipsoid in m², rounded to 0.01 m², of lon/lat (SRID 4326) polygonal geometries.

    Each ring is measured with pyproj's ``Geod.polygon_area_perimeter`` (Karney's algorithm) on its raw
    coordinate arrays, taken for the whole batch at once with shapely. pyproj's area is signed by the ring's
    orientation, and the shared Balikpapan data has clockwise shells: a polygon is |shell| - sum |holes|
    (what measuring it after orienting its rings would give). pyproj has no array form of the polygon area,
    so the loop is per ring, without any shapely object in it.
    """
    arr = np.asarray(geoms, dtype=object).ravel()
    out: list[float | None] = [None] * len(arr)
    present = np.flatnonzero(~shapely.is_missing(arr))
    if not len(present):
        return out
    polygons, polygon_owner = shapely.get_parts(arr[present], return_index=True)
    rings, ring_polygon = shapely.get_rings(polygons, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    starts = np.searchsorted(coord_ring, np.arange(len(rings) + 1))
    lons, lats = np.ascontiguousarray(coords[:, 0]), np.ascontiguousarray(coords[:, 1])
    shell = np.ones(len(rings), dtype=bool)
    shell[1:] = ring_polygon[1:] != ring_polygon[:-1]  # get_rings gives each polygon's shell first
    area_of = _GEOD.polygon_area_perimeter
    ring_areas = np.array([abs(area_of(lons[s:e], lats[s:e])[0]) for s, e in zip(starts[:-1], starts[1:], strict=True)])
    signed = np.where(shell, ring_areas, -ring_areas)
    totals = np.zeros(len(present))
    np.add.at(totals, polygon_owner[ring_polygon], signed)
    for i, total in zip(present, totals, strict=True):
        out[i] = round(abs(float(total)), 2)
    return out


@lru_cache(maxsize=8)
def transformer(source: int | str, target: int | str) -> Transformer:
    """A cached lon/lat-ordered (always_xy) transformer between two CRS (EPSG codes, or WKT for a custom CRS)."""
    return Transformer.from_crs(source, target, always_xy=True)


def reproject_to_lonlat(geom: shapely.Geometry, source: int | str, label: str) -> shapely.Geometry:
    """Reproject one 2D shapely geometry from ``source`` (EPSG code or WKT) to lon/lat, refusing absurd input.

    pyproj, not OGR's ``Geometry.Transform``: GDAL 3.6 loops forever on huge coordinates (x = 1e20 in Web
    Mercator). PROJ instead folds them into plausible lon/lat (121.36, 90), so the result must be finite, in
    lon/lat range AND transform back to the source coordinates (1e-4 + 1e-7 x |value|, in the source's unit:
    far below any survey error, far above PROJ's round-trip error); otherwise :class:`GeometryError` names
    the coordinates. ``label`` names the source CRS in the message.
    """
    coords = shapely.get_coordinates(geom)
    if not len(coords):
        return geom
    x, y = coords[:, 0], coords[:, 1]
    with np.errstate(invalid="ignore", over="ignore"):
        lon, lat = transformer(source, STORAGE_SRID).transform(x, y)
        ok = bool(np.isfinite(lon).all() and np.isfinite(lat).all())
        ok = ok and bool((np.abs(lon) <= 180).all() and (np.abs(lat) <= 90).all())
        if ok:
            back_x, back_y = transformer(STORAGE_SRID, source).transform(lon, lat)
            for back, source_values in ((back_x, x), (back_y, y)):
                ok = ok and bool((np.abs(back - source_values) <= 1e-4 + 1e-7 * np.abs(source_values)).all())
    if not ok:
        raise GeometryError(
            _(
                "Coordinates spanning (%(xmin).6g, %(ymin).6g) to (%(xmax).6g, %(ymax).6g) are outside what %(crs)s "
                "can describe: they give no valid longitude/latitude. The file's CRS is wrong or the coordinates are "
                "damaged (%(city)s: %(systems)s)."
            )
            % dict(
                zip(("xmin", "ymin", "xmax", "ymax"), shapely.bounds(geom).tolist(), strict=True),
                crs=label,
                **_city_systems(),
            )
        )
    return shapely.transform(geom, lambda _coords: np.column_stack([lon, lat]))


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


def distance_m(lon: float, lat: float, geom: GEOSGeometry | shapely.Geometry) -> float:
    """Metres from a lon/lat point to a lon/lat geometry (0 inside it), in the metric CRS (``area_srid()``)."""
    shape = to_shapely(geom) if isinstance(geom, GEOSGeometry) else geom
    return float(shapely.distance(to_metric(shapely.Point(lon, lat)), to_metric(shape)))


def from_metric(geom: shapely.Geometry, srid: int | None = None) -> shapely.Geometry:
    """Reproject a shapely geometry from the metric CRS (default: ``area_srid()``) back to lon/lat."""
    return reproject(geom, srid or area_srid(), STORAGE_SRID)


def buffer_metres(geom: shapely.Geometry, metres: float, quad_segs: int = 64) -> shapely.Geometry:
    """Buffer a lon/lat geometry by a distance in metres, in the metric CRS; the result is lon/lat.

    With 64 segments per quarter circle the polygon lies within 0.008 % of the true circle.
    """
    return from_metric(shapely.buffer(to_metric(geom), metres, quad_segs=quad_segs))


def clip_areas(geoms: Iterable[GEOSGeometry | None], shape: GEOSGeometry) -> Iterator[tuple[Any, float]]:
    """(geometry, geodesic m² of it inside ``shape``) for each geometry; 0 outside or for a line/point shape.

    The parcels are tested, clipped and measured as whole arrays (shapely 2, geo.geodesic_areas_m2): a query over a
    few thousand parcels spent most of its time in per-parcel Python calls. Each parcel's area is the sum, in order,
    of its polygonal parts inside the shape, each rounded to 0.01 m² as geo.geodesic_area_m2 rounds it.
    """
    geoms = list(geoms)
    query = to_shapely(shape)
    shapely.prepare(query)
    present = [i for i, geom in enumerate(geoms) if geom is not None]
    areas = [0.0] * len(geoms)
    if query.area > 0 and present:
        parcels = shapely.from_wkb([bytes(geom.wkb) for geom in geoms if geom is not None])  # those of present
        contained = shapely.contains(query, parcels)
        crossing = ~contained & shapely.intersects(query, parcels)
        inside = np.full(len(parcels), None, dtype=object)
        inside[contained] = parcels[contained]
        inside[crossing] = shapely.intersection(parcels[crossing], query)
        parts, owner = shapely.get_parts(inside, return_index=True)  # a Polygon stays itself, as before
        polygonal = np.isin(shapely.get_type_id(parts), (_POLYGON, _MULTIPOLYGON))
        for index, area in zip(owner[polygonal], geodesic_areas_m2(parts[polygonal]), strict=True):
            areas[present[index]] += area or 0.0
    yield from zip(geoms, areas, strict=True)


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
        self.geoms_array = np.array(self.geoms, dtype=object)

    def assign(self, parcel: GEOSGeometry | shapely.Geometry | None) -> AreaRef | None:
        if parcel is None:
            return None
        return self.assign_many([to_shapely(parcel) if isinstance(parcel, GEOSGeometry) else parcel])[0]

    def assign_many(self, parcels: Iterable[GEOSGeometry | shapely.Geometry | None]) -> list[AreaRef | None]:
        """The rule for a whole batch of lon/lat parcels (STRtree queries on the array): the one implementation."""
        arr = np.array(
            [to_shapely(p) if isinstance(p, GEOSGeometry) else p for p in parcels], dtype=object
        ).ravel()  # fmt: skip
        chosen = np.full(len(arr), -1)
        present = np.flatnonzero(~shapely.is_missing(arr))
        if not len(present):
            return [None] * len(arr)
        metric = to_metric(arr[present])
        # (1) the kelurahan the parcel intersects; with several, the largest shared area, ties to the lowest code
        inp, tree_idx = self.tree.query(metric, predicate="intersects")
        order = np.lexsort((tree_idx, inp))
        inp, tree_idx = inp[order], tree_idx[order]
        counts = np.bincount(inp, minlength=len(present))
        single = counts[inp] == 1
        chosen[present[inp[single]]] = tree_idx[single]
        multi = ~single
        if multi.any():
            overlap = shapely.area(shapely.intersection(metric[inp[multi]], self.geoms_array[tree_idx[multi]]))
            shared = np.array([round(float(a), 6) for a in overlap])  # Python's round, as the rule always had
            m_inp, m_tree = inp[multi], tree_idx[multi]
            best = np.lexsort((m_tree, -shared, m_inp))  # per parcel: largest area first, then lowest code
            first = np.ones(len(best), dtype=bool)
            first[1:] = m_inp[best][1:] != m_inp[best][:-1]
            chosen[present[m_inp[best][first]]] = m_tree[best][first]
        # (2) none: the nearest within the tolerance, ties to the lowest code; (3) else outside the city
        none = np.flatnonzero(counts == 0)
        if len(none):
            n_inp, n_tree = self.tree.query_nearest(
                metric[none], max_distance=NEAREST_KELURAHAN_TOLERANCE_M, all_matches=True
            )
            nearest = np.full(len(none), len(self.refs))
            np.minimum.at(nearest, n_inp, n_tree)  # ties: the lowest index is the lowest code
            found = nearest < len(self.refs)
            chosen[present[none[found]]] = nearest[found]
        return [self.refs[c] if c >= 0 else None for c in chosen]


def pairwise_intersection_areas_m2(
    left: Sequence[shapely.Geometry] | np.ndarray, right: Sequence[shapely.Geometry] | np.ndarray
) -> list[float]:
    """Geodesic m² of ``left[i] ∩ right[i]`` for each pair of lon/lat parcels (0.0 where they only touch).

    The importer's overlap check (assets.transfer.importing.overlaps) measures each pair its spatial index found
    with it: the intersection is computed on the lon/lat coordinates (GEOS, vectorised) and measured on the ellipsoid
    with :func:`geodesic_areas_m2`, so an overlap is in m² as the register's own areas are.
    """
    a, b = np.asarray(left, dtype=object).ravel(), np.asarray(right, dtype=object).ravel()
    if not len(a):
        return []
    shared = shapely.intersection(a, b, grid_size=None)
    parts, owner = shapely.get_parts(shared, return_index=True)
    polygonal = np.isin(shapely.get_type_id(parts), (_POLYGON, _MULTIPOLYGON))
    areas = [0.0] * len(a)
    for index, area in zip(owner[polygonal], geodesic_areas_m2(parts[polygonal]), strict=True):
        areas[int(index)] += area or 0.0
    return [round(area, 2) for area in areas]
