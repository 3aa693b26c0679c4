"""Parcels given to teams: ordered along a Hilbert curve over their centroids in the metric CRS (near parcels stay
together, so each team walks one area) and cut into runs balanced by count (sizes differ by at most one)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

from assets.register import geo

HILBERT_BITS = 16


def hilbert_index(x: int, y: int, bits: int = HILBERT_BITS) -> int:
    """Distance along the Hilbert curve of the cell (x, y) of a 2**bits grid."""
    d = 0
    s = 1 << (bits - 1)
    while s > 0:
        rx = 1 if x & s else 0
        ry = 1 if y & s else 0
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:  # rotate the quadrant
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        s >>= 1
    return d


def curve_order(points: np.ndarray) -> list[int]:
    """Indexes of ``points`` (n×2, metres) in Hilbert-curve order (ties: the input order)."""
    if len(points) == 0:
        return []
    low = points.min(axis=0)
    span = float((points.max(axis=0) - low).max()) or 1.0
    cells = ((points - low) / span * ((1 << HILBERT_BITS) - 1)).astype(np.int64)
    keys = [hilbert_index(int(cx), int(cy)) for cx, cy in cells]
    return sorted(range(len(points)), key=lambda i: (keys[i], i))


def balanced_runs(count: int, teams: int) -> list[range]:
    """``count`` positions cut into ``teams`` consecutive runs whose sizes differ by at most one."""
    if teams < 1:
        raise ValueError("at least one team")
    base, extra = divmod(count, teams)
    runs, start = [], 0
    for t in range(teams):
        size = base + (1 if t < extra else 0)
        runs.append(range(start, start + size))
        start += size
    return runs


def split(centroids: Sequence[tuple[float, float]], teams: int) -> list[list[int]]:
    """Indexes of the lon/lat ``centroids`` per team: by area along the curve, balanced by count."""
    if not centroids:
        return [[] for _ in range(teams)]
    metric = geo.to_metric(shapely.points(np.asarray(centroids, dtype=float)))
    xy = shapely.get_coordinates(metric)
    order = curve_order(xy)
    return [[order[p] for p in run] for run in balanced_runs(len(order), teams)]
