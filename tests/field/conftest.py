import datetime as dt

import pytest

from tests.factories import load_reference, make_asset, make_user, point_inside, square


@pytest.fixture
def field(db):
    """BPKAD, two field users in two teams of one open campaign over eight parcels of one kelurahan."""
    from assets.field import services
    from assets.register import permissions

    load_reference()
    lon, lat = point_inside("64.71.01.1001")
    assets = [make_asset(geom=square(lon + 0.0015 * (i % 4), lat + 0.0015 * (i // 4))) for i in range(8)]
    bpkad = make_user("bpkad1", permissions.BPKAD)
    ani = make_user("ani", permissions.OFFICER, assets[0].agency)
    budi = make_user("budi", permissions.OFFICER, assets[0].agency)
    campaign = services.campaign_create(
        user=bpkad, name="Inventarisasi 2026", starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 31),
        teams=[("Tim A", [ani]), ("Tim B", [budi])], agency=assets[0].agency,
    )  # fmt: skip
    team_a, team_b = campaign.teams.order_by("name")
    return {"campaign": campaign, "assets": assets, "bpkad": bpkad, "ani": ani, "budi": budi, "a": team_a, "b": team_b,
            "at": (lon, lat)}  # fmt: skip


@pytest.fixture
def media(request):
    from tests.factories import temp_media_root

    cleanups = []
    root = temp_media_root(cleanups.append)
    yield root
    for cleanup in reversed(cleanups):
        cleanup()
