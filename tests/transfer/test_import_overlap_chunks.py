"""The within-file overlap check compares the file's parcels chunk by chunk (issue 19: memory flat in the file's
size): it must find exactly the pairs, and the areas, of comparing every parcel with every other."""

from __future__ import annotations

import itertools
import random
from unittest import mock

import numpy as np
import shapely
from django.test import TestCase

from assets.register import geo
from assets.transfer.importing import overlaps
from assets.transfer.importing.report import ImportReport

LONLAT = (116.87, -1.22)  # Balikpapan


def scattered_parcels(count: int, seed: int) -> list[shapely.Geometry]:
    """Squares of 5-60 m over a 600 m field (many overlap, some only touch), one parcel of two parts and one large
    parcel over a quarter of the field (its chunk's extent meets every other chunk)."""
    rng = random.Random(seed)
    origin = geo.to_metric(shapely.Point(*LONLAT))
    squares = []
    for _ in range(count):
        x, y, side = origin.x + rng.uniform(0, 600), origin.y + rng.uniform(0, 600), rng.uniform(5, 60)
        squares.append(shapely.box(x, y, x + side, y + side))
    squares[3] = shapely.box(origin.x + 10, origin.y + 10, origin.x + 310, origin.y + 310)
    squares[4] = shapely.box(squares[4].bounds[2], origin.y, squares[4].bounds[2] + 20, origin.y + 20)  # touches 4
    parcels = [shapely.multipolygons([shape]) for shape in geo.from_metric(np.array(squares, dtype=object))]
    parcels[7] = shapely.multipolygons([*parcels[7].geoms, *parcels[8].geoms])
    return parcels


class WithinFileChunksTests(TestCase):
    def test_chunked_check_finds_the_pairs_and_areas_of_all_against_all(self):
        parcels = scattered_parcels(300, seed=19)
        numbers = [2 * i + 5 for i in range(len(parcels))]  # feature numbers, not positions
        shapes = np.array(parcels, dtype=object)
        first, second = np.array(list(itertools.combinations(range(len(parcels)), 2))).T  # every pair, lower first
        meet = shapely.intersects(shapes[first], shapes[second])
        first, second = first[meet], second[meet]
        areas = geo.pairwise_intersection_areas_m2(shapes[first], shapes[second])
        expected = [(numbers[j], numbers[i], f"parcel {j}", f"parcel {i}", area)
                    for i, j, area in zip(first.tolist(), second.tolist(), areas, strict=True)
                    if area >= overlaps.MIN_OVERLAP_M2]  # fmt: skip
        self.assertGreater(len(expected), 100)
        for chunk in (16, 1000):  # many chunks (a parcel's neighbours in other chunks), then one
            with self.subTest(chunk=chunk), mock.patch.object(overlaps, "CHUNK", chunk):
                report = ImportReport()
                check = overlaps.OverlapCheck(report)
                with mock.patch("assets.transfer.importing.report.MAX_LISTED", 10_000):
                    for start in range(0, len(parcels), 64):
                        check.add([(numbers[k], f"parcel {k}", parcels[k], None)
                                   for k in range(start, min(start + 64, len(parcels)))])  # fmt: skip
                    check.finish()
                found = [(o["n"], o["other_n"], o["label"], o["other_label"], o["area_m2"]) for o in report.overlaps]
                self.assertEqual(found, sorted(expected))
                self.assertEqual(report.overlap_count, len(expected))
