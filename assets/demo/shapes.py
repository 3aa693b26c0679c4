"""Parcel shapes: a rectangle, trapezoid, L-shape or convex polygon of a land use's size, drawn inside a grid cell
and reprojected to lon/lat."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from itertools import accumulate

import numpy as np
import shapely

from assets.demo.records import DemoError
from assets.demo.tables import SHAPES, USE_CUM_WEIGHTS, USES, LandUse
from assets.register.geo import STORAGE_SRID, area_srid, transformer

MIN_AREA_M2 = 150.0
MAX_AREA_M2 = 50_000.0

Ring = list[tuple[float, float]]


def _rect(rng: random.Random, aspect: float) -> Ring:
    w, h = math.sqrt(aspect), 1 / math.sqrt(aspect)
    return [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]


def _trapezoid(rng: random.Random, aspect: float) -> Ring:
    w, h = math.sqrt(aspect), 1 / math.sqrt(aspect)
    top = w * rng.uniform(0.5, 0.9)
    shift = rng.uniform(-1.0, 1.0) * (w - top) / 2
    return [(-w / 2, -h / 2), (w / 2, -h / 2), (shift + top / 2, h / 2), (shift - top / 2, h / 2)]


def _l_shape(rng: random.Random, aspect: float) -> Ring:
    w, h = math.sqrt(aspect), 1 / math.sqrt(aspect)
    fx, fy = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)
    return [(0.0, 0.0), (w, 0.0), (w, fy * h), (fx * w, fy * h), (fx * w, h), (0.0, h)]


def _convex(rng: random.Random, aspect: float) -> Ring:
    # Points on an ellipse in angular order always form a convex polygon; uneven gaps make it irregular.
    gaps = [0.6 + rng.random() for _ in range(rng.randint(5, 8))]
    start, scale = rng.uniform(0, 2 * math.pi), 2 * math.pi / sum(gaps)
    angles = [start + scale * g for g in accumulate(gaps, initial=0.0)][:-1]
    rx, ry = math.sqrt(aspect), 1 / math.sqrt(aspect)
    return [(rx * math.cos(a), ry * math.sin(a)) for a in angles]


SHAPE_BUILDERS: dict[str, Callable[[random.Random, float], Ring]] = {
    "rect": _rect,
    "trapezoid": _trapezoid,
    "L": _l_shape,
    "convex": _convex,
}


def _signed_area(ring: Ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


def parcel_outline(use: LandUse, half: float, rng: random.Random) -> Ring:
    """A parcel of ``use`` in metres, inside the square [-half, half]², counter-clockwise."""
    area = min(MAX_AREA_M2, max(MIN_AREA_M2, rng.lognormvariate(math.log(use.median_m2), use.spread)))
    kind = rng.choices(SHAPES, weights=use.shapes)[0]
    # In a small cell a long road cannot keep its length: it becomes less elongated rather than tiny.
    aspect = min(rng.uniform(*use.aspect), max(1.0, (1.7 * half) ** 2 / area))
    ring = SHAPE_BUILDERS[kind](rng, aspect)
    # A quarter turn puts an L's notch in any corner and a road in either direction; then a small tilt.
    angle = (
        rng.uniform(0, math.pi)
        if kind == "convex"
        else rng.randrange(4) * math.pi / 2 + math.radians(rng.uniform(-12, 12))
    )
    scale = math.sqrt(area / abs(_signed_area(ring)))
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    ring = [(x * cos - y * sin, x * sin + y * cos) for x, y in ring]
    return _fit(ring, half, rng)


def _fit(ring: Ring, half: float, rng: random.Random) -> Ring:
    """Shrink the ring if it is wider than the cell's inner square, then place it at random inside."""
    xs, ys = [x for x, _ in ring], [y for _, y in ring]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    shrink = min(1.0, 2 * half / max(width, height))
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    dx = rng.uniform(-1.0, 1.0) * (half - width * shrink / 2)
    dy = rng.uniform(-1.0, 1.0) * (half - height * shrink / 2)
    ring = [((x - cx) * shrink + dx, (y - cy) * shrink + dy) for x, y in ring]
    return ring if _signed_area(ring) > 0 else ring[::-1]


def parcels_in_cells(
    cells: Sequence[tuple[float, float]], cell: float, rng: random.Random
) -> list[tuple[LandUse, shapely.MultiPolygon]]:
    """One parcel per cell centre: its use and its lon/lat MultiPolygon (reprojected in one call)."""
    margin = max(0.5, 0.03 * cell)  # keeps neighbours at least 1 m apart, whatever the reprojection does
    uses, coords, ring_ids = [], [], []
    for i, (cx, cy) in enumerate(cells):
        use = rng.choices(USES, cum_weights=USE_CUM_WEIGHTS)[0]
        ring = parcel_outline(use, cell / 2 - margin, rng)
        uses.append(use)
        coords.extend((cx + x, cy + y) for x, y in ring)
        ring_ids.extend([i] * len(ring))
    xy = np.array(coords)
    lon, lat = transformer(area_srid(), STORAGE_SRID).transform(xy[:, 0], xy[:, 1])
    polygons = shapely.polygons(shapely.linearrings(np.column_stack([lon, lat]), indices=ring_ids))
    if not shapely.is_valid(polygons).all():
        raise DemoError("The generator drew an invalid parcel.")  # a bug guard: the shapes are simple by construction
    return list(zip(uses, shapely.multipolygons(polygons, indices=np.arange(len(polygons))), strict=True))
