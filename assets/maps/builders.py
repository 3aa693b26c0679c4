"""folium maps rendered inside the Django templates, with every script and stylesheet served by Sipanah.

folium's elements name their JavaScript/CSS as CDN URLs (``default_js``/``default_css``). The subclasses here swap
them for the vendored copies under static/vendor/, and ``render_map_parts`` refuses to render a map that still links
an outside host, so a new element cannot bring a CDN back silently.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import folium
import shapely
import shapely.geometry
from branca.element import CssLink, JavascriptLink, MacroElement
from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from folium import plugins
from jinja2 import Template

from assets.register import basemaps, palette, place, selectors
from assets.register.models import AdministrativeArea, CertificateStatus, LandAsset, Stage


class _LocalAssets:
    """Replace an element's CDN links by vendored static files (resolved at render time, like {% static %})."""

    local_js: list[tuple[str, str]] = []
    local_css: list[tuple[str, str]] = []

    def render(self, **kwargs: Any) -> None:
        self.default_js = [(name, static(path)) for name, path in self.local_js]
        self.default_css = [(name, static(path)) for name, path in self.local_css]
        super().render(**kwargs)  # type: ignore[misc]


class SipanahMap(_LocalAssets, folium.Map):
    # Only Leaflet: folium's default jQuery/Bootstrap/awesome-markers/Font Awesome are not used by these maps.
    local_js = [("leaflet", "vendor/leaflet/leaflet.js"), ("sipanah_map", "js/sipanah-map.js")]
    local_css = [("leaflet_css", "vendor/leaflet/leaflet.css"), ("sipanah_map_css", "css/sipanah-maps.css")]


class Fullscreen(_LocalAssets, plugins.Fullscreen):
    local_js = [("Control.Fullscreen.js", "vendor/leaflet.fullscreen/Control.FullScreen.js")]
    local_css = [("Control.FullScreen.css", "vendor/leaflet.fullscreen/Control.FullScreen.css")]


class MousePosition(_LocalAssets, plugins.MousePosition):
    local_js = [("Control_MousePosition_js", "vendor/leaflet-mouse-position/L.Control.MousePosition.js")]
    local_css = [("Control_MousePosition_css", "vendor/leaflet-mouse-position/L.Control.MousePosition.css")]


class AssetTiles(_LocalAssets, plugins.VectorGridProtobuf):
    """The register's vector tiles. The URL goes through tojson (folium puts it raw inside JS quotes)."""

    local_js = [("vectorGrid", "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js")]
    _template = Template(
        """
        {% macro script(this, kwargs) -%}
        var {{ this.get_name() }} = L.vectorGrid.protobuf({{ this.url|tojson }}, {
            rendererFactory: L.svg.tile,
            interactive: {{ this.interactive|tojson }},
            maxNativeZoom: 22,
            vectorTileLayerStyles: {assets: SipanahMap.{{ this.style_name }}}
        });
        {%- if this.interactive %}
        SipanahMap.attachAssets({{ this._parent.get_name() }}, {{ this.get_name() }}, {{ this.client|tojson }});
        {%- else %}
        SipanahMap.watchPaint({{ this.get_name() }});
        {%- endif %}
        {%- endmacro %}
        """
    )

    def __init__(
        self, url: str, *, name: str, interactive: bool, style_name: str = "assetStyle", popup_query: str = ""
    ) -> None:
        super().__init__(url=url, name=name)
        self.interactive = interactive
        self.style_name = style_name
        popup_url = reverse("map-asset-popup", kwargs={"pk": 0})
        self.client = {
            "popupUrl": f"{popup_url}?{popup_query}" if popup_query else popup_url,
            "labels": {
                "code": _("Kode barang / register"),
                "agency": _("Agency"),
                "luas_kib": _("KIB area"),
                "luas_sertifikat": _("Certificate area"),
                "luas_gis": _("GIS area"),
                "status": _("Certificate status"),
                "stage": _("Stage"),
                "open": _("Open the asset page"),
                "unavailable": _("The asset could not be loaded."),
            },
        }


class OutlineTiles(_LocalAssets, plugins.VectorGridProtobuf):
    """Outline tiles (assets.maps.tiles.outline_tile, layer "land"): geometry only, for the public map."""

    local_js = [("vectorGrid", "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js")]
    _template = Template(
        """
        {% macro script(this, kwargs) -%}
        var {{ this.get_name() }} = L.vectorGrid.protobuf({{ this.url|tojson }}, {
            rendererFactory: L.svg.tile, interactive: false, maxNativeZoom: 22,
            vectorTileLayerStyles: {land: SipanahMap.outlineStyle}
        });
        SipanahMap.watchPaint({{ this.get_name() }});
        {%- endmacro %}
        """
    )


