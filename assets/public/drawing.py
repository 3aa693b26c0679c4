"""The small map of a public answer, as SVG (on the answer page and in its PDF): the place asked about and the
city's land it touches, drawn in the city's metric CRS (no distortion), with a scale bar and a north arrow."""

from __future__ import annotations

import math
from typing import Any

import shapely
from django.utils.html import escape
from django.utils.translation import gettext as _

from assets.register import geo

WIDTH, HEIGHT, MARGIN = 480, 320, 24


def _round_length(metres: float) -> float:
    """The largest 1, 2 or 5 x 10^n not longer than ``metres``."""
    if metres <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(metres))
    return max(step * power for step in (1, 2, 5) if step * power <= metres)


def answer_svg(asked: dict[str, Any], parcels: list[dict[str, Any]]) -> str:
    """``asked`` and each parcel's ``outline`` are GeoJSON geometries in lon/lat."""
    asked_geom = geo.to_metric(shapely.geometry.shape(asked))
    land = [geo.to_metric(shapely.geometry.shape(p["outline"])) for p in parcels]
    everything = shapely.union_all([asked_geom, *land]) if land else asked_geom
    xmin, ymin, xmax, ymax = everything.buffer(40).bounds
    scale = min((WIDTH - 2 * MARGIN) / (xmax - xmin), (HEIGHT - 2 * MARGIN) / (ymax - ymin))

    def path(geom: shapely.Geometry) -> str:
        parts = []
        polygons = getattr(geom, "geoms", [geom])
        for polygon in polygons:
            for ring in [polygon.exterior, *polygon.interiors]:
                points = " L".join(
                    f"{MARGIN + (x - xmin) * scale:.1f},{HEIGHT - MARGIN - (y - ymin) * scale:.1f}"
                    for x, y in ring.coords
                )
                parts.append(f"M{points} Z")
        return " ".join(parts)

    shapes = [
        f'<path d="{path(g)}" fill="#1a9850" fill-opacity="0.25" stroke="#1a6b3a" stroke-width="1.5"/>' for g in land
    ]
    if asked_geom.geom_type == "Point":
        cx, cy = MARGIN + (asked_geom.x - xmin) * scale, HEIGHT - MARGIN - (asked_geom.y - ymin) * scale
        shapes.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="#c0392b" stroke="#fff" stroke-width="2"/>')
    else:
        shapes.append(
            f'<path d="{path(asked_geom)}" fill="none" stroke="#c0392b" stroke-width="2" stroke-dasharray="6 3"/>'
        )
    bar_m = _round_length((WIDTH - 2 * MARGIN) / scale / 4)
    bar_px = bar_m * scale
    label = f"{bar_m:g} m" if bar_m < 1000 else f"{bar_m / 1000:g} km"
    title = escape(_("Map of the answer: the place asked about (red) and the city's land (green)"))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#f7f7f4" stroke="#999"/>'
        + "".join(shapes)
        + f'<g font-family="DejaVu Sans, sans-serif" font-size="11" fill="#222">'
        f'<rect x="{MARGIN}" y="{HEIGHT - 14}" width="{bar_px:.1f}" height="4" fill="#222"/>'
        f'<text x="{MARGIN + bar_px + 6:.1f}" y="{HEIGHT - 9}">{label}</text>'
        f'<path d="M{WIDTH - 20},{MARGIN + 20} l-7,10 l7,-4 l7,4 Z" fill="#222"/>'
        f'<text x="{WIDTH - 24}" y="{MARGIN + 12}">N</text></g></svg>'
    )
