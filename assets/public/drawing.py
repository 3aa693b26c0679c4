"""The small map of a public answer, as SVG (on the answer page and in its PDF): the place asked about and the
city's land it touches, drawn in the city's metric CRS (no distortion) with lib.svg's frame, and the KIB A card's
scale bar (assets.card.parcel_map)."""

from __future__ import annotations

from typing import Any

import shapely
import shapely.geometry
from django.utils.html import escape
from django.utils.translation import gettext as _

from assets.card.parcel_map import scale_bar
from assets.lib.svg import Frame
from assets.register import geo, palette
from assets.register.models import CertificateStatus

WIDTH, HEIGHT, PAD = 480, 320, 24


def _fitted(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``bounds`` widened to the drawing's shape, so that what is asked about sits in the middle."""
    minx, miny, maxx, maxy = bounds
    aspect = (WIDTH - 2 * PAD) / (HEIGHT - 2 * PAD)
    width, height = maxx - minx, maxy - miny
    if width / height < aspect:
        grow = (height * aspect - width) / 2
        return minx - grow, miny, maxx + grow, maxy
    grow = (width / aspect - height) / 2
    return minx, miny - grow, maxx, maxy + grow


def answer_svg(asked: dict[str, Any], parcels: list[dict[str, Any]]) -> str:
    """``asked`` and each parcel's ``outline`` are GeoJSON geometries in lon/lat."""
    asked_geom = geo.to_metric(shapely.geometry.shape(asked))
    land = [geo.to_metric(shapely.geometry.shape(p["outline"])) for p in parcels]
    everything = shapely.union_all([asked_geom, *land]) if land else asked_geom
    frame = Frame(_fitted(everything.buffer(40).bounds), WIDTH, HEIGHT, pad=PAD)
    green = palette.STATUS_COLOURS[CertificateStatus.TERBIT]
    shapes = [
        f'<path d="{frame.path(g)}" fill="{green}" fill-opacity="0.25" stroke="#1a6b3a" stroke-width="1.5"/>'
        for g in land
    ]
    if asked_geom.geom_type == "Point":
        cx, cy = frame.xy(asked_geom.x, asked_geom.y)
        shapes.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="#c0392b" stroke="#fff" stroke-width="2"/>')
    else:
        shapes.append(
            f'<path d="{frame.path(asked_geom)}" fill="none" stroke="#c0392b" stroke-width="2" stroke-dasharray="6 3"/>'
        )
    bar = scale_bar(frame.scale, WIDTH - 2 * PAD, share=0.25)
    title = escape(_("Map of the answer: the place asked about (red) and the city's land (green)"))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#f7f7f4" stroke="#999"/>'
        + "".join(shapes)
        + '<g font-family="DejaVu Sans, sans-serif" font-size="11" fill="#222">'
        f'<rect x="{PAD}" y="{HEIGHT - 14}" width="{bar.length:.1f}" height="4" fill="#222"/>'
        f'<text x="{PAD + bar.length + 6:.1f}" y="{HEIGHT - 9}">{escape(bar.label)}</text>'
        f'<path d="M{WIDTH - 20},{PAD + 20} l-7,10 l7,-4 l7,4 Z" fill="#222"/>'
        f'<text x="{WIDTH - 24}" y="{PAD + 12}">{escape(_("N"))}</text></g></svg>'
    )
