"""Static SVG drawn on the server for the audit pages and the PDF report: the findings map, the dashboard's bar
charts and its choropleths of the share certified.

Hand-written rather than a chart library because the output must work offline, inside WeasyPrint and in
the browser alike, and needs only rectangles, polylines and paths; escaping goes through django.utils.html.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import shapely
from django.utils.html import escape
from django.utils.translation import gettext as _

from assets.lib import formats
from assets.lib.svg import LonLatFrame as _Frame
from assets.register import palette, selectors
from assets.register.models import AdministrativeArea

PALETTE = ("#c0392b", "#2471a3", "#d68910", "#7d3c98", "#148f77", "#5d6d7e", "#a04000", "#1e8449")


def _areas(level: str) -> list[shapely.Geometry]:
    return [area.geom for area in selectors.area_shapes(level)]


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


# --- Dashboard charts -----------------------------------------------------------------------------------

TEXT = "#1b2430"  # the page's text colour: 15:1 on white
MUTED = "#56606d"  # 6.4:1 on white
GRID = "#dde2e8"
FONT = "system-ui, 'Segoe UI', Roboto, 'Noto Sans', 'Liberation Sans', Arial, sans-serif"
CHAR_W = 0.62  # average glyph width of the sans-serif fonts above, in ems: enough to lay out labels without a font


def _text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_W


def _wrap(text: str, size: float, width: float, lines: int = 2) -> list[str]:
    """``text`` cut at spaces into at most ``lines`` lines of ``width`` pixels; the last one ends in "…" when the
    rest does not fit (the caller gives the full text in a <title>)."""
    out: list[str] = []
    words = text.split()
    while words and len(out) < lines:
        line = words.pop(0)
        while words and _text_width(f"{line} {words[0]}", size) <= width:
            line = f"{line} {words.pop(0)}"
        out.append(line)
    shortened = bool(words) or any(_text_width(line, size) > width for line in out)
    if shortened:
        keep = max(int(width / (size * CHAR_W)) - 1, 1)
        last = out[-1] if not words else f"{out[-1]} {words[0]}"
        out[-1] = last[:keep].rstrip() + "…"
        out = [line if _text_width(line, size) <= width else line[:keep].rstrip() + "…" for line in out]
    return out


def _nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that divides 0..top into about ``ticks`` parts."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return max(factor * power, 1.0)
    return 10 * power


def _open(width: float, height: float, title: str, *, role: str = "img", css_class: str = "chart") -> list[str]:
    """The root element: a fixed size for downloads (the SVG and the PNG drawn from it), scaled down by CSS on the
    page (max-width: 100%); white behind so the PNG is not transparent."""
    label = escape(title)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="{role}" aria-label="{label}" class="{css_class}" '
        f'font-family="{escape(FONT)}" fill="{TEXT}"><title>{label}</title>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>',
    ]


def _legend(
    items: Sequence[tuple[str, str]], *, x0: float, y0: float, width: float, size: float = 12
) -> tuple[list[str], float]:
    """Swatch and name per (colour, name), wrapped onto more lines when the width runs out; returns the markup and
    the height used."""
    out, x, y = [], x0, y0
    for colour, name in items:
        w = 18 + _text_width(name, size) + 14
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + size + 10
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" rx="2" fill="{colour}"/>')
        out.append(f'<text x="{x + 17:.1f}" y="{y + 10.5:.1f}" font-size="{size}">{escape(name)}</text>')
        x += w
    return out, y - y0 + size + 10


def bar_chart(
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[tuple[str, str]],
    *,
    title: str,
    width: int = 600,
    stacked: bool = True,
    empty: str = "",
) -> str:
    """Horizontal bars, one row per category (label, values per series), series as (name, colour): stacked
    segments with the row's total at the end, or one bar per series (``stacked=False``) each with its number.

    Labels stand left of their bars, wrapped onto two lines; in a narrow chart (under 480 px: phones) they stand
    above them, across the whole width. A label still too long ends in "…"; the full label, the numbers per series
    and the total are each row's <title> (the tooltip). Numbers follow the active language (assets.lib.formats)."""
    size = 12.0 if width < 480 else 13.0
    above = width < 480
    longest = max((_text_width(label, size) for label, _v in rows), default=0)
    label_w = float(width) if above else min(max(longest + 14, 60), max(width * 0.3, 110), 240)
    legend, legend_h = _legend([(colour, name) for name, colour in series], x0=0, y0=6, width=width)
    per_row = 1 if stacked else len(series)
    bar = 14.0 if stacked else 11.0
    bars_h = per_row * (bar + 2)
    labels = [_wrap(label, size, label_w - (0 if above else 10), lines=1 if above else 2) for label, _v in rows]
    if above:
        row_hs = [len(lines) * (size + 3) + bars_h + 10 for lines in labels]
    else:
        row_hs = [max(bars_h + 8, len(lines) * (size + 2) + 8) for lines in labels]
    totals = [sum(v) if stacked else max(v, default=0) for _label, v in rows]
    top = max(totals, default=0) or 1
    step = _nice_step(top)
    axis_top = step * math.ceil(top / step)
    x0 = 1.0 if above else label_w
    number_w = _text_width(formats.number(top), size - 1) + 10
    tick_w = _text_width(formats.number(axis_top), size - 1) / 2 + 2
    plot_w = max(width - x0 - max(number_w, tick_w), 40)
    scale = min(plot_w / axis_top, (width - x0 - tick_w) / axis_top)
    y0 = legend_h + 14
    height = y0 + sum(row_hs) + 26
    out = _open(width, height, title)
    out += legend
    if not rows:
        out.append(f'<text x="0" y="{y0 + 16:.0f}" font-size="{size}">{escape(empty)}</text></svg>')
        return "".join(out)
    bottom = y0 + sum(row_hs)
    tick = 0.0
    while tick <= axis_top + 1e-9:  # grid and ticks under the bars
        x = x0 + tick * scale
        out.append(f'<line x1="{x:.1f}" y1="{y0 - 4:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{GRID}"/>')
        anchor = "start" if above and tick == 0 else "middle"
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 16:.1f}" font-size="{size - 1}" fill="{MUTED}" '
            f'text-anchor="{anchor}">{formats.number(tick)}</text>'
        )
        tick += step
    y = y0
    for (label, values), lines, row_h, total in zip(rows, labels, row_hs, totals, strict=True):
        detail = "; ".join(f"{name}: {formats.number(v)}" for (name, _c), v in zip(series, values, strict=True))
        tip = f"{label}: {detail}" + (f"; {_('Total')}: {formats.number(total)}" if stacked else "")
        out.append(f"<g><title>{escape(tip)}</title>")
        if above:
            for n, line in enumerate(lines):
                out.append(
                    f'<text x="0" y="{y + 4 + size + n * (size + 3):.1f}" font-size="{size}">{escape(line)}</text>'
                )
            by = y + len(lines) * (size + 3) + 6
        else:
            first = y + row_h / 2 - (len(lines) - 1) * (size + 2) / 2 + size * 0.35
            for n, line in enumerate(lines):
                out.append(
                    f'<text x="{x0 - 8:.1f}" y="{first + n * (size + 2):.1f}" font-size="{size}" '
                    f'text-anchor="end">{escape(line)}</text>'
                )
            by = y + (row_h - bars_h) / 2
        if stacked:
            x = x0
            for (_name, colour), value in zip(series, values, strict=True):
                if value > 0:
                    out.append(
                        f'<rect x="{x:.1f}" y="{by:.1f}" width="{value * scale:.1f}" height="{bar}" fill="{colour}"/>'
                    )
                x += value * scale
            out.append(
                f'<text x="{x + 5:.1f}" y="{by + bar / 2 + size * 0.35:.1f}" font-size="{size - 1}">'
                f"{formats.number(total)}</text>"
            )
        else:
            for (_name, colour), value in zip(series, values, strict=True):
                out.append(f'<rect x="{x0}" y="{by:.1f}" width="{value * scale:.1f}" height="{bar}" fill="{colour}"/>')
                out.append(
                    f'<text x="{x0 + value * scale + 5:.1f}" y="{by + bar / 2 + (size - 1) * 0.35:.1f}" '
                    f'font-size="{size - 1}" fill="{TEXT if value else MUTED}">{formats.number(value)}</text>'
                )
                by += bar + 2
        out.append("</g>")
        y += row_h
    if not above:
        out.append(f'<line x1="{x0}" y1="{y0 - 4:.1f}" x2="{x0}" y2="{bottom:.1f}" stroke="{MUTED}"/>')
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class ShareArea:
    """One area of a choropleth: its boundary, name, how many assets it holds and how many are certified."""

    name: str
    geom: shapely.Geometry
    total: int
    certified: int
    url: str = ""

    @property
    def share(self) -> float | None:
        return self.certified / self.total if self.total else None

    def describe(self) -> str:
        if not self.total:
            return _("%(name)s: no assets") % {"name": self.name}
        return _("%(name)s: %(share)s certified (%(certified)s of %(total)s assets)") % {
            "name": self.name,
            "share": formats.percent(self.share),
            "certified": formats.number(self.certified),
            "total": formats.number(self.total),
        }


