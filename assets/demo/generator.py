"""A deterministic demo register: Balikpapan land assets (KIB A) with their certificates.

Parcels come from a square grid laid over the city in the metric CRS, one parcel per selected cell, so
parcels never overlap and nothing grows with the number of assets:

1. the cell size follows from N (about sqrt(0.6 * city area / N)), capped so that a parcel stays under ~5 ha;
2. pass 1 counts, per kecamatan, the cells whose box lies inside the union of kelurahan;
3. each kecamatan gets an exact quota, proportional to its cells times a density weight (the urban south
   is denser than the forested north) and never more than its cells;
4. pass 2 walks the same cells again and keeps exactly each quota by selection sampling (Knuth's Algorithm S);
5. a rotated rectangle, trapezoid, L-shape or convex polygon is drawn inside each kept cell, with a margin.

Assets are yielded one at a time and the writers stream them in batches. The same count and seed give
the same records, whatever the batch size or the output. Derived fields (GIS area, kelurahan, certificate
status) are computed with the functions assets.services uses.

This module composes the steps, each in its own module: ``context`` (what the database holds), ``grid``
(steps 1 to 4), ``shapes`` (step 5) and ``attributes`` (the KIB A row and its certificates), over the figures in
``tables`` and the ``records`` they pass on. ``writers`` streams the assets into the register or a GeoPackage.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

import numpy as np

from assets.demo.attributes import Numbering, make_asset
from assets.demo.context import DemoContext
from assets.demo.grid import allocate, city_from_context, plan_grid, select_cells
from assets.demo.records import DemoAsset
from assets.demo.shapes import parcels_in_cells

T = TypeVar("T")

PARCEL_CHUNK = 1_024  # parcels reprojected together; no effect on the output


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items in order, the last one shorter if need be."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def generate_assets(context: DemoContext, *, count: int, seed: int) -> Iterator[DemoAsset]:
    """Exactly ``count`` demo assets, the same ones for the same seed, in grid order.

    The grid is planned at the call (a count too large for the city fails before anything is written);
    the assets come as the iterator is consumed.
    """
    city = city_from_context(context)
    grid, capacity = plan_grid(city, count)
    quotas = allocate(capacity, city.weights, count)
    cells = select_cells(grid, city, capacity, quotas, np.random.default_rng([seed, 0]))
    return _assets_in(cells, grid.cell, context, seed)


def _assets_in(
    cells: Iterator[tuple[float, float]], cell: float, context: DemoContext, seed: int
) -> Iterator[DemoAsset]:
    # Separate streams: the attributes drawn for a parcel do not depend on how parcels are chunked.
    shape_rng, attribute_rng = random.Random(f"{seed}:shapes"), random.Random(f"{seed}:attributes")
    numbers = Numbering(context.register_after, context.nibar_after)
    for chunk in batched(cells, PARCEL_CHUNK):
        for use, parcel in parcels_in_cells(chunk, cell, shape_rng):
            yield make_asset(use, parcel, context, attribute_rng, numbers)
