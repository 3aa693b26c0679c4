"""Overlaps an import would bring: its new or moved parcels over the register's live parcels, and over each other.

Warnings by default; errors (nothing written) when the import is strict. Bounded cost in the file's size:

- the register: one statement per checked batch, each parcel's bounding box looked up in the spatial index
  (PostGIS: GiST ``&&`` in a LATERAL join over the batch's boxes; SpatiaLite: the ``idx_assets_landasset_geom``
  R*Tree joined to the boxes given as one JSON array), then the exact intersections measured in Python;
- the file: every checked parcel kept (shapely, lon/lat) and, at the end, one STRtree query of all against all.

Areas are geodesic m² (:func:`assets.register.geo.pairwise_intersection_areas_m2`); a pair sharing less than
``MIN_OVERLAP_M2`` (a common edge, digitising noise) is no overlap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.db import connection

from assets.register.geo import pairwise_intersection_areas_m2
from assets.register.models import LandAsset
from assets.transfer.importing.report import ImportReport

MIN_OVERLAP_M2 = 1.0
MAX_REGISTER_SHAPES = 200  # register parcels drawn on the preview map


_TABLE = LandAsset._meta.db_table
_LABEL = "a.kode_barang || '/' || a.nomor_register || ' ' || a.nama_barang"
# PostGIS: each box looked up in the GiST index (LATERAL: one index scan per box, not one scan of the table)
_POSTGIS = (
    f"SELECT k.i, a.id, {_LABEL}, ST_AsBinary(a.geom) FROM unnest(%s::int[], %s::float8[], %s::float8[], "  # noqa: S608
    f'%s::float8[], %s::float8[]) AS k(i, x0, y0, x1, y1) CROSS JOIN LATERAL (SELECT * FROM "{_TABLE}" t WHERE '
    "t.geom && ST_MakeEnvelope(k.x0, k.y0, k.x1, k.y1, 4326) AND t.removed_at IS NULL) a"
)
# SpatiaLite: the boxes as one JSON array, each looked up in the R*Tree. CROSS JOIN fixes the order (SQLite's
# planner otherwise scanned the whole R*Tree once and the boxes inside it: 10,000 x 100,000 comparisons per batch)
_SPATIALITE = (
    f"SELECT k.key, a.id, {_LABEL}, AsBinary(a.geom) FROM json_each(%s) AS k "  # noqa: S608
    f'CROSS JOIN "idx_{_TABLE}_geom" r CROSS JOIN "{_TABLE}" a '
    "WHERE r.xmin <= json_extract(k.value, '$[2]') AND r.xmax >= json_extract(k.value, '$[0]') "
    "AND r.ymin <= json_extract(k.value, '$[3]') AND r.ymax >= json_extract(k.value, '$[1]') "
    "AND a.id = r.pkid AND a.removed_at IS NULL"
)


def _register_candidates(boxes: np.ndarray) -> list[tuple[int, int, str, bytes]]:
    """(position in ``boxes``, asset id, label, WKB) of the live register parcels whose bounding box meets each box
    (xmin, ymin, xmax, ymax), through the spatial index: one statement for the whole batch."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGIS, [list(range(len(boxes)))] + [boxes[:, c].tolist() for c in range(4)])
        else:
            cursor.execute(_SPATIALITE, [json.dumps(boxes.tolist())])
        return [(int(i), int(pk), label, bytes(wkb)) for i, pk, label, wkb in cursor.fetchall() if wkb is not None]


@dataclass
class OverlapCheck:
    """Collects the checked parcels batch by batch (:meth:`add`), reports the overlaps at the end (:meth:`finish`)."""

    report: ImportReport
    numbers: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    geoms: list[shapely.Geometry] = field(default_factory=list)
    replaced: set[int] = field(default_factory=set)  # register assets whose geometry the file replaces
    # (feature number, asset id, asset label, area, WKB): kept until the end, when the file's replacements are known
    register_pairs: list[tuple[int, int, str, float, bytes]] = field(default_factory=list)

    def add(self, parcels: list[tuple[int, str, shapely.Geometry, int | None]]) -> None:
        """A batch's new or moved parcels: (feature number, label, lon/lat geometry, id of the asset it updates)."""
        if not parcels:
            return
        geoms = np.array([g for _n, _l, g, _t in parcels], dtype=object)
        for number, label, geom, target in parcels:
            self.numbers.append(number)
            self.labels.append(label)
            self.geoms.append(geom)
            if target is not None:
                self.replaced.add(target)
        found = _register_candidates(shapely.bounds(geoms))
        found = [f for f in found if f[1] != parcels[f[0]][3]]  # not the asset this row updates
        if not found:
            return
        others = shapely.from_wkb([wkb for *_x, wkb in found])
        areas = pairwise_intersection_areas_m2(geoms[[i for i, *_x in found]], others)
        for (i, pk, label, wkb), area in zip(found, areas, strict=True):
            if area >= MIN_OVERLAP_M2:
                self.register_pairs.append((parcels[i][0], pk, label, area, wkb))

    def finish(self) -> None:
        """Report every overlap, in file order: over the register (unless the file moves that asset too: then the
        within-file check sees its new outline), then between the file's own parcels."""
        label_of = dict(zip(self.numbers, self.labels, strict=True))
        kept = [pair for pair in self.register_pairs if pair[1] not in self.replaced]
        entries = [
            {"n": n, "label": label_of.get(n, ""), "asset_id": pk, "other_label": label, "area_m2": area}
            for n, pk, label, area, _wkb in kept
        ]  # fmt: skip
        shown: dict[int, dict[str, Any]] = {}  # the register parcels overlapped, for the preview map
        for _n, pk, label, _area, wkb in kept:
            if pk not in shown and len(shown) < MAX_REGISTER_SHAPES:
                geometry = json.loads(shapely.to_geojson(shapely.from_wkb(wkb)))
                shown[pk] = {"asset_id": pk, "label": label, "geometry": geometry}
        self.report.preview_register = list(shown.values())
        if len(self.geoms) > 1:
            geoms = np.array(self.geoms, dtype=object)
            tree = shapely.STRtree(geoms)
            left, right = tree.query(geoms, predicate="intersects")
            keep = left < right
            left, right = left[keep], right[keep]
            if len(left):
                areas = pairwise_intersection_areas_m2(geoms[left], geoms[right])
                for i, j, area in zip(left.tolist(), right.tolist(), areas, strict=True):
                    first, second = sorted((i, j), key=lambda k: self.numbers[k])
                    if area >= MIN_OVERLAP_M2:
                        entries.append({"n": self.numbers[second], "label": self.labels[second], "asset_id": None,
                                        "other_n": self.numbers[first], "other_label": self.labels[first],
                                        "area_m2": area})  # fmt: skip
        entries.sort(key=lambda e: (e["n"], e.get("other_n") or 0, e.get("asset_id") or 0))
        for entry in entries:
            self.report.add_overlap(entry)
