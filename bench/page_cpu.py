"""Server CPU per page, request by request: the Django process's CPU plus its PostgreSQL backend's, per URL.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/COPY .venv/bin/python bench/page_cpu.py [--user bpkad] URL...
    DATABASE_URL=... .venv/bin/python bench/page_cpu.py --groups [--repeat 7]

``--groups``: one row per endpoint group of the load test (bench/load/locustfile.py), its URLs made as the load
test makes them from the same database (bench/load/run.py scenario_data: the densest z14 tile, sample ids): each
repeat asks a different URL of the group (tiles: different tiles of the same zoom around the dense area, each
asked once, so none is answered from the tile cache; the load test's users share tiles, so there some are),
signed in as the role the load test sends there (the spatial query as ``planner``, the rest as ``bpkad``).

The load test (bench/load/run.py) reports the server CPU per request of a whole mix, which is what counts but
mixes every page; this measures one page at a time in one process (Django's test client, signed in as ``--user``,
after one warm-up request): the median wall time, the process CPU and the PostgreSQL backend's CPU (read from
/proc for the connection's backend pid). CPU is far less disturbed than wall time by other jobs on the machine.
Run it from two checkouts against the same database copy to compare code (a same-run ratio).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())  # the checkout it runs from (to compare two checkouts on one database)
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")
os.environ.setdefault("SIPANAH_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402

from assets.models import User  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def group_urls(repeat: int) -> list[tuple[str, str, list[str]]]:
    """(group, user, URLs: one warm-up then ``repeat``) for every endpoint group of the load scenario."""
    import math
    import random
    from urllib.parse import urlencode

    sys.path.insert(0, str(Path(__file__).resolve().parent / "load"))
    from run import scenario_data

    data = scenario_data(connection.settings_dict["NAME"])
    rng = random.Random(1)
    n = repeat + 1
    lon, lat = data["densest"]

    def point(metres: float = 1500) -> tuple[float, float]:
        dx, dy = rng.uniform(-metres, metres), rng.uniform(-metres, metres)
        return lon + dx / (111_320 * math.cos(math.radians(lat))), lat + dy / 110_540

    def bbox(half: float) -> str:
        x, y = point()
        dlon, dlat = half / (111_320 * math.cos(math.radians(y))), half / 110_540
        return f"{x - dlon:.6f},{y - dlat:.6f},{x + dlon:.6f},{y + dlat:.6f}"

    def tiles(z: int, around: tuple[float, float], spread: int) -> list[str]:
        scale = 2**z
        cx = int((around[0] + 180) / 360 * scale)
        cy = int((1 - math.log(math.tan(math.radians(around[1])) + 1 / math.cos(math.radians(around[1]))) / math.pi)
                 / 2 * scale)  # fmt: skip
        ring = [(cx + dx, cy + dy) for dx in range(-spread, spread + 1) for dy in range(-spread, spread + 1)]
        ring.sort(key=lambda t: (t[0] - cx) ** 2 + (t[1] - cy) ** 2)
        return [f"/tiles/assets/{z}/{x}/{y}.pbf" for x, y in ring[:n]]

    lists = [
        {},
        {"status": "belum"},
        {"agency": data["officer_agency"]},
        {"kecamatan": data["kecamatan"][0]},
        {"kelurahan": data["kelurahan"][len(data["kelurahan"]) // 2]},
        {"status": "proses", "kecamatan": data["kecamatan"][1]},
        {"tahun_min": "2001"},
        {"jenis_hak": "HP"},
        {"page": "3"},
        {"agency": data["officer_agency"], "page": "4"},
    ]
    ids = data["asset_ids"][:n]
    city = tuple(data["city_center"])
    return [
        ("register list", "bpkad", ["/assets/?" + urlencode(lists[i % len(lists)]) for i in range(n)]),
        ("register search q=", "bpkad", [f"/assets/?q={data['words'][i % len(data['words'])]}" for i in range(n)]),
        ("asset detail", "bpkad", [f"/assets/{i}/" for i in ids]),
        ("home", "bpkad", ["/"] * n),
        ("map page", "bpkad", ["/map/", "/map/?status=belum"] * n),
        (
            "map totals",
            "bpkad",
            ["/map/totals/", "/map/totals/?status=belum", f"/map/totals/?agency={data['officer_agency']}"] * n,
        ),  # fmt: skip
        ("tile z12", "bpkad", tiles(12, city, 2)),
        ("tile z14", "bpkad", tiles(14, (lon, lat), 2)),
        ("tile z16", "bpkad", tiles(16, (lon, lat), 2)),
        ("tile z17", "bpkad", tiles(17, (lon, lat), 2)),
        ("map popup", "bpkad", [f"/map/assets/{i}/popup/" for i in ids]),
        ("api bbox", "bpkad", [f"/api/v1/assets/?bbox={bbox(500)}&page_size=100" for _ in range(n)]),
        ("ogc bbox", "bpkad", [f"/ogc/collections/assets/items?bbox={bbox(500)}&limit=1000&f=json" for _ in range(n)]),
        ("api aggregate", "bpkad", [f"/api/v1/assets/aggregate/?bbox={bbox(1000)}" for _ in range(n)]),
        (
            "spatial query",
            "planner",
            [
                f"/query/?bbox={bbox(250)}"
                if i % 2
                else "/query/?" + urlencode({"point": "{:.6f},{:.6f}".format(*point()), "distance": "200"})
                for i in range(n)
            ],
        ),  # fmt: skip
    ]


def measure_groups(repeat: int) -> None:
    clients: dict[str, Client] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), (SELECT count(*) FROM assets_landasset)")
        backend, assets = cursor.fetchone()
    print(f"database {connection.settings_dict['NAME']} ({assets:,} assets); checkout {os.getcwd()}; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| group | status | wall ms (median) | Django CPU ms | PostgreSQL CPU ms | total CPU ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for group, user, urls in group_urls(repeat):
        if user not in clients:
            clients[user] = Client(HTTP_HOST="127.0.0.1")
            clients[user].force_login(User.objects.get(username=user))
        client = clients[user]
        client.get(urls[0])  # warm-up
        walls, statuses = [], set()
        cpu0, db0 = time.process_time(), backend_cpu_s(backend)
        for url in urls[1 : repeat + 1]:
            start = time.perf_counter()
            response = client.get(url)
            walls.append((time.perf_counter() - start) * 1000)
            statuses.add(response.status_code)
        cpu = (time.process_time() - cpu0) * 1000 / len(walls)
        db = (backend_cpu_s(backend) - db0) * 1000 / len(walls)
        print(f"| {group} | {','.join(map(str, sorted(statuses)))} | {statistics.median(walls):.0f} | {cpu:.1f} | "
              f"{db:.1f} | {cpu + db:.1f} |", flush=True)  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="*")
    parser.add_argument("--groups", action="store_true", help="the load test's endpoint groups (see above)")
    parser.add_argument("--user", default="bpkad")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if args.groups:
        measure_groups(args.repeat)
        return
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=args.user))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    print(f"checkout {os.getcwd()}; load average {os.getloadavg()[0]:.1f}")
    print("| page | status | wall ms (median) | Django CPU ms | PostgreSQL CPU ms | total CPU ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for url in args.urls:
        client.get(url)  # warm-up: first use of the page's code, plans and caches
        walls = []
        cpu0, db0 = time.process_time(), backend_cpu_s(backend)
        for _ in range(args.repeat):
            reset_queries()
            start = time.perf_counter()
            response = client.get(url)
            walls.append((time.perf_counter() - start) * 1000)
        cpu = (time.process_time() - cpu0) * 1000 / args.repeat
        db = (backend_cpu_s(backend) - db0) * 1000 / args.repeat
        print(f"| `{url}` | {response.status_code} | {statistics.median(walls):.0f} | {cpu:.1f} | {db:.1f} | "
              f"{cpu + db:.1f} |")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