class BlankBaseLayer(folium.map.Layer):
    """The "no basemap" choice of the layer control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup();
        {%- if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% endmacro %}
        """
    )

    def __init__(self, *, name: str, show: bool) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)


class BasemapSwitch(MacroElement):
    """The basemaps' behaviour in the page (js/sipanah-map.js ``SipanahMap.basemaps``): the one-line note whenever the
    map has no basemap (none configured, "no basemap" chosen, or its tiles fail: then it switches to "no basemap"),
    and a switch of base layer in the layer control remembered for the user (POST to ``map-basemap``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        SipanahMap.basemaps({{ this._parent.get_name() }}, {
            {%- for key, layer in this.layers %}{{ key|tojson }}: {{ layer.get_name() }},{% endfor -%}
        }, {{ this.blank.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, layers: list[tuple[str, folium.map.Layer]], blank: BlankBaseLayer, config: dict) -> None:
        super().__init__()
        self.layers, self.blank, self.config = layers, blank, config


NO_BASEMAP_NOTE = gettext_noop("No basemap: boundaries and parcels are drawn from Sipanah's own data.")


class Legend(MacroElement):
    """Status colours and the dispute marks; labels are escaped here because the control is built from HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var legend = L.control({position: "bottomright"});
          legend.onAdd = function () {
            var div = L.DomUtil.create("div", "map-legend");
            div.innerHTML = {{ this.html|tojson }};
            return div;
          };
          legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        rows = [
            # The same words as the register's pages (the status and stage labels), no codes.
            (palette.STATUS_COLOURS["belum"], palette.STATUS_COLOURS["belum"], "", CertificateStatus.BELUM.label),
            (palette.STATUS_COLOURS["proses"], palette.STATUS_COLOURS["proses"], "", CertificateStatus.PROSES.label),
            (palette.STATUS_COLOURS["terbit"], palette.STATUS_COLOURS["terbit"], "", CertificateStatus.TERBIT.label),
            ("#ffffff", palette.DISPUTE_COLOUR, "", Stage.SENGKETA.label),
            ("#ffffff", palette.DISPUTE_COLOUR, "dashed", Stage.DIBLOKIR.label),
        ]
        rows += encumbrance_legend_rows()
        items = "".join(
            f'<li><span class="map-legend__swatch" style="background:{fill};border-color:{edge};'
            f'border-style:{style or "solid"}"></span>{html.escape(str(label))}</li>'
            for fill, edge, style, label in rows
        )
        note = html.escape(_("Zoomed out: circles count the assets around them."))
        self.html = f"<strong>{html.escape(_('Certificate status'))}</strong><ul>{items}</ul><p>{note}</p>"


class MapHook(MacroElement):
    """Expose the Leaflet map as window.sipanahMap (tests and the bench reach it there)."""

    _template = Template(
        "{% macro script(this, kwargs) %}window.sipanahMap = {{ this._parent.get_name() }};{% endmacro %}"
    )


class ControlTexts(MacroElement):
    """Leaflet's zoom buttons in the page's language (their titles and names are English in Leaflet itself)."""

    _template = Template(
        "{% macro script(this, kwargs) %}(function (box, t) {"
        "[['.leaflet-control-zoom-in', t.zoomIn], ['.leaflet-control-zoom-out', t.zoomOut]].forEach(function (p) {"
        "var b = box.querySelector(p[0]); if (b) { b.title = p[1]; b.setAttribute('aria-label', p[1]); } });"
        "})({{ this._parent.get_name() }}.getContainer(), {{ this.texts|tojson }});{% endmacro %}"
    )

    def __init__(self, texts: dict[str, str]) -> None:
        super().__init__()
        self._name = "ControlTexts"
        self.texts = texts


@dataclass(frozen=True)
class MapParts:
    head: SafeString
    body: SafeString
    script: SafeString


