"""Overlaps an import would bring: its new or moved parcels over the register's live parcels, and over each other.

Warnings by default; errors (nothing written) when the import is strict. Bounded cost in the file's size:

- the register: one statement per checked batch, each parcel's bounding box looked up in the spatial index
  (PostGIS: GiST ``&&`` in a LATERAL join over the batch's boxes; SpatiaLite: the ``idx_assets_landasset_geom``
  R*Tree joined to the boxes given as one JSON array), then the exact intersections measured in Python;
- the file: every checked parcel kept compactly (its feature number and bounding box in numpy arrays; its outline
  as WKB and its label in a temporary file, read back by offset) and, at the end, compared in chunks of parcels that
  lie near each other (:class:`_Outlines`): memory stays nearly flat in the file's size (issue 19: at 1M parcels the
  shapely outlines alone took ~430 MB).

Areas are geodesic m² (:func:`assets.register.geo.pairwise_intersection_areas_m2`); a pair sharing less than
``MIN_OVERLAP_M2`` (a common edge, digitising noise) is no overlap.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
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


# Parcels compared at once at the end: only two chunks' outlines are shapely geometries (~430 B each) at a time
CHUNK = 20_000
_COLUMNS = ("numbers", "boxes", "starts", "wkb_sizes", "label_sizes")


class _Outlines:
    """The file's checked parcels until the end of the check, 56 bytes each in memory: the feature number and the
    bounding box (xmin, ymin, xmax, ymax) in numpy arrays, with the place of the parcel's record (its WKB outline,
    then its label) in a temporary file."""

    def __init__(self) -> None:
        self.file: Any = None
        self.size = 0  # bytes written to the file
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in _COLUMNS}  # one array per batch

    def add(self, numbers: list[int], labels: list[str], geoms: np.ndarray) -> None:
        if self.file is None:
            self.file = tempfile.TemporaryFile(prefix="sipanah-outlines-")  # noqa: SIM115 - closed by close()
        wkbs = shapely.to_wkb(geoms)
        texts = [label.encode() for label in labels]
        wkb_sizes = np.fromiter(map(len, wkbs), dtype=np.int32, count=len(wkbs))
        label_sizes = np.fromiter(map(len, texts), dtype=np.int32, count=len(texts))
        records = wkb_sizes.astype(np.int64) + label_sizes
        starts = self.size + np.concatenate([[0], np.cumsum(records)[:-1]])
        self.file.write(b"".join(part for pair in zip(wkbs, texts, strict=True) for part in pair))
        self.size += int(records.sum())
        values = (np.array(numbers, dtype=np.int64), shapely.bounds(geoms), starts, wkb_sizes, label_sizes)
        for name, column in zip(_COLUMNS, values, strict=True):
            self.parts[name].append(column)

    def column(self, name: str) -> np.ndarray:
        """One of _COLUMNS for every parcel, in the order added (joined once, one column at a time: the batches'
        arrays are freed)."""
        parts = self.parts[name]
        if len(parts) != 1:
            parts[:] = [np.concatenate(parts) if parts else np.empty((0, 4) if name == "boxes" else 0, dtype=np.int64)]
        return parts[0]

    def geometries(self, positions: np.ndarray) -> np.ndarray:
        """The outlines of the parcels at ``positions``, read back from the file."""
        self.file.flush()
        fd, starts, sizes = self.file.fileno(), self.column("starts")[positions], self.column("wkb_sizes")[positions]
        return shapely.from_wkb([os.pread(fd, size, start) for start, size in zip(starts.tolist(), sizes.tolist(),
                                                                                   strict=True)])  # fmt: skip

    def label(self, position: int) -> str:
        self.file.flush()
        start = int(self.column("starts")[position]) + int(self.column("wkb_sizes")[position])
        return os.pread(self.file.fileno(), int(self.column("label_sizes")[position]), start).decode()

    def close(self) -> None:
        self.parts = {name: [] for name in _COLUMNS}
        if self.file is not None:
            self.file.close()
            self.file = None


def _chunks(boxes: np.ndarray, size: int) -> list[np.ndarray]:
    """Positions of the parcels with a bounding box, in chunks of ``size`` that lie near each other: sort-tile-
    recursive, as an STRtree packs its nodes (vertical slices by the boxes' centres, each sorted north to south)."""
    located = np.flatnonzero(~np.isnan(boxes).any(axis=1))  # an empty outline meets nothing
    if not len(located):
        return []
    count = math.ceil(len(located) / size)
    per_slice = size * math.ceil(count / math.ceil(math.sqrt(count)))
    centre_x = boxes[located, 0] + boxes[located, 2]
    centre_y = boxes[located, 1] + boxes[located, 3]
    slice_of = np.empty(len(located), dtype=np.int64)
    slice_of[np.argsort(centre_x, kind="stable")] = np.arange(len(located)) // per_slice
    ordered = located[np.lexsort((centre_y, slice_of))]
    return [ordered[at : at + size] for at in range(0, len(ordered), size)]


def _extent(boxes: np.ndarray) -> np.ndarray:
    return np.array([boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()])


def _meets(boxes: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """Which boxes meet ``extent`` (edges included, as ``intersects``)."""
    return (
        (boxes[:, 0] <= extent[2])
        & (boxes[:, 2] >= extent[0])
        & (boxes[:, 1] <= extent[3])
        & (boxes[:, 3] >= extent[1])
    )


def within_file_pairs(outlines: _Outlines, chunk: int | None = None) -> list[tuple[int, int, float]]:
    """(position, position, geodesic m² shared) of every two of the file's parcels whose outlines intersect, the
    first position the lower; the same pairs and areas as one STRtree query of all against all, with only two
    chunks' outlines built at a time: each chunk's STRtree is queried by its own parcels and by the parcels of the
    later chunks whose boxes meet its extent."""
    boxes = outlines.column("boxes")
    chunks = _chunks(boxes, chunk or CHUNK)
    extents = [_extent(boxes[members]) for members in chunks]
    found: list[tuple[int, int, float]] = []
    for a, members in enumerate(chunks):
        geoms = outlines.geometries(members)
        tree = shapely.STRtree(geoms)
        inner, outer = tree.query(geoms, predicate="intersects")
        keep = members[inner] < members[outer]
        lefts, rights = [members[inner[keep]]], [members[outer[keep]]]
        left_geoms, right_geoms = [geoms[inner[keep]]], [geoms[outer[keep]]]
        for b in range(a + 1, len(chunks)):
            if not _meets(extents[b][None, :], extents[a])[0]:
                continue
            near = chunks[b][_meets(boxes[chunks[b]], extents[a])]
            if not len(near):
                continue
            others = outlines.geometries(near)
            inner, outer = tree.query(others, predicate="intersects")
            lefts.append(near[inner])
            rights.append(members[outer])
            left_geoms.append(others[inner])
            right_geoms.append(geoms[outer])
        left, right = np.concatenate(lefts), np.concatenate(rights)
        left_geom, right_geom = np.concatenate(left_geoms), np.concatenate(right_geoms)
        swap = left > right  # the lower position first: its outline is the intersection's first operand, as before
        left[swap], right[swap] = right[swap], left[swap]
        left_geom[swap], right_geom[swap] = right_geom[swap], left_geom[swap]
        if len(left):
            areas = pairwise_intersection_areas_m2(left_geom, right_geom)
            found += zip(left.tolist(), right.tolist(), areas, strict=True)
    return found


@dataclass
class OverlapCheck:
    """Collects the checked parcels batch by batch (:meth:`add`), reports the overlaps at the end (:meth:`finish`)."""

    report: ImportReport
    outlines: _Outlines = field(default_factory=_Outlines)
    replaced: set[int] = field(default_factory=set)  # register assets whose geometry the file replaces
    # (feature number, its label, asset id, asset label, area, WKB): kept until the end, when the file's replacements
    # are known
    register_pairs: list[tuple[int, str, int, str, float, bytes]] = field(default_factory=list)

    def add(self, parcels: list[tuple[int, str, shapely.Geometry, int | None]]) -> None:
        """A batch's new or moved parcels: (feature number, label, lon/lat geometry, id of the asset it updates)."""
        if not parcels:
            return
        geoms = np.array([g for _n, _l, g, _t in parcels], dtype=object)
        self.outlines.add([n for n, _l, _g, _t in parcels], [label for _n, label, _g, _t in parcels], geoms)
        self.replaced.update(target for _n, _l, _g, target in parcels if target is not None)
        found = _register_candidates(shapely.bounds(geoms))
        found = [f for f in found if f[1] != parcels[f[0]][3]]  # not the asset this row updates
        if not found:
            return
        others = shapely.from_wkb([wkb for *_x, wkb in found])
        areas = pairwise_intersection_areas_m2(geoms[[i for i, *_x in found]], others)
        for (i, pk, label, wkb), area in zip(found, areas, strict=True):
            if area >= MIN_OVERLAP_M2:
                self.register_pairs.append((parcels[i][0], parcels[i][1], pk, label, area, wkb))

    def finish(self) -> None:
        """Report every overlap, in file order: over the register (unless the file moves that asset too: then the
        within-file check sees its new outline), then between the file's own parcels."""
        try:
            self._finish()
        finally:
            self.outlines.close()

    def _finish(self) -> None:
        kept = [pair for pair in self.register_pairs if pair[2] not in self.replaced]
        entries = [
            {"n": n, "label": own, "asset_id": pk, "other_label": label, "area_m2": area}
            for n, own, pk, label, area, _wkb in kept
        ]  # fmt: skip
        shown: dict[int, dict[str, Any]] = {}  # the register parcels overlapped, for the preview map
        for _n, _own, pk, label, _area, wkb in kept:
            if pk not in shown and len(shown) < MAX_REGISTER_SHAPES:
                geometry = json.loads(shapely.to_geojson(shapely.from_wkb(wkb)))
                shown[pk] = {"asset_id": pk, "label": label, "geometry": geometry}
        self.report.preview_register = list(shown.values())
        pairs = [(i, j, area) for i, j, area in within_file_pairs(self.outlines) if area >= MIN_OVERLAP_M2]
        numbers = self.outlines.column("numbers")
        for i, j, area in pairs:
            first, second = sorted((i, j), key=lambda k: numbers[k])
            entries.append({"n": int(numbers[second]), "label": self.outlines.label(second), "asset_id": None,
                            "other_n": int(numbers[first]), "other_label": self.outlines.label(first),
                            "area_m2": area})  # fmt: skip
        entries.sort(key=lambda e: (e["n"], e.get("other_n") or 0, e.get("asset_id") or 0))
        for entry in entries:
            self.report.add_overlap(entry)
