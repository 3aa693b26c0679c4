import random

import numpy as np
import pytest

from assets.field import assigning


@pytest.mark.parametrize(("count", "teams"), [(0, 3), (1, 3), (10, 3), (101, 7), (500, 4)])
def test_split_is_balanced_and_gives_each_parcel_once(count, teams):
    rng = random.Random(count)
    centroids = [(116.8 + rng.random() * 0.2, -1.3 + rng.random() * 0.15) for _ in range(count)]
    groups = assigning.split(centroids, teams)
    assert len(groups) == teams
    sizes = [len(g) for g in groups]
    assert max(sizes) - min(sizes) <= 1
    flat = [i for g in groups for i in g]
    assert sorted(flat) == list(range(count))


def test_split_keeps_areas_together():
    """Two clusters far apart, two teams: each team gets one cluster, not a mix."""
    west = [(116.80 + 0.001 * i, -1.25) for i in range(20)]
    east = [(116.95 + 0.001 * i, -1.25) for i in range(20)]
    rng = random.Random(1)
    points = west + east
    order = list(range(40))
    rng.shuffle(order)
    groups = assigning.split([points[i] for i in order], 2)
    for group in groups:
        sides = {order[i] < 20 for i in group}
        assert len(sides) == 1


def test_hilbert_curve_visits_neighbours():
    """Consecutive cells along the curve are grid neighbours (the curve's defining property)."""
    cells = sorted(((x, y) for x in range(8) for y in range(8)), key=lambda c: assigning.hilbert_index(*c, bits=3))
    steps = np.abs(np.diff(np.array(cells), axis=0)).sum(axis=1)
    assert set(steps.tolist()) == {1}


def test_campaign_assigns_every_parcel_once(field):
    from assets.field.models import Assignment

    rows = Assignment.objects.filter(campaign=field["campaign"])
    assert sorted(rows.values_list("asset_id", flat=True)) == sorted(a.pk for a in field["assets"])
    assert rows.filter(team=field["a"]).count() == rows.filter(team=field["b"]).count() == 4