_PAGE_STYLES = re.compile(r"<style>\s*html, body \{.*?</style>\s*<style>\s*#map \{.*?</style>", re.S)
_VIEWPORT = re.compile(r'<meta name="viewport".*?/>', re.S)
_META = re.compile(r"<meta http-equiv=.*?/>", re.S)
# An opening <script> tag without src: folium's inline code (its templates escape "<" inside values with tojson, so
# the text "<script" occurs only as a tag).
_INLINE_SCRIPT_TAG = re.compile(r"<script(?=[\s>])(?![^>]*\ssrc=)", re.I)
_NONCE = re.compile(r"^[A-Za-z0-9+/=_-]+$")


def with_nonce(markup: str, nonce: str) -> str:
    """Give every inline <script> of ``markup`` the response's CSP nonce (request.csp_nonce, django-csp).

    The Content-Security-Policy allows no inline script without it (sipanah/security.py); folium writes its map as
    inline code, so every map passes through here.
    """
    nonce = str(nonce)
    if not _NONCE.match(nonce):
        raise ValueError("a CSP nonce is base64 text")
    return _INLINE_SCRIPT_TAG.sub(f'<script nonce="{nonce}"', markup)


def render_map_parts(m: folium.Map, *, nonce: str) -> MapParts:
    """The map's links and styles, its div and its script, for {% block head %}, the content and {% block scripts %}.

    ``nonce`` is the request's CSP nonce (``request.csp_nonce``): every inline script of the map carries it.
    """
    figure = m.get_root()
    figure.render()
    local = settings.STATIC_URL  # not static(""): the manifest storage of production has no entry for ""
    for child in figure.header._children.values():
        if isinstance(child, (JavascriptLink, CssLink)) and not child.url.startswith(local):
            raise ValueError(f"map element links an outside file: {child.url}")
    head = figure.header.render()
    # folium writes page-wide rules for a standalone HTML file (html/body at 100%, #map absolute): not in our pages.
    head = _META.sub("", _VIEWPORT.sub("", _PAGE_STYLES.sub("", head)))
    return MapParts(
        head=mark_safe(with_nonce(head, nonce)),  # noqa: S308 - folium output, values escaped by its templates (tojson)
        body=mark_safe(with_nonce(figure.html.render(), nonce)),  # noqa: S308
        script=mark_safe(with_nonce(f"<script>{figure.script.render()}</script>", nonce)),  # noqa: S308
    )


def base_map(*, user: Any, choice: str | None = None, kelurahan: bool = False, **kwargs: Any) -> SipanahMap:
    """A map with what every Sipanah map has: the configured basemaps and "no basemap" in the layer control (the
    user's remembered choice shown; ``choice`` overrides it for this page), the one-line note when there is no
    basemap, the kecamatan and kelurahan boundaries, full screen, scale and cursor coordinates. Pages add their
    parcels (``add_register_tiles`` or their own GeoJSON), legend and layer control, then ``render_map_parts``.
    ``kelurahan``: show the kelurahan boundaries from the start (maps that open zoomed in), not only in the control."""
    here = place.city()
    kwargs.setdefault("zoom_start", here.zoom)
    m = SipanahMap(location=here.center, tiles=None, control_scale=True, max_zoom=20, **kwargs)
    available = basemaps.catalogue()
    stored = basemaps.choice_of(user)
    keys = {b.key for b in available} | {basemaps.NONE}
    shown = choice if choice in keys else stored  # an unknown ?basemap= is ignored
    layers: list[tuple[str, folium.map.Layer]] = []
    for basemap in available:
        common = {"name": basemap.name, "attr": basemap.attribution, "show": basemap.key == shown, "overlay": False}
        if basemap.kind == "wms":
            layer: folium.map.Layer = folium.WmsTileLayer(
                basemap.url,
                layers=basemap.layers,
                styles=basemap.styles,
                fmt=basemap.format,
                version=basemap.version,
                transparent=basemap.transparent,
                max_zoom=20,
                **common,
            )
        else:
            layer = folium.TileLayer(basemap.url, max_zoom=20, **common)
        layer.add_to(m)
        layers.append((basemap.key, layer))
    blank = BlankBaseLayer(name=_("No basemap"), show=shown == basemaps.NONE)
    blank.add_to(m)
    config = {
        "current": shown,
        "stored": stored,
        "saveUrl": reverse("map-basemap") if getattr(user, "is_authenticated", False) else "",
        "note": _(NO_BASEMAP_NOTE),
    }
    BasemapSwitch(layers, blank, config).add_to(m)
    add_boundaries(m, kelurahan=kelurahan)
    Fullscreen(title=_("Full screen"), title_cancel=_("Leave full screen")).add_to(m)
    MousePosition(position="bottomleft", separator=" , ", empty_string="", prefix=_("Lat, Lon:"), num_digits=6).add_to(
        m
    )
    MapHook().add_to(m)
    ControlTexts({"zoomIn": _("Zoom in"), "zoomOut": _("Zoom out")}).add_to(m)
    return m


