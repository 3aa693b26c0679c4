"""Spatial query input: bbox, GeoJSON shapes, a point with a distance, a corridor, an area code.

Shared by the REST API, the OGC API and the planners' query page so that a query means the
same everywhere. Every parser raises :class:`QueryError` with a message that names the
parameter and the problem; views turn it into HTTP 400 (API) or a form error (pages).

Distances are metres in the metric CRS of assets.geo (TM-3 zone 50.1 by default), never degrees.
"""

from __future__ import annotations

import json
import math
from typing import Any

import django_filters
import shapely
from django import forms
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from shapely.validation import explain_validity

from assets.register import geo
from assets.register.filters import AssetFilter
from assets.register.models import AdministrativeArea, LandAsset
from assets.register.selectors import intersecting

MAX_DISTANCE_M = 100_000.0  # Balikpapan is ~50 km across; more is a mistake, not a query
MAX_QUERY_VERTICES = 20_000
QUERY_GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


class QueryError(ValueError):
    """Bad query input; the message names the parameter and the problem."""


def _number(text: str, param: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise QueryError(_("%(param)s: %(value)r is not a number.") % {"param": param, "value": text}) from None
    if not math.isfinite(value):
        raise QueryError(_("%(param)s: %(value)r is not a finite number.") % {"param": param, "value": text})
    return value


def _check_lon_lat(lon: float, lat: float, param: str) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise QueryError(
            _("%(param)s: (%(lon)s, %(lat)s) is outside longitude -180..180 / latitude -90..90 (CRS84).")
            % {"param": param, "lon": lon, "lat": lat}
        )


def parse_bbox(text: str, param: str = "bbox") -> tuple[float, float, float, float]:
    """``minLon,minLat,maxLon,maxLat`` (or 6 numbers with heights, which are ignored) in CRS84."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) not in (4, 6):
        raise QueryError(
            _("%(param)s needs 4 numbers minLon,minLat,maxLon,maxLat (or 6 with heights), got %(n)d.")
            % {"param": param, "n": len(parts)}
        )
    numbers = [_number(p, param) for p in parts]
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    xmin, ymin, xmax, ymax = numbers
    _check_lon_lat(xmin, ymin, param)
    _check_lon_lat(xmax, ymax, param)
    if xmin > xmax or ymin > ymax:
        raise QueryError(
            _("%(param)s: the minimum corner (%(xmin)s, %(ymin)s) must be below and left of the maximum corner.")
            % {"param": param, "xmin": xmin, "ymin": ymin}
        )
    return xmin, ymin, xmax, ymax


def bbox_geometry(bbox: tuple[float, float, float, float]) -> GEOSGeometry:
    xmin, ymin, xmax, ymax = bbox
    # A degenerate box is a point or a line: still a valid query, but not a valid polygon.
    if xmin == xmax and ymin == ymax:
        return _to_geos(shapely.Point(xmin, ymin))
    if xmin == xmax or ymin == ymax:
        return _to_geos(shapely.LineString([(xmin, ymin), (xmax, ymax)]))
    return _to_geos(shapely.box(xmin, ymin, xmax, ymax))


def _to_geos(shp: shapely.Geometry) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(shp)), srid=geo.STORAGE_SRID)


def parse_geojson_geometry(value: str | dict[str, Any], param: str = "intersects") -> shapely.Geometry:
    """A GeoJSON geometry (or a Feature holding one) in CRS84, checked to be a usable query shape."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise QueryError(
                _("%(param)s is not valid JSON: %(error)s (line %(line)d, column %(col)d).")
                % {"param": param, "error": exc.msg, "line": exc.lineno, "col": exc.colno}
            ) from None
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or "type" not in value:
        raise QueryError(
            _('%(param)s must be a GeoJSON geometry object with "type" and "coordinates".') % {"param": param}
        )
    if str(value["type"]) not in QUERY_GEOMETRY_TYPES:
        raise QueryError(
            _("%(param)s: geometry type %(type)r is not supported; use one of %(types)s.")
            % {"param": param, "type": str(value["type"])[:40], "types": ", ".join(QUERY_GEOMETRY_TYPES)}
        )
    if "coordinates" not in value:
        raise QueryError(_('%(param)s: the %(type)s has no "coordinates".') % {"param": param, "type": value["type"]})
    try:
        shp = shapely.geometry.shape(value)
    except Exception as exc:  # shapely raises several types for malformed coordinate arrays
        raise QueryError(
            _("%(param)s: the %(type)s coordinates are malformed (%(error)s).")
            % {"param": param, "type": value["type"], "error": str(exc)[:200]}
        ) from None
    if shp.is_empty:
        raise QueryError(_("%(param)s: the geometry is empty.") % {"param": param})
    coords = shapely.get_coordinates(shp)
    if len(coords) > MAX_QUERY_VERTICES:
        raise QueryError(
            _("%(param)s has %(n)d vertices; at most %(max)d are allowed.")
            % {"param": param, "n": len(coords), "max": MAX_QUERY_VERTICES}
        )
    if not all(math.isfinite(c) for c in coords.ravel()):
        raise QueryError(_("%(param)s: coordinates must be finite numbers.") % {"param": param})
    xmin, ymin, xmax, ymax = shp.bounds
    _check_lon_lat(xmin, ymin, param)
    _check_lon_lat(xmax, ymax, param)
    if not shp.is_valid:
        raise QueryError(
            _("%(param)s is not a valid geometry: %(reason)s.") % {"param": param, "reason": explain_validity(shp)}
        )
    return shp


