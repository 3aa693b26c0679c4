"""Cek Tanah (the public pages) on PostGIS: lookups under load, and the public tile vs the signed-in tile.

    .venv/bin/python bench/bench_public.py --template sipanah_bench_100k [--seconds 60] [--clients 16]
                                           [--workers 2] [--threads 4] [--port 8031]

1. Copies the template database (``createdb -T``) to ``--db`` (sipanah_public_bench) and migrates it.
2. Tiles, in this process: around the densest z14 tile, at z12, z14 and z16, the public tile through Django's whole
   handler (anonymous) vs the signed-in register tile through the same handler, vs the public tile's own SQL run
   raw (the floor). Prints p50/p95 of each and the ratios.
3. Lookups under load: gunicorn with production settings (as bench/load/run.py) and the per-address limit lifted;
   ``--clients`` threads ask ``/publik/cek/?lon=&lat=`` without pause for ``--seconds`` (half the points on a
   parcel's centroid, half anywhere in the city); prints requests per second, p50, p95, max and errors.
   The client threads run on the same two cores as the server: the numbers are a floor of what the server does.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import random
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_maps import densest_z14, pct, setup_django, tiles_around  # noqa: E402
from bench.load.run import (  # noqa: E402
    app_env,
    column,
    copy_database,
    cpu_used,
    drop_database,
    log,
    run,
    server_cpu,
    start_gunicorn,
)


def bench_tiles(reps: int) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from assets.maps import tile_cells, tiles

    # bench.bench_settings makes every request an in-memory auditor (no session row): the signed-in arm
    signed_in = anonymous = Client(HTTP_HOST="127.0.0.1")
    x14, y14 = densest_z14()
    rows = []
    for z in (12, 14, 16):
        arms: dict[str, list[float]] = {"public": [], "signed_in": [], "raw": []}
        for _ in range(reps):
            for zz, x, y in tiles_around(x14, y14, z):
                started = time.perf_counter()
                response = anonymous.get(reverse("public-tile", kwargs={"z": zz, "x": x, "y": y}))
                arms["public"].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.status_code
                started = time.perf_counter()
                response = signed_in.get(reverse("asset-tile", kwargs={"z": zz, "x": x, "y": y}))
                arms["signed_in"].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.status_code
                if zz < tiles.POINT_ZOOM:  # nothing hidden: the per-cell counts, as the view reads them
                    sql, params = tile_cells.tile_sql(zz, x, y)
                else:
                    sql, params = tiles.outline_sql(None, z=zz, x=x, y=y)
                started = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    cursor.fetchone()
                arms["raw"].append((time.perf_counter() - started) * 1000)
        row = {"z": z}
        for arm, values in arms.items():
            row[f"{arm}_p50"], row[f"{arm}_p95"] = pct(values, 0.5), pct(values, 0.95)
        rows.append(row)
    return rows


def lookup_load(base: str, points: list[tuple[float, float]], seconds: int, clients: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.time() + seconds

    def worker(seed: int) -> None:
        rnd = random.Random(seed)  # noqa: S311 - a benchmark's sample
        while time.time() < stop:
            lon, lat = rnd.choice(points)
            url = f"{base}/publik/cek/?lon={lon:.7f}&lat={lat:.7f}"
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the local server
                    response.read()
                    ok = response.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                errors[0] += not ok

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.time() - started
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50": pct(latencies, 0.5),
        "p95": pct(latencies, 0.95),
        "max": max(latencies),
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", required=True)
    parser.add_argument("--db", default="sipanah_public_bench")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8031)
    parser.add_argument("--conn-max-age", type=int, default=600)
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args()
    copy_database(args.template, args.db)
    try:
        env_db = {"DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{args.db}", "SIPANAH_DEBUG": "1"}
        run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "--noinput", "-v", "0"],
            env={**os.environ, **env_db},
        )
        count = column(args.db, "SELECT count(*) FROM assets_landasset WHERE removed_at IS NULL")[0]
        centroids = column(
            args.db,
            "SELECT ST_X(ST_PointOnSurface(geom)) || ',' || ST_Y(ST_PointOnSurface(geom)) FROM assets_landasset "
            "TABLESAMPLE SYSTEM (5) REPEATABLE (1) WHERE geom IS NOT NULL LIMIT 5000",
        )
        rnd = random.Random(1)  # noqa: S311
        points = [tuple(map(float, c.split(","))) for c in centroids]
        points += [(rnd.uniform(116.80, 117.00), rnd.uniform(-1.30, -1.15)) for _ in range(len(points))]
        os.environ.setdefault("SIPANAH_BENCH_STATIC", tempfile.mkdtemp())
        setup_django(args.db)
        tile_rows = bench_tiles(args.reps)
        with tempfile.TemporaryDirectory() as static_root:
            env = app_env(args, static_root)
            env["SIPANAH_PUBLIC_LOOKUPS_PER_MINUTE"] = str(10**9)
            run([str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput", "-v", "0"], env=env)
            server = start_gunicorn(args, env, Path(static_root) / "gunicorn.log")
            try:
                base = f"http://127.0.0.1:{args.port}"
                lookup_load(base, points, 5, args.clients)  # warm the workers' connections and caches
                before, load_before = server_cpu(server.pid, args.db), os.getloadavg()
                client_before = time.process_time()
                load = lookup_load(base, points, args.seconds, args.clients)
                used = cpu_used(before, server_cpu(server.pid, args.db))
                used["client_s"] = time.process_time() - client_before
                used["load"] = (load_before[0], os.getloadavg()[0])
            finally:
                server.terminate()
                server.wait(30)
        print(f"\nPublic tiles vs signed-in tiles, PostGIS, {count:,} parcels (ms, whole Django handler)\n")
        print("| z | public p50 | public p95 | signed-in p50 | signed-in p95 | raw SQL p50 | public / signed-in p50 |")
        print("|---|---|---|---|---|---|---|")
        for r in tile_rows:
            print(
                f"| {r['z']} | {r['public_p50']:.1f} | {r['public_p95']:.1f} | {r['signed_in_p50']:.1f} | "
                f"{r['signed_in_p95']:.1f} | {r['raw_p50']:.1f} | {r['public_p50'] / r['signed_in_p50']:.2f} |"
            )
        print(f"\nLookups, {args.clients} clients x {args.seconds} s, gunicorn {args.workers}x{args.threads}\n")
        print("| requests | per second | p50 ms | p95 ms | max ms | errors |")
        print("|---|---|---|---|---|---|")
        print(
            f"| {load['requests']:,} | {load['rps']:.0f} | {load['p50']:.1f} | {load['p95']:.1f} | "
            f"{load['max']:.0f} | {load['errors']} |"
        )
        n = load["requests"]
        print(
            f"\nServer CPU per lookup: gunicorn {used['gunicorn_s'] / n * 1000:.2f} ms + PostgreSQL "
            f"{used['postgres_s'] / n * 1000:.2f} ms = {(used['gunicorn_s'] + used['postgres_s']) / n * 1000:.2f} ms "
            f"(200 lookups/s need {(used['gunicorn_s'] + used['postgres_s']) / n * 200:.2f} of the 2 cores); "
            f"the client threads took {used['client_s'] / n * 1000:.2f} ms each; machine busy "
            f"{used['machine_busy_pct']:.0f} %, load average {used['load'][0]:.1f} -> {used['load'][1]:.1f}"
        )
    finally:
        log(f"dropping {args.db}")
        from django.db import connections

        connections.close_all()
        drop_database(args.db)


if __name__ == "__main__":
    main()