def share_classes() -> list[tuple[str, str]]:
    """(colour, "0–20%") per class of the share certified, then the class of areas without assets."""
    items, lower = [], 0.0
    for upper, colour in palette.SHARE_CLASSES:
        items.append((colour, f"{formats.number(lower * 100)}–{formats.number(upper * 100)}%"))
        lower = upper
    return [*items, (palette.NO_DATA_COLOUR, _("no assets"))]


def choropleth(
    areas: Sequence[ShareArea],
    *,
    title: str,
    width: int = 560,
    labels: bool = True,
    legend_title: str = "",
) -> str:
    """The areas filled by their share of certified assets (classes of palette.SHARE_CLASSES), each titled with its
    name and percentage; with ``labels`` the name and percentage are written on the map too (few, large areas: a
    label that would cover another is moved aside with a leader line). An area with a ``url`` is a link (reachable
    with the keyboard: Tab, then Enter)."""
    size = 12.0 if width < 480 else 13.0
    geoms = [a.geom for a in areas]
    if not geoms:
        out = _open(width, 40, title)
        out.append(f'<text x="0" y="24" font-size="{size}">{escape(_("No administrative areas loaded."))}</text></svg>')
        return "".join(out)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms).tolist()
    kx = math.cos(math.radians((miny + maxy) / 2))
    map_h = min(round(width * (maxy - miny) / max((maxx - minx) * kx, 1e-9)), round(width * 1.3))
    frame = _Frame((minx, miny, maxx, maxy), width, map_h, pad=4)
    caption_h = size + 14 if legend_title else 0
    legend, legend_h = _legend(share_classes(), x0=0, y0=map_h + 8 + caption_h, width=width, size=size - 1)
    height = map_h + 8 + caption_h + legend_h
    interactive = any(a.url for a in areas)
    out = _open(width, height, title, role="group" if interactive else "img", css_class="chart choropleth")
    for area in areas:
        path = frame.path(shapely.simplify(area.geom, 0.0002))
        fill = palette.share_colour(area.share)
        tip = escape(area.describe())
        shape = f'<path d="{path}" fill="{fill}" stroke="#fff" stroke-width="1.2" stroke-linejoin="round"/>'
        if area.url:
            out.append(f'<a href="{escape(area.url)}" aria-label="{tip}"><title>{tip}</title>{shape}</a>')
        else:
            out.append(f"<g><title>{tip}</title>{shape}</g>")
    if labels:
        out += _area_labels(areas, frame, size=size, width=width, height=map_h)
    if legend_title:
        out.append(
            f'<text x="0" y="{map_h + 8 + size:.1f}" font-size="{size}" font-weight="600">{escape(legend_title)}</text>'
        )
    out += legend
    out.append("</svg>")
    return "".join(out)


