"""The planners' query page /query/: draw a shape or pick an area, get the register inside it with totals."""

from __future__ import annotations

import json
from typing import Any

import folium
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from folium.elements import JSCSSMixin
from jinja2 import Template

from assets.encumbrance import selectors as encumbrance
from assets.lib.http import plain_error
from assets.maps import builders
from assets.query import inside
from assets.query.params import SpatialAssetFilter
from assets.register import permissions, selectors
from assets.register.permissions import role_required
from assets.register.place import STORAGE_SRID
from assets.register.reads import RegisterSelection, SelectionError
from assets.transfer import exports
from assets.transfer.views import export_response

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


def draw_texts() -> dict[str, Any]:
    """Leaflet.draw's texts in the page's language (merged into L.drawLocal by js/sipanah-query.js): its own are
    English only."""
    shape_end = _("Release the mouse to finish the shape.")
    return {
        "toolbar": {
            "actions": {"title": _("Cancel drawing"), "text": _("Cancel")},
            "finish": {"title": _("Finish drawing"), "text": _("Finish")},
            "undo": {"title": _("Delete the last point drawn"), "text": _("Delete last point")},
            "buttons": {
                "polyline": _("Draw a road centre line (corridor)"),
                "polygon": _("Draw a polygon"),
                "rectangle": _("Draw a rectangle"),
                "circle": _("Draw a circle (a point and a distance)"),
            },
        },
        "handlers": {
            "circle": {"tooltip": {"start": _("Click and drag to draw a circle.")}, "radius": _("Radius")},
            "polygon": {
                "tooltip": {
                    "start": _("Click to start drawing the shape."),
                    "cont": _("Click to continue drawing the shape."),
                    "end": _("Click the first point to close this shape."),
                }
            },
            "polyline": {
                "error": _("<strong>Error:</strong> the edges of the shape cannot cross!"),
                "tooltip": {
                    "start": _("Click to start drawing the line."),
                    "cont": _("Click to continue drawing the line."),
                    "end": _("Click the last point to finish the line."),
                },
            },
            "rectangle": {"tooltip": {"start": _("Click and drag to draw a rectangle.")}},
            "simpleshape": {"tooltip": {"end": shape_end}},
        },
    }


def _result_map(
    shape_geojson: dict[str, Any] | None, features: list[dict[str, Any]], *, user: Any, nonce: str
) -> builders.MapParts:
    m = builders.base_map(user=user, kelurahan=shape_geojson is not None)  # a result is zoomed in
    builders.add_register_tiles(m, faint=True, name=_("Other assets"))
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
    QueryDraw(
        {
            "needBuffer": _("Enter the corridor width (metres on each side of the line) first."),
            "draw": draw_texts(),
        }
    ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return builders.render_map_parts(m, nonce=nonce)


@role_required(permissions.can_view_register)
def query_page(request: HttpRequest) -> HttpResponse:
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
        selection = RegisterSelection.from_params(request.GET, filterset_class=SpatialAssetFilter, as_of=None)
        shape = selection.query_shape()
        qs = selection.queryset(selectors.asset_list()).order_by("kode_barang", "nomor_register")
        rows = inside.rows_with_area_inside(qs.defer(None), shape, limit=MAX_TABLE_ROWS)
        shape_geojson = json.loads(shape.geojson) if shape is not None else None
        features = [
            {"type": "Feature", "geometry": json.loads(r.asset.geom.geojson), "properties": {}}
            for r in rows
            if r.asset.geom is not None
        ]
        context.update(
            searched=True,
            rows=rows,
            totals=selection.aggregate(shape=shape),
            encumbered=encumbrance.encumbered_inside(shape, qs) if shape is not None else None,
            query=request.GET.urlencode(),
            export_formats=exports.FORMATS.values() if permissions.can_export_query(request.user) else [],
        )
    elif has_shape and not asset_filter.is_valid():
        context["invalid"] = True
    context["map"] = _result_map(shape_geojson, features, user=request.user, nonce=request.csp_nonce)
    return render(request, "assets/query.html", context)


@role_required(permissions.can_export_query, gettext_lazy("Your role does not allow exporting the register."))
def query_export(request: HttpRequest) -> HttpResponse:
    """The query's result in an export format (the register export's writer; asset-export takes no spatial filters)."""
    if not any(request.GET.get(p) for p in SHAPE_PARAMS):
        return plain_error(_("The query is not valid: %(errors)s") % {"errors": _("a query shape is missing")})
    try:
        srid = int(request.GET.get("srid", str(STORAGE_SRID)))
        selection = RegisterSelection.from_params(request.GET, filterset_class=SpatialAssetFilter, as_of=None)
    except ValueError as exc:  # SelectionError, or a srid that is not a number
        return plain_error(str(exc) if isinstance(exc, SelectionError) else _("srid must be an EPSG code."))
    stem = f"sipanah-query-{timezone.localdate():%Y%m%d}"
    return export_response(selection, fmt=request.GET.get("format", "geojson"), srid=srid, stem=stem)
