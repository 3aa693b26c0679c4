"""The map's encumbrance layer: disputed parts of open cases and used parts of agreements in use
(assets.encumbrance) as two vector-tile layers, under the register's filters. Beside assets.maps.tiles, whose
tile grid, clipping buffer and checks it shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mapbox_vector_tile
from django.contrib.gis.geos import Polygon

from assets.encumbrance import selectors as encumbrance_selectors
from assets.maps.tiles import BUFFER, EXTENT, check_tile, clipped_to_tile, tile_bounds_lonlat
from assets.register.reads import RegisterSelection

ENCUMBRANCE_MIN_ZOOM = 13  # below it the parts are a few pixels: the tile is empty
ENCUMBRANCE_LAYERS = ("disputes", "utilisations")


def encumbrance_tile(selection: RegisterSelection, *, z: int, x: int, y: int) -> bytes:
    """Two layers, ``disputes`` (properties id, k: kind, st: stage) and ``utilisations`` (id, f: form, st: status),
    of the cases and agreements on the selection's assets (the same filters as the register's tiles), now or as of
    the selection's date (the cases open then, the agreements in use then, as recorded by the end of that day, on
    assets the register held then). Encoded in Python on both databases (they are few)."""
    check_tile(z, x, y)
    if z < ENCUMBRANCE_MIN_ZOOM:
        return b""
    west, south, east, north = tile_bounds_lonlat(z, x, y)
    pad_x, pad_y = (east - west) * BUFFER / EXTENT, (north - south) * BUFFER / EXTENT
    envelope = Polygon.from_bbox((west - pad_x, south - pad_y, east + pad_x, north + pad_y))
    envelope.srid = 4326
    cases, used = encumbrance_selectors.parts_in(envelope, _selected(selection), selection.as_of)
    layers = []
    for name, rows, keys in (("disputes", cases, ("k", "st")), ("utilisations", used, ("f", "st"))):
        features = _part_features(rows, keys, z, x, y)
        if features:
            layers.append({"name": name, "features": features})
    if not layers:
        return b""
    return mapbox_vector_tile.encode(layers, default_options={"y_coord_down": True, "extents": EXTENT})


def _selected(selection: RegisterSelection) -> Callable[[set[int]], set[int]] | None:
    """Which of some asset ids the selection holds (None: the whole live register, nothing to check)."""
    if selection.unfiltered:
        return None
    if selection.live:
        return lambda ids: set(selection.queryset().filter(pk__in=ids).values_list("pk", flat=True))
    return lambda ids: {state.id for state in selection.states(refine=lambda qs: qs.filter(id__in=ids))}


def _part_features(rows: list[tuple], keys: tuple[str, str], z: int, x: int, y: int) -> list[dict[str, Any]]:
    if not rows:
        return []
    shapes, keep = clipped_to_tile([r[3] for r in rows], z, x, y)
    return [
        {"geometry": shapes[i], "properties": {"id": rows[i][0], keys[0]: rows[i][1], keys[1]: rows[i][2]}}
        for i in keep
    ]