_boundary_cache: dict[tuple, dict[str, Any]] = {}


def boundaries(level: str) -> dict[str, Any]:
    """Simplified boundaries of one level as GeoJSON, each with its ``name`` and ``level`` (as text: the parcel
    widget reads them from ``/map/boundaries/``; folium's tooltips get an HTML-escaped copy, ``_add_boundaries``).

    Simplifying every kelurahan on each page view costs more than the rest of the page: kept per process until an
    area changes (count and last update are part of the key).
    """
    key = selectors.area_version(level)
    if key not in _boundary_cache:
        if len(_boundary_cache) > 8:
            _boundary_cache.clear()
        _boundary_cache[key] = _build_boundaries(level)
    return _boundary_cache[key]


def _build_boundaries(level: str) -> dict[str, Any]:
    features = []
    for area in selectors.area_shapes(level):
        shape = shapely.geometry.mapping(shapely.simplify(area.geom, 0.0003, preserve_topology=True))
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": shape["type"], "coordinates": _round(shape["coordinates"])},
                "properties": {"name": area.name, "level": level},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _escaped_name(feature: dict[str, Any]) -> dict[str, Any]:
    return {**feature, "properties": {**feature["properties"], "name": html.escape(feature["properties"]["name"])}}


def _round(coords: Any) -> Any:
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], 5), round(coords[1], 5)]
    return [_round(c) for c in coords]


def add_boundaries(m: folium.Map, *, kelurahan: bool = False) -> None:
    """Kecamatan (shown) and kelurahan (shown with ``kelurahan``, else in the layer control) boundaries, drawn from
    the register's own areas."""
    for level, name, weight, show in (
        (AdministrativeArea.Level.KECAMATAN, _("Kecamatan boundaries"), 2.5, True),
        (AdministrativeArea.Level.KELURAHAN, _("Kelurahan boundaries"), 1, kelurahan),
    ):
        data = boundaries(level)
        if not data["features"]:
            continue
        # folium's tooltip inserts the names as HTML
        data = {**data, "features": [_escaped_name(f) for f in data["features"]]}
        folium.GeoJson(
            data,
            name=name,
            show=show,
            style_function=lambda _f, w=weight: {"color": "#37474f", "weight": w, "fill": False, "dashArray": "6 4"},
            tooltip=folium.GeoJsonTooltip(
                fields=["name"], labels=False, permanent=True, direction="center", class_name=f"area-label-{level}"
            ),
            interactive=False,
        ).add_to(m)


def tile_url(query: str) -> str:
    url = reverse("asset-tile", kwargs={"z": 0, "x": 0, "y": 0}).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    return f"{url}?{query}" if query else url


def add_register_tiles(m: folium.Map, *, faint: bool, name: str, popup_query: str = "", query: str = "") -> None:
    """The register's parcels as vector tiles: interactive with popups, or faint context behind a page's own."""
    if faint:
        AssetTiles(tile_url(query), name=name, interactive=False, style_name="faintStyle").add_to(m)
    else:
        AssetTiles(tile_url(query), name=name, interactive=True, popup_query=popup_query).add_to(m)


def overview_map(
    *, query: str, user: Any, nonce: str, choice: str | None = None, as_of: dt.date | None = None
) -> MapParts:
    m = base_map(user=user, choice=choice)
    popup_query = urlencode({"as_of": as_of.isoformat()}) if as_of else ""  # the popup shows the same date
    add_register_tiles(m, faint=False, name=_("Land assets"), popup_query=popup_query, query=query)
    add_encumbrance_tiles(m, query=query)  # the query carries as_of: the cases and agreements of that date
    Legend().add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return render_map_parts(m, nonce=nonce)


@dataclass(frozen=True)
class PhotoPoint:
    """A photo of the asset where it was taken (EXIF GPS), the direction it faces (degrees from north) and
    whether it lies far from the parcel."""

    lon: float
    lat: float
    direction: float | None
    label: str
    far: bool