def _area_labels(areas: Sequence[ShareArea], frame: _Frame, *, size: float, width: float, height: float) -> list[str]:
    """Name and percentage of each area at a point inside it, largest areas first; a label that would overlap one
    already placed, or cover another area's point, moves to the nearest free spot (tried in rings around the point)
    with a leader line. In a narrow map a first word every name shares (the city's) is shortened."""
    placed: list[tuple[float, float, float, float]] = []
    out: list[str] = []
    ordered = sorted(areas, key=lambda a: -a.geom.area)
    firsts = {a.name.split(" ", 1)[0] for a in areas if " " in a.name}
    common = firsts.pop() if len(firsts) == 1 and all(" " in a.name for a in areas) else ""  # the city's name
    anchors = [frame.xy(*shapely.get_coordinates(shapely.point_on_surface(a.geom))[0]) for a in ordered]
    for i, area in enumerate(ordered):
        px, py = anchors[i]
        others = anchors[:i] + anchors[i + 1 :]
        name = area.name
        if width < 480 and common and name.startswith(f"{common} "):  # "Balikpapan Barat" -> "Bal. Barat"
            name = f"{common[:3]}. {name[len(common) + 1 :]}"
        share = formats.percent(area.share) if area.total else "—"
        w = max(_text_width(name, size), _text_width(share, size)) + 6
        h = 2 * size + 6
        best = (px, py)
        for dy, dx in [(0, 0)] + [(r * sy, r * sx) for r in (h, 2 * h, 3 * h) for sy, sx in
                                  ((1, 0), (-1, 0), (1, -0.6), (1, 0.6), (-1, -0.6), (-1, 0.6))]:  # fmt: skip
            cx = min(max(px + dx * w / h if dx else px, w / 2), width - w / 2)
            cy = min(max(py + dy, h / 2), height - h / 2)
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            free = not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed)
            points = others if (dx, dy) == (0, 0) else [*others, (px, py)]  # moved: its own point stays visible
            if free and not any(box[0] - 4 < x < box[2] + 4 and box[1] - 4 < y < box[3] + 4 for x, y in points):
                best = (cx, cy)
                placed.append(box)
                break
        cx, cy = best
        if abs(cx - px) > 1 or abs(cy - py) > 1:
            # To the nearest point of the label's box, not through its text.
            ex, ey = min(max(px, cx - w / 2), cx + w / 2), min(max(py, cy - h / 2), cy + h / 2)
            out.append(
                f'<line x1="{px:.1f}" y1="{py:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="{TEXT}" stroke-width="1"/>'
            )
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{TEXT}"/>')
        out.append(
            f'<text x="{cx:.1f}" y="{cy - 2:.1f}" font-size="{size}" text-anchor="middle" font-weight="600" '
            f'stroke="#fff" stroke-width="3" paint-order="stroke" stroke-linejoin="round" '
            f'pointer-events="none" aria-hidden="true">{escape(name)}'
            f'<tspan x="{cx:.1f}" dy="{size + 2}" font-weight="400">{escape(share)}</tspan></text>'
        )
    return out
