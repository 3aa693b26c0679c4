"""QR codes on printed pages, drawn as SVG from segno's module matrix (pure Python, no image library)."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from django.utils.html import escape

QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 asks


@dataclass(frozen=True)
class QrCode:
    payload: str
    modules: int  # the code's width in modules (without the quiet zone)
    svg: str


def matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The dark (True) and light modules of the QR code of ``payload``, row by row (error correction M or better)."""
    code = segno.make(payload, error="m", micro=False)
    return tuple(tuple(bool(v) for v in row) for row in code.matrix)


def qr_svg(payload: str, size_mm: float = 20.0) -> QrCode:
    """The QR code of ``payload`` as an SVG ``size_mm`` wide: one rect per run of dark modules in a row."""
    rows = matrix(payload)
    n = len(rows)
    full = n + 2 * QUIET_ZONE
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {full} {full}" width="{size_mm:g}mm" '
        f'height="{size_mm:g}mm" class="qr" shape-rendering="crispEdges"><title>{escape(payload)}</title>'
        f'<rect width="{full}" height="{full}" fill="#fff"/>'
    ]
    for y, row in enumerate(rows):
        x = 0
        while x < n:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < n and row[x]:
                x += 1
            out.append(f'<rect x="{start + QUIET_ZONE}" y="{y + QUIET_ZONE}" width="{x - start}" height="1"/>')
    out.append("</svg>")
    return QrCode(payload=payload, modules=n, svg="".join(out))
