"""Static SVG drawn on the server for the audit pages and the PDF report: a findings map and two charts.

Hand-written rather than a chart library because the output must work offline, inside WeasyPrint and in
the browser alike, and needs only rectangles, polylines and paths; escaping goes through django.utils.html.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import shapely
from django.contrib.gis.db.models.functions import AsWKB
from django.utils.html import escape
from django.utils.translation import gettext as _

from assets.lib.svg import LonLatFrame as _Frame
from assets.register.models import AdministrativeArea

PALETTE = ("#c0392b", "#2471a3", "#d68910", "#7d3c98", "#148f77", "#5d6d7e", "#a04000", "#1e8449")


def _areas(level: str) -> list[shapely.Geometry]:
    qs = AdministrativeArea.objects.filter(level=level).annotate(wkb=AsWKB("geom")).values_list("wkb", flat=True)
    return [shapely.from_wkb(bytes(w)) for w in qs]


def findings_map(layers: Sequence[tuple[str, Iterable[bytes | None]]], *, width: int = 640, height: int = 520) -> str:
    """The city with its kecamatan and kelurahan and the affected assets, one colour per layer (label, asset WKBs):
    drawn from Sipanah's own data, no basemap.

    Parcels are a few metres across on a map of 500 km², so each is drawn as its shape and a dot.
    """
    kota = _areas(AdministrativeArea.Level.KOTA)
    kecamatan = _areas(AdministrativeArea.Level.KECAMATAN)
    kelurahan = _areas(AdministrativeArea.Level.KELURAHAN)
    parsed = [(label, [shapely.from_wkb(bytes(w)) for w in wkbs if w]) for label, wkbs in layers]
    everything = kota + kecamatan + [g for _label, geoms in parsed for g in geoms]
    title = escape(_("Map of the affected assets"))
    if not everything:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40"><title>{title}</title></svg>'
    bounds = tuple(shapely.total_bounds(everything).tolist())
    frame = _Frame(bounds, width, height)  # type: ignore[arg-type]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 24 * len(parsed)}" '
        f'width="{width}" role="img" class="findings-map" style="max-width:100%;height:auto"><title>{title}</title>',
        f'<rect width="{width}" height="{height}" fill="#f4f6f7"/>',
    ]
    for geom in kecamatan:
        out.append(
            f'<path d="{frame.path(shapely.simplify(geom, 0.0005))}" fill="#fff" stroke="#aab7b8" stroke-width="0.8"/>'
        )
    for geom in kelurahan:
        out.append(
            f'<path class="kelurahan" d="{frame.path(shapely.simplify(geom, 0.0005))}" fill="none" '
            f'stroke="#d5dbdb" stroke-width="0.5"/>'
        )
    for geom in kota:
        out.append(
            f'<path d="{frame.path(shapely.simplify(geom, 0.0005))}" fill="none" stroke="#34495e" stroke-width="1.5"/>'
        )
    for i, (_label, geoms) in enumerate(parsed):
        colour = PALETTE[i % len(PALETTE)]
        for geom in geoms:
            cx, cy = frame.xy(*shapely.get_coordinates(shapely.point_on_surface(geom))[0])
            out.append(f'<path d="{frame.path(geom)}" fill="{colour}" fill-opacity="0.6" stroke="{colour}"/>')
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{colour}" fill-opacity="0.8"/>')
    for i, (label, geoms) in enumerate(parsed):
        y = height + 16 + 24 * i
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<circle cx="16" cy="{y - 4}" r="6" fill="{colour}"/>')
        out.append(
            f'<text x="30" y="{y}" font-size="13" font-family="sans-serif">{escape(label)} ({len(geoms)})</text>'
        )
    out.append("</svg>")
    return "".join(out)


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[str], *, title: str, width: int = 640
) -> str:
    """Horizontal stacked bars: one row per category, one segment per series."""
    bar, gap, label_w = 18, 6, 190
    legend_h = 24
    height = legend_h + len(rows) * (bar + gap) + 10
    top = max((sum(values) for _label, values in rows), default=0) or 1
    scale = (width - label_w - 60) / top
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        f'style="max-width:100%;height:auto" '
        f'class="chart"><title>{escape(title)}</title>'
    ]
    x = 0
    for i, name in enumerate(series):
        out.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{x + 16}" y="14" font-size="12" font-family="sans-serif">{escape(name)}</text>')
        x += 20 + 8 * len(name)
    for r, (label, values) in enumerate(rows):
        y = legend_h + r * (bar + gap)
        out.append(
            f'<text x="{label_w - 6}" y="{y + bar - 5}" font-size="12" text-anchor="end" '
            f'font-family="sans-serif">{escape(label[:30])}</text>'
        )
        x0 = float(label_w)
        for i, value in enumerate(values):
            w = value * scale
            if w > 0:
                out.append(
                    f'<rect x="{x0:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{PALETTE[i % len(PALETTE)]}">'
                    f"<title>{escape(series[i])}: {value:,.0f}</title></rect>"
                )
            x0 += w
        out.append(f'<text x="{x0 + 4:.1f}" y="{y + bar - 5}" font-size="11">{sum(values):,.0f}</text>')
    out.append("</svg>")
    return "".join(out)


def line_chart(
    points: Sequence[tuple[int, Sequence[float]]], series: Sequence[str], *, title: str, width: int = 640
) -> str:
    """Lines over years (x) for each series; used for the certification progress."""
    height, left, bottom, top_pad = 260, 50, 30, 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        f'style="max-width:100%;height:auto" '
        f'class="chart"><title>{escape(title)}</title>'
    ]
    if not points:
        out.append(f'<text x="10" y="20" font-size="12">{escape(_("No stage changes recorded."))}</text></svg>')
        return "".join(out)
    years = [p[0] for p in points]
    top = max(max(values) for _year, values in points) or 1
    span = max(years[-1] - years[0], 1)

    def xy(year: int, value: float) -> tuple[float, float]:
        x = left + (year - years[0]) / span * (width - left - 20)
        y = height - bottom - value / top * (height - bottom - top_pad)
        return x, y

    out.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#555"/>')
    out.append(f'<text x="{left - 6}" y="{top_pad + 4}" font-size="11" text-anchor="end">{top:,.0f}</text>')
    for year in years:
        x, _y = xy(year, 0)
        out.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="11" text-anchor="middle">{year}</text>')
    for i, name in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(year, values[i]) for year, values in points))
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<rect x="{left + 150 * i}" y="6" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{left + 150 * i + 16}" y="16" font-size="12">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)
