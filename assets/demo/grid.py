"""The grid laid over the city in the metric CRS, the quota of cells per kecamatan, and the selection of cells."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely

from assets.demo.context import DemoContext
from assets.demo.records import DemoError
from assets.demo.tables import DEFAULT_DENSITY_PRICE, KECAMATAN_DENSITY_PRICE

FILL = 0.6  # share of the city covered by cells at the initial cell size
MAX_CELL_M = 320.0  # a 5 ha square (224 m) turned by 12 degrees still fits inside with the margin
MIN_CELL_M = 12.0  # below this a parcel could not reach ~100 m²: the count is too large for the city
SCAN_CELLS = 50_000  # grid cells tested per row chunk: bounds the memory of the grid passes


@dataclass(frozen=True)
class City:
    """The union of kelurahan and one stratum per kecamatan, in the metric CRS, prepared."""

    union: shapely.Geometry
    strata: tuple[shapely.Geometry, ...]
    weights: np.ndarray


@dataclass(frozen=True)
class Grid:
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int


def city_from_context(context: DemoContext) -> City:
    by_kecamatan: dict[str, list[shapely.Geometry]] = {}
    for ref, geom in zip(context.index.refs, context.index.geoms, strict=True):
        by_kecamatan.setdefault(context.kecamatan_codes[ref.parent_id], []).append(geom)
    codes = sorted(by_kecamatan)
    strata = tuple(shapely.union_all(by_kecamatan[code]) for code in codes)
    union = shapely.union_all(strata)
    shapely.prepare([union, *strata])
    weights = np.array([KECAMATAN_DENSITY_PRICE.get(code, DEFAULT_DENSITY_PRICE)[0] for code in codes])
    return City(union, strata, weights)


def plan_grid(city: City, count: int) -> tuple[Grid, np.ndarray]:
    """A grid with at least ``count`` cells inside the city (shrunk by 10 % until it has), and its cells per stratum."""
    cell = min(MAX_CELL_M, math.sqrt(FILL * city.union.area / count))
    xmin, ymin, xmax, ymax = city.union.bounds
    while cell >= MIN_CELL_M:
        x0, y0 = math.floor(xmin / cell) * cell, math.floor(ymin / cell) * cell
        grid = Grid(x0, y0, cell, math.ceil((xmax - x0) / cell), math.ceil((ymax - y0) / cell))
        capacity = np.zeros(len(city.strata), dtype=np.int64)
        for _xs, _ys, strata in candidate_cells(grid, city):
            capacity += np.bincount(strata, minlength=len(city.strata))
        if capacity.sum() >= count:
            return grid, capacity
        cell *= 0.9
    raise DemoError(f"{count} parcels do not fit in Balikpapan with parcels of at least ~100 m².")


def candidate_cells(grid: Grid, city: City) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Centres (x, y) and strata of the cells whose box lies inside the city, row chunk by row chunk."""
    rows = max(1, SCAN_CELLS // grid.nx)
    for row in range(0, grid.ny, rows):
        jj, ii = np.divmod(np.arange(row * grid.nx, min(grid.ny, row + rows) * grid.nx), grid.nx)
        xmin, ymin = grid.x0 + ii * grid.cell, grid.y0 + jj * grid.cell
        inside = shapely.contains(city.union, shapely.box(xmin, ymin, xmin + grid.cell, ymin + grid.cell))
        xs, ys = xmin[inside] + grid.cell / 2, ymin[inside] + grid.cell / 2
        yield xs, ys, _strata_of(city, xs, ys)


def _strata_of(city: City, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    # Kelurahan overlap a little: a centre in two kecamatan goes to the first, by code.
    strata = np.full(len(xs), -1, dtype=np.int64)
    for k, geom in enumerate(city.strata):
        strata[(strata < 0) & shapely.intersects_xy(geom, xs, ys)] = k
    if (strata < 0).any():  # impossible for a box inside the union; kept as a guard
        raise DemoError("A grid cell inside the city lies in no kecamatan.")
    return strata


def allocate(capacity: np.ndarray, weights: np.ndarray, total: int) -> np.ndarray:
    """Exact quotas summing to ``total``: proportional to capacity × weight, never above capacity.

    Water-filling: the strata with the highest weight saturate first; the rest share what is left
    with one factor ``lam``; integers by the largest remainder (ties to the lower index).
    """
    order = np.argsort(-weights, kind="stable")
    lam = 0.0
    for k in range(len(order)):
        rest = order[k:]
        demand = float((weights[rest] * capacity[rest]).sum())
        lam = (total - capacity[order[:k]].sum()) / demand if demand else math.inf
        if lam * weights[order[k]] <= 1.0:
            break
    ideal = capacity * np.minimum(1.0, lam * weights)
    quotas = np.minimum(np.floor(ideal).astype(np.int64), capacity)
    fractions = np.where(quotas < capacity, ideal - quotas, -1.0)
    for k in np.argsort(-fractions, kind="stable")[: total - quotas.sum()]:
        quotas[k] += 1
    return quotas


def select_cells(
    grid: Grid, city: City, capacity: np.ndarray, quotas: np.ndarray, rng: np.random.Generator
) -> Iterator[tuple[float, float]]:
    """Exactly quotas[s] cells of each stratum s, uniformly, in grid order (Knuth's Algorithm S)."""
    seen = [0] * len(quotas)
    chosen = [0] * len(quotas)
    capacity_l, quotas_l = capacity.tolist(), quotas.tolist()
    for xs, ys, strata in candidate_cells(grid, city):
        draws = rng.random(len(xs)).tolist()
        for x, y, s, u in zip(xs.tolist(), ys.tolist(), strata.tolist(), draws, strict=True):
            if (capacity_l[s] - seen[s]) * u < quotas_l[s] - chosen[s]:
                chosen[s] += 1
                yield x, y
            seen[s] += 1
