"""The planners' query page /query/: draw a shape or pick an area, get the register inside it with totals."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import folium
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from folium.elements import JSCSSMixin
from jinja2 import Template

from assets.maps import builders
from assets.query import totals
from assets.query.params import SpatialAssetFilter
from assets.register import permissions, selectors
from assets.transfer import exports

MAX_TABLE_ROWS = 500  # the table and the map show this many; totals and exports cover every match
SHAPE_PARAMS = ("bbox", "intersects", "point", "corridor", "area")


class QueryDraw(JSCSSMixin, folium.MacroElement):
    """Leaflet.draw (vendored) wired to the query form by js/sipanah-query.js."""

    _template = Template(
        "{% macro script(this, kwargs) %}SipanahQuery.attach({{ this._parent.get_name() }}, "
        "{{ this.labels|tojson }});{% endmacro %}"
    )

    def __init__(self, labels: dict[str, str]) -> None:
        super().__init__()
        self.labels = labels

    def render(self, **kwargs: Any) -> None:
        # Resolved at render time like {% static %}; never a CDN (builders.render_map_parts checks).
        self.default_js = [
            ("leaflet_draw", static("vendor/leaflet-draw/leaflet.draw.js")),
            ("sipanah_query", static("js/sipanah-query.js")),
        ]
        self.default_css = [("leaflet_draw_css", static("vendor/leaflet-draw/leaflet.draw.css"))]
        super().render(**kwargs)


def _result_map(
    shape_geojson: dict[str, Any] | None, features: list[dict[str, Any]], *, nonce: str
) -> builders.MapParts:
    m = builders.SipanahMap(location=builders.CITY_CENTER, zoom_start=12, tiles=None, control_scale=True, max_zoom=20)
    url = builders.basemap_url()
    if url:
        folium.TileLayer(url, name=_("Basemap (OpenStreetMap)"), attr="© OpenStreetMap contributors").add_to(m)
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=_("Assets found"),
            style_function=lambda _f: {"color": "#0d47a1", "weight": 2, "fillColor": "#1976d2", "fillOpacity": 0.4},
        ).add_to(m)
    if shape_geojson:
        layer = folium.GeoJson(
            shape_geojson,
            name=_("Query shape"),
            style_function=lambda _f: {"color": "#e65100", "weight": 2, "fillOpacity": 0.05, "dashArray": "6 4"},
        )
        layer.add_to(m)
        m.fit_bounds(layer.get_bounds())
    QueryDraw({"needBuffer": _("Enter the corridor width (metres on each side of the line) first.")}).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return builders.render_map_parts(m, nonce=nonce)


def query_page(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_register(request.user):
        raise PermissionDenied(_("Your role does not allow this."))
    asset_filter = SpatialAssetFilter(request.GET or None, queryset=selectors.asset_list())
    context: dict[str, Any] = {
        "filter": asset_filter,
        "kecamatan": selectors.kecamatan_list(),
        "kelurahan": selectors.kelurahan_list(),
        "searched": False,
        "max_rows": MAX_TABLE_ROWS,
    }
    shape_geojson = None
    features: list[dict[str, Any]] = []
    has_shape = any(request.GET.get(p) for p in SHAPE_PARAMS)
    if asset_filter.is_bound and asset_filter.is_valid() and has_shape:
        shape = asset_filter.query_shape()
        qs = asset_filter.qs.order_by("kode_barang", "nomor_register")
        rows = totals.rows_with_area_inside(qs.defer(None), shape, limit=MAX_TABLE_ROWS)
        result_totals = totals.query_totals(qs, shape=shape)
        shape_geojson = json.loads(shape.geojson) if shape is not None else None
        features = [
            {"type": "Feature", "geometry": json.loads(r.asset.geom.geojson), "properties": {}}
            for r in rows
            if r.asset.geom is not None
        ]
        context.update(
            searched=True,
            rows=rows,
            totals=result_totals,
            query=request.GET.urlencode(),
            export_formats=exports.FORMATS.values() if permissions.can_export_query(request.user) else [],
        )
    elif has_shape and not asset_filter.is_valid():
        context["invalid"] = True
    context["map"] = _result_map(shape_geojson, features, nonce=request.csp_nonce)
    return render(request, "assets/query.html", context)


def query_export(request: HttpRequest) -> HttpResponse:
    """The query's result in an export format (assets.exports writes it; asset-export takes no spatial filters)."""
    if not permissions.can_export_query(request.user):
        raise PermissionDenied(_("Your role does not allow exporting the register."))
    params = request.GET.copy()
    fmt = params.pop("format", ["geojson"])[-1]
    srid_text = params.pop("srid", ["4326"])[-1]
    asset_filter = SpatialAssetFilter(params, queryset=selectors.asset_list())
    if fmt not in exports.FORMATS:
        return HttpResponseBadRequest(_("Unknown export format %(format)s.") % {"format": fmt})
    if not srid_text.isdigit():
        return HttpResponseBadRequest(_("srid must be an EPSG code, got %(srid)s.") % {"srid": srid_text})
    if not asset_filter.is_valid() or not any(params.get(p) for p in SHAPE_PARAMS):
        errors = asset_filter.errors.as_text() or _("a query shape is missing")
        return HttpResponseBadRequest(_("The query is not valid: %(errors)s") % {"errors": errors})
    spec = exports.FORMATS[fmt]
    with tempfile.NamedTemporaryFile(prefix="sipanah-query-", suffix=spec.suffix, delete=False) as handle:
        path = Path(handle.name)
    path.unlink()  # only the unique name was wanted: the drivers create the file themselves
    try:
        exports.write_export(asset_filter.qs, fmt=fmt, path=path, srid=int(srid_text))
        stream = path.open("rb")
    except exports.ExportError as exc:
        return HttpResponseBadRequest(str(exc))
    finally:
        path.unlink(missing_ok=True)  # the open handle keeps the data readable while it streams
    name = f"sipanah-query-{timezone.localdate():%Y%m%d}{spec.suffix}"
    return FileResponse(stream, as_attachment=True, filename=name, content_type=spec.content_type)
