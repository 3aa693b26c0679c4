"""The parcel's map on the KIB A card: an SVG drawn on the server, in the city's metric CRS, with no tiles.

The parcel is highlighted among its neighbours (lighter), the kelurahan boundary is drawn where it crosses the view,
with a north arrow (true north: turned by the projection's grid convergence, a fraction of a degree in TM-3) and a
scale bar of a round length. The drawing is projected in ``place.area_srid()`` (TM-3 zone 50.1 by default), so
shapes and distances are true; drawing units are millimetres on the printed page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from django.utils.html import escape
from django.utils.translation import gettext as _

from assets.lib import formats
from assets.lib.svg import Frame
from assets.register import geo

# Colours: the parcel strong, everything around it quiet (prints well in black and white too).
PARCEL_FILL, PARCEL_STROKE = "#f5b7b1", "#922b21"
NEIGHBOUR_FILL, NEIGHBOUR_STROKE = "#eceff1", "#90a4ae"
BOUNDARY_STROKE = "#5d6d7e"

ROUND_STEPS = (1, 2, 5)  # a scale bar is 1, 2 or 5 × 10^k metres long
SCALE_BAR_SHARE = 0.3  # at most this share of the map's width
MIN_MARGIN_M = 25.0  # ground shown around the parcel, at least...
MARGIN_SHARE = 0.3  # ... or this share of the parcel's larger side
NEIGHBOUR_VIEW_M = 100.0  # ... or enough to show the nearest neighbour when it is this close
NEIGHBOUR_PEEK_M = 15.0  # ... with this much of it in view


def round_length(max_metres: float) -> float:
    """The longest round length (1, 2 or 5 × 10^k m) not longer than ``max_metres``."""
    if max_metres <= 0 or not math.isfinite(max_metres):
        raise ValueError(f"a scale bar needs a positive length, got {max_metres!r}")
    power = 10.0 ** math.floor(math.log10(max_metres))
    best = power
    for step in ROUND_STEPS:
        if step * power <= max_metres * (1 + 1e-9):
            best = step * power
    return best


@dataclass(frozen=True)
class ScaleBar:
    metres: float  # its ground length, a round number
    length: float  # its drawn length, in drawing units (mm)

    @property
    def label(self) -> str:
        if self.metres >= 1000:
            return f"{formats.number(self.metres / 1000, 0 if self.metres % 1000 == 0 else 1)} km"
        return f"{formats.number(self.metres, 0 if self.metres >= 1 else 1)} m"


def scale_bar(units_per_metre: float, map_width: float, share: float = SCALE_BAR_SHARE) -> ScaleBar:
    """The scale bar of a map drawn at ``units_per_metre``: a round length at most ``share`` of its width."""
    metres = round_length(share * map_width / units_per_metre)
    return ScaleBar(metres=metres, length=metres * units_per_metre)


def north_angle(lon: float, lat: float, srid: int) -> float:
    """Degrees, clockwise, from grid north of ``srid`` to true north at (lon, lat) (the grid convergence)."""
    here = geo.reproject(shapely.Point(lon, lat), geo.STORAGE_SRID, srid)
    north = geo.reproject(shapely.Point(lon, lat + 0.001), geo.STORAGE_SRID, srid)
    return math.degrees(math.atan2(north.x - here.x, north.y - here.y))


def grid_ticks(frame: Frame, view: tuple[float, float, float, float], width: float, height: float) -> list[str]:
    """Ticks of the metric grid on the map's edges, every round interval, with their eastings along the top and
    their northings along the left edge (TM-3 metres: what a surveyor reads off a printed map)."""
    minx, miny, maxx, maxy = view
    step = round_length((maxx - minx) / 3)
    out = []
    x = math.ceil(minx / step) * step
    while x < maxx:
        px, _py = frame.xy(x, maxy)
        if 6 < px < width - 14:  # clear of the corners and the north arrow
            out.append(
                f'<path d="M{px:.2f},0V1.6M{px:.2f},{height:g}V{height - 1.6:g}" stroke="#111" stroke-width="0.25"/>'
            )
            out.append(f'<text x="{px:.2f}" y="3.8" font-size="1.9" text-anchor="middle" fill="#444">{x:.0f}</text>')
        x += step
    y = math.ceil(miny / step) * step
    while y < maxy:
        _px, py = frame.xy(minx, y)
        if 8 < py < height - 12:  # clear of the scale bar
            out.append(
                f'<path d="M0,{py:.2f}H1.6M{width:g},{py:.2f}H{width - 1.6:g}" stroke="#111" stroke-width="0.25"/>'
            )
            out.append(
                f'<text x="2.4" y="{py:.2f}" font-size="1.9" fill="#444" transform="rotate(-90 2.4 {py:.2f})" '
                f'text-anchor="middle" dy="1.4">{y:.0f}</text>'
            )
        y += step
    return out


@dataclass(frozen=True)
class ParcelMap:
    svg: str
    srid: int  # the CRS it is drawn in
    units_per_metre: float  # drawing units (mm on paper) per metre on the ground
    scale_bar: ScaleBar
    centroid_lonlat: tuple[float, float]
    centroid_metric: tuple[float, float]
    neighbours: int  # how many neighbouring parcels are drawn

    @property
    def ratio(self) -> int:
        """The printed scale 1 : ratio (the map printed at its size: 1 mm on paper is 1 / units_per_metre m)."""
        return round(1000 / self.units_per_metre)


def draw(
    parcel: shapely.Geometry,
    *,
    srid: int,
    neighbours: Sequence[shapely.Geometry] = (),
    areas: Sequence[tuple[str, shapely.Geometry]] = (),
    width: float = 88.0,
    height: float = 74.0,
) -> ParcelMap:
    """The map of a lon/lat ``parcel`` with its lon/lat ``neighbours`` and kelurahan ``areas`` (name, boundary),
    ``width`` × ``height`` mm, drawn in the metric CRS ``srid``."""
    metric = geo.reproject(parcel, geo.STORAGE_SRID, srid)
    minx, miny, maxx, maxy = metric.bounds
    margin = max(MARGIN_SHARE * max(maxx - minx, maxy - miny), MIN_MARGIN_M)
    near = [geo.reproject(n, geo.STORAGE_SRID, srid) for n in neighbours]
    if near:  # widen the view so that the nearest neighbour shows (for one within NEIGHBOUR_VIEW_M)
        nearest = min(float(shapely.distance(metric, n)) for n in near)
        if nearest <= NEIGHBOUR_VIEW_M:
            margin = max(margin, nearest + NEIGHBOUR_PEEK_M)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w, half_h = (maxx - minx) / 2 + margin, (maxy - miny) / 2 + margin
    if half_w / half_h < width / height:  # widen or heighten the view to the box's shape
        half_w = half_h * width / height
    else:
        half_h = half_w * height / width
    view = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    frame = Frame(view, width, height, pad=0)
    box = shapely.box(*view)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" width="{width:g}mm" '
        f'height="{height:g}mm" role="img" class="parcel-map"><title>{escape(_("Map of the parcel"))}</title>',
        f'<rect width="{width:g}" height="{height:g}" fill="#fff"/>',
    ]
    labels = []
    for name, area in areas:
        area_m = geo.reproject(area, geo.STORAGE_SRID, srid)
        line = shapely.intersection(area_m.boundary, box)
        if not line.is_empty:
            out.append(
                f'<path d="{frame.path(line, 2)}" fill="none" stroke="{BOUNDARY_STROKE}" stroke-width="0.35" '
                f'stroke-dasharray="2.2,0.8,0.4,0.8"/>'
            )
        inside = shapely.difference(shapely.intersection(area_m, box), shapely.buffer(metric, margin / 2))
        if inside.area > 0.08 * box.area:
            px, py = frame.xy(*shapely.get_coordinates(shapely.point_on_surface(inside))[0])
            px, py = min(max(px, 18.0), width - 18.0), min(max(py, 16.0), height - 10.0)  # clear of the edges
            labels.append(
                f'<text x="{px:.1f}" y="{py:.1f}" font-size="2.4" fill="{BOUNDARY_STROKE}" text-anchor="middle" '
                f'font-style="italic">{escape(_("Kel. %(name)s") % {"name": name})}</text>'
            )
    drawn = 0
    for neighbour in near:
        shape = shapely.intersection(neighbour, box)
        if shape.is_empty or shape.area <= 0:
            continue
        drawn += 1
        out.append(
            f'<path d="{frame.path(shape, 2)}" fill="{NEIGHBOUR_FILL}" stroke="{NEIGHBOUR_STROKE}" '
            f'stroke-width="0.25" fill-rule="evenodd"/>'
        )
    out.append(
        f'<path d="{frame.path(metric, 2)}" fill="{PARCEL_FILL}" fill-opacity="0.85" stroke="{PARCEL_STROKE}" '
        f'stroke-width="0.6" stroke-linejoin="round" fill-rule="evenodd"/>'
    )
    out.extend(labels)

    centre = shapely.centroid(metric)
    centre_lonlat = geo.reproject(centre, srid, geo.STORAGE_SRID)
    mx, my = frame.xy(centre.x, centre.y)
    out.append(
        f'<g stroke="#111" stroke-width="0.3"><line x1="{mx - 1.5:.2f}" y1="{my:.2f}" x2="{mx + 1.5:.2f}" '
        f'y2="{my:.2f}"/><line x1="{mx:.2f}" y1="{my - 1.5:.2f}" x2="{mx:.2f}" y2="{my + 1.5:.2f}"/></g>'
    )

    angle = north_angle(centre_lonlat.x, centre_lonlat.y, srid)
    nx, ny = width - 7, 9.5
    out.append(
        f'<g transform="translate({nx:.1f},{ny:.1f}) rotate({angle:.3f})" class="north-arrow">'
        f'<circle r="5.6" fill="#fff" fill-opacity="0.85"/>'
        f'<path d="M0,-4.2 L2.2,3.4 L0,2 Z" fill="#111"/><path d="M0,-4.2 L-2.2,3.4 L0,2 Z" fill="#fff" '
        f'stroke="#111" stroke-width="0.25"/>'
        f'<text y="-5.9" font-size="3" font-weight="bold" text-anchor="middle">{escape(_("N"))}</text></g>'
    )

    bar = scale_bar(frame.scale, width)
    bx, by = 4.0, height - 5.0
    half = bar.length / 2
    out.append(
        f'<g class="scale-bar" data-metres="{bar.metres:g}" data-length="{bar.length:.4f}">'
        f'<rect x="{bx - 2:.1f}" y="{by - 5.2:.1f}" width="{bar.length + 10:.2f}" height="7.6" fill="#fff" '
        f'fill-opacity="0.85"/>'
        f'<rect x="{bx:.2f}" y="{by:.2f}" width="{half:.3f}" height="1.2" fill="#111" stroke="#111" '
        f'stroke-width="0.2"/>'
        f'<rect x="{bx + half:.3f}" y="{by:.2f}" width="{half:.3f}" height="1.2" fill="#fff" stroke="#111" '
        f'stroke-width="0.2"/>'
        f'<text x="{bx:.2f}" y="{by - 1:.2f}" font-size="2.4" text-anchor="middle">0</text>'
        f'<text x="{bx + bar.length:.3f}" y="{by - 1:.2f}" font-size="2.4" text-anchor="middle">'
        f"{escape(bar.label)}</text></g>"
    )
    out.extend(grid_ticks(frame, view, width, height))
    out.append(f'<rect width="{width:g}" height="{height:g}" fill="none" stroke="#111" stroke-width="0.4"/>')
    out.append("</svg>")
    return ParcelMap(
        svg="".join(out),
        srid=srid,
        units_per_metre=frame.scale,
        scale_bar=bar,
        centroid_lonlat=(centre_lonlat.x, centre_lonlat.y),
        centroid_metric=(centre.x, centre.y),
        neighbours=drawn,
    )
