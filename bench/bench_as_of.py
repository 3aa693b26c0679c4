"""Bench: every read path live vs as of a date (issue 19: "as-of within 2x of live"), same run, same requests.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/sip_NAME_100k SIPANAH_DEBUG=1 \\
        .venv/bin/python bench/bench_as_of.py [--runs 5] [--as-of YYYY-MM-DD]

Run it on a COPY of a bench database (createdb -T sipanah_bench_100k ...; migrated): it adds one superuser
(``bench-as-of``) to sign in with, nothing else. Each path is requested through Django's test client in this
process (the view, the template or the JSON, the permission checks; no HTTP server), live and with ``as_of``
taking turns, so a change in the machine's load touches both arms alike; the table shows the median of --runs
after one warm-up each, and the as-of / live ratio. The date defaults to today, the whole register as of now
(every history row is a candidate: the as-of read's worst case). The tiles are the z12/z14/z16 tiles around
the register's median parcel (built for every request: the tile cache is emptied before each), the export a CSV
of the kelurahan holding it.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from assets.register.models import LandAsset, User  # noqa: E402


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def paths() -> list[tuple[str, str, dict[str, str]]]:
    """(label, URL, parameters) of each read path."""
    middle = LandAsset.objects.filter(geom__isnull=False).order_by("id")
    parcel = middle[middle.count() // 2]
    lon, lat = parcel.geom.centroid.x, parcel.geom.centroid.y
    kelurahan = parcel.kelurahan.code if parcel.kelurahan else None
    tiles = [(z, tile_of(lon, lat, z)) for z in (12, 14, 16)]
    result = [
        ("register list page", "/assets/", {}),
        ("register list page 20, filtered agency", "/assets/", {"agency": parcel.agency.code, "page": "20"}),
        ("map totals", "/map/totals/", {}),
        ("REST page of 100", "/api/v1/assets/", {"page_size": "100"}),
        ("REST page of 100, page 500", "/api/v1/assets/", {"page_size": "100", "page": "500"}),
        ("OGC items (limit 100)", "/ogc/collections/assets/items", {"limit": "100", "f": "json"}),
        ("REST aggregate", "/api/v1/assets/aggregate/", {}),
    ]
    result += [(f"tile z{z}", f"/tiles/assets/{z}/{t[0]}/{t[1]}.pbf", {}) for z, t in tiles]
    if kelurahan:
        result.append(("export CSV, one kelurahan", "/assets/export/", {"format": "csv", "kelurahan": kelurahan}))
    return result


def timed(client: Client, url: str, params: dict[str, str]) -> tuple[float, int, int]:
    if url.startswith("/tiles/"):
        cache.clear()  # the views keep low-zoom tiles (z <= tiles.CACHE_MAX_ZOOM): measured as built, not as kept
    start = time.perf_counter()
    response = client.get(url, params)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return time.perf_counter() - start, response.status_code, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today)")
    parser.add_argument("--skip", action="append", default=[], help="leave out the paths whose label has this text")
    args = parser.parse_args()
    as_of = args.as_of or timezone.localdate().isoformat()
    settings.ALLOWED_HOSTS = ["*"]
    user, _created = User.objects.get_or_create(username="bench-as-of", defaults={"is_superuser": True})
    client = Client()
    client.force_login(user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM assets_landasset")
        assets = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM assets_historicallandasset")
        rows = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM assets_historicalcertificate")
        cert_rows = cursor.fetchone()[0]
    print(
        f"database {connection.settings_dict['NAME']}: {assets:,} assets, {rows:,} asset history rows, "
        f"{cert_rows:,} certificate history rows; as_of={as_of}; load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'read path':<42}{'live ms':>10}{'as-of ms':>10}{'ratio':>8}  {'bytes live / as-of':>22}")
    for label, url, params in paths():
        if any(text in label for text in args.skip):
            continue
        arms = {"live": params, "as-of": {**params, "as_of": as_of}}
        times: dict[str, list[float]] = {arm: [] for arm in arms}
        sizes: dict[str, int] = {}
        for arm, query in arms.items():  # warm-up, and the status check
            _t, status, size = timed(client, url, query)
            if status != 200:
                raise SystemExit(f"{label} ({arm}): HTTP {status}")
            sizes[arm] = size
        for _run in range(args.runs):
            for arm, query in arms.items():
                times[arm].append(timed(client, url, query)[0])
        live, past = (statistics.median(times[arm]) * 1000 for arm in arms)
        print(f"{label:<42}{live:>10.1f}{past:>10.1f}{past / live:>8.2f}  {sizes['live']:>10,} / {sizes['as-of']:<10,}")
    print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