def parse_point(text: str, param: str = "point") -> shapely.Point:
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2:
        raise QueryError(_("%(param)s needs two numbers lon,lat.") % {"param": param})
    lon, lat = (_number(p, param) for p in parts)
    _check_lon_lat(lon, lat, param)
    return shapely.Point(lon, lat)


def parse_distance(text: str | float, param: str = "distance") -> float:
    value = _number(text, param)
    if value <= 0 or value > MAX_DISTANCE_M:
        raise QueryError(
            _("%(param)s must be more than 0 and at most %(max)d metres, got %(value)s.")
            % {"param": param, "max": int(MAX_DISTANCE_M), "value": value}
        )
    return value


def metric_buffer(shp: shapely.Geometry, metres: float) -> GEOSGeometry:
    """The area within ``metres`` of a lon/lat shape, computed in the metric CRS (assets.geo)."""
    return _to_geos(geo.buffer_metres(shp, metres))


def _error(message: str) -> forms.ValidationError:
    """A finished message as a ValidationError: passed as a parameter, because django-filter applies
    ``message % params`` again and a '%' typed by the user would break that."""
    return forms.ValidationError("%(message)s", code="invalid", params={"message": message})


class _ParsedField(forms.CharField):
    """A form field whose cleaned value is produced by one of the parsers above."""

    parser: Any = None

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value in (None, ""):
            return None
        try:
            return type(self).parser(value, self.param_name)
        except QueryError as exc:
            raise _error(str(exc)) from None

    param_name = ""


def _parsed_filter(parser: Any, name: str) -> type[django_filters.Filter]:
    field = type(f"{name.title()}Field", (_ParsedField,), {"parser": staticmethod(parser), "param_name": name})
    return type(f"{name.title()}Filter", (django_filters.Filter,), {"field_class": field})


class SpatialQueryForm(forms.Form):
    """Checks that need several parameters at once (django-filter validates each alone)."""

    area_obj: AdministrativeArea | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for first, second in (("point", "distance"), ("corridor", "buffer")):
            if first in self.errors or second in self.errors:
                continue
            if (data.get(first) is None) != (data.get(second) is None):
                missing = second if data.get(second) is None else first
                self.add_error(
                    missing,
                    _("%(a)s and %(b)s go together; %(missing)s is missing.")
                    % {"a": first, "b": second, "missing": missing},
                )
        corridor = data.get("corridor")
        if corridor is not None and corridor.geom_type not in ("LineString", "MultiLineString"):
            self.add_error("corridor", _("corridor must be a LineString or MultiLineString."))
        code = data.get("area")
        if code:
            area = AdministrativeArea.objects.filter(code=code).only("id", "geom", "level", "name").first()
            if area is None:
                self.add_error(
                    "area", _error(_("area: no kecamatan or kelurahan has the code %(code)s.") % {"code": code})
                )
            else:
                self.area_obj = area  # not in cleaned_data: django-filter runs a filter per cleaned value
        return data


