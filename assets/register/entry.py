"""Geometry entry: what people type or paste for a parcel — a corner list, WKT or GeoJSON — read into a geometry, and
the check of a geometry by the register's rules (``geo``) with its overlaps (``overlaps``), as the drawing widget
shows it before saving (``/assets/geometry/check/``; a survey file is read by assets.transfer, which hands its
outlines to :func:`check_geometry`).

Nothing here decides what a parcel may be: :func:`check_geometry` asks ``geo.normalize_parcel_geometries`` (every
rule), ``geo.validity_location`` (where a self-intersection is), ``geo.geodesic_areas_m2`` and
``overlaps.find_overlaps``. The readers only turn text into shapely geometries in a declared CRS, and refuse input
they cannot read with :class:`EntryError`, whose messages name the line or part.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.utils.translation import gettext as _

from assets.register import geo, overlaps, place
from assets.register.place import STORAGE_SRID

MAX_TEXT_CHARS = 5_000_000  # a pasted geometry or corner list (100,000 vertices as WKT is about 4 MB)


class EntryError(ValueError):
    """The text cannot be read as a geometry; the message names the line or part."""


@dataclass
class CheckResult:
    """The answer of the geometry check (the endpoint's JSON, see :meth:`as_json`)."""

    geometry: shapely.Geometry | None = None  # lon/lat: normalised when valid, else as read (to show the problem)
    area_m2: float | None = None
    valid: bool = False
    errors: list[tuple[str, tuple[float, float] | None]] = field(default_factory=list)
    overlaps: list[overlaps.Overlap] = field(default_factory=list)

    def error(self, message: str, location: tuple[float, float] | None = None) -> None:
        self.errors.append((message, location))


# --- corner lists -------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def _number(text: str, decimal_comma: bool) -> float | None:
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    if "," in text:
        if not decimal_comma:
            return None
        text = text.replace(",", ".")
    value = float(text)
    return value if math.isfinite(value) else None


def _fields(line: str) -> tuple[list[str], bool] | None:
    """The fields of one corner line and whether a comma inside them is a decimal comma; None when ambiguous."""
    if "\t" in line:
        return line.split("\t"), True
    if ";" in line:
        return line.split(";"), True
    if "," in line:
        if "." in line:  # "116.85, -1.24": commas separate, points are decimals
            return line.split(","), False
        spaced = line.split()
        if len(spaced) >= 2:  # "116,85 -1,24": decimal commas, spaces separate
            return spaced, True
        parts = line.split(",")
        if len(parts) in (2, 3):  # "345678,9876543": whole numbers separated by commas
            return parts, False
        return None  # "116,85,-1,24": decimal commas or separators? refused rather than guessed
    return line.split(), False


def _corner(line: str) -> tuple[float, float] | None:
    """(x, y) of one line: "x y", "x,y", "x;y", tab-separated; a leading whole point number ("1 345678.1 9876543.2")
    or a trailing height ("116.85 -1.24 12.5") is dropped. None: not a corner line."""
    split = _fields(line)
    if split is None:
        return None
    parts, decimal_comma = [p.strip() for p in split[0] if p.strip()], split[1]
    numbers = [_number(p, decimal_comma) for p in parts]
    if len(numbers) not in (2, 3) or any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    if len(values) == 3:
        point_number = re.fullmatch(r"\d{1,5}", parts[0]) is not None
        values = values[1:] if point_number else values[:2]
    return values[0], values[1]


def parse_corners(text: str) -> shapely.Geometry:
    """A corner list read into a Polygon (one list) or MultiPolygon (lists separated by an empty line), in the CRS
    of its numbers. One corner per line; blank lines separate parts; the first line of a part may be a header; each
    list is closed automatically. Raises EntryError naming the line or part."""
    _check_length(text)
    parts: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            if current:
                parts.append(current)
                current = []
            continue
        corner = _corner(line)
        if corner is None:
            if not current and re.search(r"[^\W\d_]", line):  # a part's first line with letters: its header
                continue
            raise EntryError(
                _(
                    "Line %(line)s: “%(text)s” is not a corner. Write one corner per line as two numbers (x y, "
                    "or easting northing) separated by a space, comma, semicolon or tab."
                )
                % {"line": number, "text": line[:60]}
            )
        current.append(corner)
    if current:
        parts.append(current)
    if not parts:
        raise EntryError(_("The corner list is empty: write one corner per line."))
    polygons = []
    for index, corners in enumerate(parts, start=1):
        if corners[0] != corners[-1]:
            corners = [*corners, corners[0]]  # closed automatically
        if len(set(corners)) < 3:
            raise EntryError(
                _("Part %(part)s has %(count)s different corners; a parcel needs at least 3.")
                % {"part": index, "count": len(set(corners))}
            )
        polygons.append(shapely.Polygon(corners))
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def corner_srid(value: str | None) -> int:
    """The CRS a corner list is typed in: one of the city's entry systems (lon/lat, TM-3, UTM), by EPSG code."""
    allowed = place.city().entry_srids()
    text = re.sub(r"(?i)^epsg:", "", (value or "").strip())
    if not text.isdigit() or int(text) not in allowed:
        raise EntryError(
            _("Choose the coordinate system of the corners: %(choices)s.")
            % {"choices": ", ".join(place.crs_name(srid) for srid in allowed)}
        )
    return int(text)


# --- WKT and GeoJSON ----------------------------------------------------------------------------------------------

_CRS_NAME = re.compile(r"(?i)(?:EPSG:{1,2}|EPSG::?[\d.]*:)(\d{4,6})$")


def parse_geometry_text(text: str) -> tuple[shapely.Geometry, int]:
    """WKT (EWKT ``SRID=23837;…`` declares its CRS) or GeoJSON (a geometry, a Feature or a FeatureCollection of one
    feature; a ``crs`` member naming an EPSG code declares it): the geometry and its SRID, lon/lat (4326) unless
    declared. Raises EntryError."""
    _check_length(text)
    text = text.strip()
    if not text:
        raise EntryError(_("The geometry text is empty: paste WKT or GeoJSON."))
    if text[0] in "{[":
        return _geojson(text)
    srid = STORAGE_SRID
    declared = re.match(r"(?i)^SRID=(\d+)\s*;\s*", text)
    if declared:
        srid, text = int(declared.group(1)), text[declared.end() :]
    try:
        geom = shapely.from_wkt(text)
    except shapely.errors.GEOSException as exc:
        raise EntryError(_("The WKT cannot be read: %(error)s") % {"error": str(exc)[:200]}) from None
    return geom, srid


def _geojson(text: str) -> tuple[shapely.Geometry, int]:
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EntryError(
            _("The GeoJSON is not valid JSON: %(error)s (line %(line)s, column %(column)s).")
            % {"error": exc.msg, "line": exc.lineno, "column": exc.colno}
        ) from None
    srid = _geojson_srid(value)
    if isinstance(value, dict) and value.get("type") == "FeatureCollection":
        features = value.get("features") or []
        if len(features) != 1:
            raise EntryError(
                _("The GeoJSON holds %(count)s features; paste one parcel (one feature or geometry).")
                % {"count": len(features)}
            )
        value = features[0]
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or "type" not in value or "coordinates" not in value:
        raise EntryError(_('The GeoJSON must be a geometry with "type" and "coordinates", or a Feature holding one.'))
    try:
        geom = shapely.geometry.shape(value)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for malformed coordinate arrays
        raise EntryError(
            _("The GeoJSON %(type)s has malformed coordinates (%(error)s).")
            % {"type": str(value["type"])[:40], "error": str(exc)[:200]}
        ) from None
    return geom, srid


def _geojson_srid(value: Any) -> int:
    """The EPSG code a GeoJSON's (2008) ``crs`` member names; lon/lat (RFC 7946) without one."""
    crs = value.get("crs") if isinstance(value, dict) else None
    if crs is None:
        return STORAGE_SRID
    name = crs.get("properties", {}).get("name", "") if isinstance(crs, dict) else ""
    if isinstance(crs, dict) and crs.get("type") == "name" and isinstance(name, str):
        if name.upper().endswith("CRS84"):
            return STORAGE_SRID
        found = _CRS_NAME.search(name.strip())
        if found:
            return int(found.group(1))
    raise EntryError(
        _('The GeoJSON\'s "crs" is not an EPSG code by name (e.g. "urn:ogc:def:crs:EPSG::23837"); leave it out for '
          "longitude/latitude.")
    )  # fmt: skip


def parse_part_of(text: str | None) -> shapely.Geometry | None:
    """``part_of``: the parcel drawn so far (GeoJSON, lon/lat) that a new outline joins as a new part."""
    if not (text or "").strip():
        return None
    try:
        geom, srid = parse_geometry_text(text or "")
    except EntryError as exc:
        raise EntryError(_("part_of: %(error)s") % {"error": exc}) from None
    if srid != STORAGE_SRID:
        raise EntryError(_("part_of must be GeoJSON in longitude/latitude."))
    return geom


def _check_length(text: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise EntryError(
            _("The text is %(length)s characters long; at most %(max)s are accepted.")
            % {"length": f"{len(text):,}", "max": f"{MAX_TEXT_CHARS:,}"}
        )


# --- the check ----------------------------------------------------------------------------------------------------


def add_part(geom: shapely.Geometry, part_of: shapely.Geometry | None) -> shapely.Geometry:
    """``geom``'s polygons added to ``part_of``'s as new parts (both in the same CRS); rings are not merged, so a new
    part lying over an old one is an invalid parcel the check shows."""
    if part_of is None:
        return geom
    polygons = [p for g in (part_of, geom) for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
    others = [p for g in (part_of, geom) for p in shapely.get_parts(g) if p.geom_type != "Polygon"]
    if others:  # not polygons: let the rules word it
        return shapely.GeometryCollection([*polygons, *others])
    return shapely.MultiPolygon(polygons)


def check_geometry(geom: shapely.Geometry, srid: int, *, exclude: int | None = None) -> CheckResult:
    """Check a geometry (in ``srid``) by every rule of ``geo``: the normalised lon/lat MultiPolygon, its geodesic
    area, the problems (a self-intersection with its location) and the overlaps with the live register."""
    result = CheckResult()
    (normalized,), (error,) = geo.normalize_parcel_geometries([geom], srid)
    if error is not None:
        result.geometry = _lonlat_or_none(geom, srid)
        location = None
        if geom is not None and geom.geom_type in ("Polygon", "MultiPolygon"):
            location = geo.validity_location(geom, srid)
            if location is None and result.geometry is not None:
                location = geo.validity_location(result.geometry, STORAGE_SRID)
        result.error(error, location)
        return result
    result.geometry = normalized
    result.valid = True
    result.area_m2 = geo.geodesic_areas_m2([normalized])[0]
    result.overlaps = overlaps.find_overlaps(
        GEOSGeometry(memoryview(shapely.to_wkb(normalized)), srid=STORAGE_SRID),
        exclude=exclude,
        limit=overlaps.MAX_LISTED_OVERLAPS,
    )
    return result


def _lonlat_or_none(geom: shapely.Geometry | None, srid: int) -> shapely.Geometry | None:
    """The geometry as read, in lon/lat, to show where the problem is; None when it cannot be shown."""
    if geom is None or shapely.is_empty(geom) or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    geom = shapely.force_2d(geom)
    if srid == STORAGE_SRID:
        xmin, ymin, xmax, ymax = geom.bounds
        return geom if -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90 else None
    try:
        return geo.reproject_to_lonlat(geom, srid, f"EPSG:{srid}")
    except Exception:  # noqa: BLE001 - GeometryError or PROJ's own: nothing to show
        return None


def geojson(geom: shapely.Geometry | None) -> dict[str, Any] | None:
    """A lon/lat geometry as a GeoJSON object (a MultiPolygon for a parcel)."""
    if geom is None:
        return None
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    return json.loads(shapely.to_geojson(geom))
