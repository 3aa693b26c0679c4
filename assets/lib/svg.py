"""Map coordinates to SVG drawing units, for the maps Sipanah draws on the server (audit findings, the KIB A card).

Hand-written rather than a plotting library: the output must work offline, inside WeasyPrint and in the browser
alike, and needs only paths, lines and text. One scale for both axes, so shapes keep their form: give planar
coordinates (metres of a projected CRS) to :class:`Frame`, lon/lat to :class:`LonLatFrame`.
"""

from __future__ import annotations

import math

import shapely


class Frame:
    """Planar coordinates to SVG units: x to the right, y down, ``scale`` units per coordinate unit, ``pad`` units of
    margin; the bounds' lower-left corner is drawn at the box's left and its top at the box's top."""

    kx: float = 1.0  # x stretch (LonLatFrame: cos(latitude))

    def __init__(self, bounds: tuple[float, float, float, float], width: float, height: float, pad: float = 10) -> None:
        minx, miny, maxx, maxy = bounds
        span_x = max((maxx - minx) * self.kx, 1e-9)
        span_y = max(maxy - miny, 1e-9)
        self.scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
        self.minx, self.maxy, self.pad = minx, maxy, pad

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (
            self.pad + (x - self.minx) * self.kx * self.scale,
            self.pad + (self.maxy - y) * self.scale,
        )

    def path(self, geom: shapely.Geometry, digits: int = 1) -> str:
        """SVG path data of the polygons (with their holes) and lines of ``geom``; other parts are left out."""
        parts = []
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type in ("MultiPolygon", "MultiLineString", "GeometryCollection"):
                parts.append(self.path(part, digits))
            elif part.geom_type == "Polygon":
                for ring in [part.exterior, *part.interiors]:
                    parts.append(self._line(ring.coords, digits) + "Z")
            elif part.geom_type in ("LineString", "LinearRing") and not part.is_empty:
                parts.append(self._line(part.coords, digits))
        return "".join(parts)

    def _line(self, coords: object, digits: int) -> str:
        points = [self.xy(x, y) for x, y, *_z in coords]  # type: ignore[attr-defined]
        return "M" + "L".join(f"{px:.{digits}f},{py:.{digits}f}" for px, py in points)


class LonLatFrame(Frame):
    """Lon/lat to SVG units: equirectangular, x scaled by cos(latitude) (Balikpapan is 1° south), for maps of a
    whole city where a projection would not change the picture."""

    def __init__(self, bounds: tuple[float, float, float, float], width: float, height: float, pad: float = 10) -> None:
        self.kx = math.cos(math.radians((bounds[1] + bounds[3]) / 2))
        super().__init__(bounds, width, height, pad)