class SpatialAssetFilter(AssetFilter):
    """The register filters plus spatial ones; every shape given is combined with AND."""

    bbox = _parsed_filter(parse_bbox, "bbox")(
        method="filter_bbox",
        label=gettext_lazy("Bounding box minLon,minLat,maxLon,maxLat (CRS84)"),
    )
    intersects = _parsed_filter(parse_geojson_geometry, "intersects")(
        method="filter_intersects",
        label=gettext_lazy("Intersects a GeoJSON geometry (CRS84)"),
    )
    point = _parsed_filter(parse_point, "point")(method="filter_noop", label=gettext_lazy("Point lon,lat"))
    distance = _parsed_filter(parse_distance, "distance")(
        method="filter_noop",
        label=gettext_lazy("Within this many metres of the point"),
    )
    corridor = _parsed_filter(parse_geojson_geometry, "corridor")(
        method="filter_noop",
        label=gettext_lazy("Corridor centre line (GeoJSON LineString)"),
    )
    buffer = _parsed_filter(parse_distance, "buffer")(
        method="filter_noop",
        label=gettext_lazy("Corridor width on each side of the line (m)"),
    )
    area = django_filters.CharFilter(
        method="filter_noop", label=gettext_lazy("Inside the kecamatan or kelurahan (code)")
    )

    class Meta(AssetFilter.Meta):
        form = SpatialQueryForm

    def filter_noop(self, queryset: QuerySet[LandAsset], name: str, value: Any) -> QuerySet[LandAsset]:
        return queryset  # applied together in filter_queryset, which needs pairs of values

    def filter_bbox(self, queryset: QuerySet[LandAsset], name: str, value: Any) -> QuerySet[LandAsset]:
        return intersecting(queryset, bbox_geometry(value)) if value else queryset

    def filter_intersects(self, queryset: QuerySet[LandAsset], name: str, value: Any) -> QuerySet[LandAsset]:
        return intersecting(queryset, _to_geos(value)) if value else queryset

    def query_shape(self) -> GEOSGeometry | None:
        """The shape the spatial parameters describe (intersection of all of them), or None."""
        data = self.form.cleaned_data
        shapes: list[GEOSGeometry] = []
        if data.get("bbox"):
            shapes.append(bbox_geometry(data["bbox"]))
        if data.get("intersects") is not None:
            shapes.append(_to_geos(data["intersects"]))
        if data.get("point") is not None and data.get("distance"):
            shapes.append(metric_buffer(data["point"], data["distance"]))
        if data.get("corridor") is not None and data.get("buffer"):
            shapes.append(metric_buffer(data["corridor"], data["buffer"]))
        if self.form.area_obj is not None:
            shapes.append(self.form.area_obj.geom)
        if not shapes:
            return None
        shape = shapes[0]
        for other in shapes[1:]:
            shape = shape.intersection(other)
        return shape

    def filter_queryset(self, queryset: QuerySet[LandAsset]) -> QuerySet[LandAsset]:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        if data.get("point") is not None and data.get("distance"):
            queryset = intersecting(queryset, metric_buffer(data["point"], data["distance"]))
        if data.get("corridor") is not None and data.get("buffer"):
            queryset = intersecting(queryset, metric_buffer(data["corridor"], data["buffer"]))
        if self.form.area_obj is not None:
            queryset = intersecting(queryset, self.form.area_obj.geom)
        return queryset


def unknown_params(params: Any, allowed: set[str]) -> list[str]:
    return sorted(k for k in params if k not in allowed)