class PhotoLayer(MacroElement):
    """The photos as one GeoJSON layer drawn by SipanahMap.photoLayer (js/sipanah-map.js): one element however many
    photos (a folium Marker each cost ~10 ms of rendering), labels set as text, never as HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) -%}
        var {{ this.get_name() }} = SipanahMap.photoLayer({{ this._parent.get_name() }}, {{ this.data|tojson }});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endmacro %}
        """
    )

    def __init__(self, photos: Sequence[PhotoPoint], *, name: str) -> None:
        super().__init__()
        self._name = "PhotoLayer"
        self.layer_name = name
        self.data = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                    "properties": {"label": p.label, "direction": p.direction, "far": p.far},
                }
                for p in photos
            ],
        }


def detail_map(
    asset: LandAsset, *, user: Any, nonce: str, choice: str | None = None, photos: Sequence[PhotoPoint] = ()
) -> MapParts | None:
    """The asset's own parcel, its neighbours faint behind it; its photos as arrows where they were taken."""
    if asset.geom is None:
        return None
    m = base_map(user=user, choice=choice, kelurahan=True, zoom_start=17)
    add_register_tiles(m, faint=True, name=_("Other assets"))
    folium.GeoJson(
        json.loads(asset.geom.geojson),
        name=_("This asset"),
        style_function=lambda _f: {"color": "#0d47a1", "weight": 3, "fillColor": "#1976d2", "fillOpacity": 0.45},
    ).add_to(m)
    add_encumbrance_tiles(m)
    x0, y0, x1, y1 = asset.geom.extent
    if photos:
        PhotoLayer(photos, name=_("Photos (where taken, facing)")).add_to(m)
        for photo in photos:
            x0, y0, x1, y1 = min(x0, photo.lon), min(y0, photo.lat), max(x1, photo.lon), max(y1, photo.lat)
    m.fit_bounds([[y0, x0], [y1, x1]], max_zoom=17)
    Legend().add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return render_map_parts(m, nonce=nonce)


# --- the encumbrance layer (assets.maps.encumbrance_tiles) ---------------------------------------------------------


class EncumbranceTiles(_LocalAssets, plugins.VectorGridProtobuf):
    """The disputed parts of open cases and the used parts of agreements in use (maps.encumbrance_tiles), drawn
    over the parcels by SipanahEncumbrance.disputeStyle / utilisationStyle (js/sipanah-encumbrance-map.js)."""

    local_js = [
        ("vectorGrid", "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"),
        ("sipanah_encumbrance_map", "js/sipanah-encumbrance-map.js"),
    ]
    _template = Template(
        """
        {% macro script(this, kwargs) -%}
        var {{ this.get_name() }} = L.vectorGrid.protobuf({{ this.url|tojson }}, {
            rendererFactory: L.svg.tile,
            interactive: false,
            maxNativeZoom: 22,
            minZoom: {{ this.min_zoom }},
            vectorTileLayerStyles: {disputes: SipanahEncumbrance.disputeStyle,
                                    utilisations: SipanahEncumbrance.utilisationStyle}
        });
        {%- endmacro %}
        """
    )

    def __init__(self, url: str, *, name: str, min_zoom: int) -> None:
        super().__init__(url=url, name=name)
        self.min_zoom = min_zoom


def add_encumbrance_tiles(m: folium.Map, *, query: str = "") -> None:
    """The disputes and pemanfaatan layer (from encumbrance_tiles.ENCUMBRANCE_MIN_ZOOM), under the register's
    filters."""
    from assets.maps.encumbrance_tiles import ENCUMBRANCE_MIN_ZOOM  # here: its line stays out of shared imports

    url = reverse("encumbrance-tile", kwargs={"z": 0, "x": 0, "y": 0}).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    url = f"{url}?{query}" if query else url
    EncumbranceTiles(url, name=_("Disputes and pemanfaatan"), min_zoom=ENCUMBRANCE_MIN_ZOOM).add_to(m)


def encumbrance_legend_rows() -> list[tuple[str, str, str, str]]:
    """The legend's rows of the encumbrance layer: (fill, edge, edge style, label)."""
    hatch = "repeating-linear-gradient(45deg,#5e3c99 0 2px,#ffffff 2px 5px)"
    return [
        (hatch, "#5e3c99", "dashed", _("Disputed part (open case)")),
        ("transparent", "#1f5fa8", "", _("Used part (pemanfaatan)")),
    ]
