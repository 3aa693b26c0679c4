"""Bench: bbox items (limit 1,000) from /ogc/ and /api/v1/ against the raw SQL building the same FeatureCollection.

    .venv/bin/python bench/bench_api.py --db sipanah_bench_1m [--runs 40] [--limit 1000]
        [--pygeoapi http://127.0.0.1:5001] [--tipg http://127.0.0.1:8082]

The bench DB is only read. Sipanah runs in a separate process (gunicorn, one worker, with
bench/bench_api_settings.py: an in-memory planner, debug off); requests go over HTTP with keep-alive.
The limit is one SQL statement on a psycopg connection that returns the whole FeatureCollection
(numberMatched, features with ST_AsGeoJSON geometry and the same properties as the endpoint) as text:
what any server built on PostGIS has to do at least. Peers (pygeoapi, tipg) are optional URLs of servers
reading the same table, started from a separate virtualenv (see bench/run_peers.sh). The arms take turns
on each bbox, so a change in the load of the (shared) machine touches them all alike.

Every arm gets the same bboxes (--size squares, 0.01° ≈ 1.1 km, around random parcels, fixed seed), each
holding at least --limit parcels, so every response carries exactly --limit features.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess  # noqa: S404 - starts the Django server under test
import sys
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
PORT = 8765

# The properties each API writes, from the KIB A table (assets.register.kib needs no Django).
sys.path.insert(0, str(ROOT))
from assets.register.kib import COLUMNS, properties  # noqa: E402

OGC_PROPERTIES = [name for name, _path in properties("ogc")]
API_PROPERTIES = [name for name, _path in properties("api")]
NUMERIC = {c.name for c in COLUMNS if c.ogr in ("Real", "Integer64")}  # numeric in the database: written as float8


def raw_sql(properties: list[str]) -> str:
    """One statement returning the whole FeatureCollection as text: the limit any PostGIS server works against."""
    props = ", ".join(f"'{p}', {p}::float8" if p in NUMERIC else f"'{p}', {p}" for p in properties)
    return f"""
WITH env AS (SELECT ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) AS g),
page AS (
  SELECT a.*, ag.code AS agency_code, ag.name AS agency_name, kel.code AS kelurahan_code, kec.code AS kecamatan_code
  FROM assets_landasset a
  JOIN assets_agency ag ON ag.id = a.agency_id
  LEFT JOIN assets_administrativearea kel ON kel.id = a.kelurahan_id
  LEFT JOIN assets_administrativearea kec ON kec.id = a.kecamatan_id, env
  WHERE ST_Intersects(a.geom, env.g) AND a.removed_at IS NULL
  ORDER BY a.id LIMIT %(limit)s
)
SELECT json_build_object(
  'type', 'FeatureCollection',
  'numberMatched', (SELECT count(*) FROM assets_landasset, env WHERE ST_Intersects(geom, env.g)
                    AND removed_at IS NULL),
  'numberReturned', (SELECT count(*) FROM page),
  'features', COALESCE(json_agg(json_build_object(
    'type', 'Feature', 'id', id, 'geometry', ST_AsGeoJSON(geom, 7)::json,
    'properties', json_build_object({props})
  ) ORDER BY id), '[]'::json))::text
FROM page
"""  # noqa: S608 - property names are the constants above


def pick_bboxes(
    conn: psycopg.Connection, n: int, limit: int, seed: int, size: float
) -> list[tuple[float, float, float, float]]:
    rng = random.Random(seed)  # noqa: S311 - workload, not security
    (max_id,) = conn.execute("SELECT max(id) FROM assets_landasset").fetchone()
    boxes = []
    while len(boxes) < n:
        row = conn.execute(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM assets_landasset "
            "WHERE id >= %s AND geom IS NOT NULL ORDER BY id LIMIT 1",
            (rng.randint(1, max_id),),
        ).fetchone()
        if not row:
            continue
        half = size / 2
        box = (row[0] - half, row[1] - half, row[0] + half, row[1] + half)
        (count,) = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM assets_landasset WHERE "
            "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) LIMIT %s) t",
            (*box, limit),
        ).fetchone()
        if count >= limit:
            boxes.append(box)
    return boxes


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def fetch_http(session: requests.Session, url: str, params: dict, expect: int) -> tuple[float, int]:
    start = time.perf_counter()
    response = session.get(url, params=params, timeout=120)
    body = response.content
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {body[:300]!r}")
    n = len(response.json()["features"])
    if n != expect:
        raise SystemExit(f"{url} returned {n} features, expected {expect}")
    return elapsed, len(body)


def fetch_sql(conn: psycopg.Connection, sql: str, box: tuple[float, ...], limit: int) -> tuple[float, int]:
    x0, y0, x1, y1 = box
    start = time.perf_counter()
    (text,) = conn.execute(sql, {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "limit": limit}).fetchone()
    body = text.encode()
    return (time.perf_counter() - start) * 1000, len(body)


def start_server(db: str, gunicorn: str | None) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{db}",
        "DJANGO_SETTINGS_MODULE": "bench.bench_api_settings",
        "SIPANAH_DEBUG": "0",
        "SIPANAH_SECRET_KEY": "bench-only-not-secret",
        "SIPANAH_CONN_MAX_AGE": "600",
        "SIPANAH_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    if gunicorn:
        # gunicorn from another virtualenv, importing Sipanah and its packages from this one (and Debian's GDAL).
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *(p for p in sys.path if p.endswith("-packages"))])
        command = [gunicorn, "-w", "1", "-b", f"127.0.0.1:{PORT}", "--log-level", "warning", "sipanah.wsgi:application"]
    else:  # Django's development server: fine for checking, but its small writes meet delayed ACKs (~40 ms)
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{PORT}"]
    proc = subprocess.Popen(  # noqa: S603
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{PORT}/ogc/", timeout=30)
            return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the Django server did not start: " + proc.stderr.read().decode()[-2000:])


def _peers_gunicorn() -> str | None:
    path = Path(os.environ.get("PEERS_VENV", "/tmp/h6peers")) / "bin" / "gunicorn"  # noqa: S108 - bench only
    return str(path) if path.exists() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sipanah_bench_1m")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=float, default=0.01, help="bbox side in degrees (0.01° ≈ 1.1 km)")
    parser.add_argument("--pygeoapi", help="base URL of pygeoapi serving the same table (collection 'assets')")
    parser.add_argument("--tipg", help="base URL of tipg serving the same database")
    parser.add_argument(
        "--gunicorn",
        default=_peers_gunicorn(),
        help="gunicorn executable to serve Sipanah with one worker (default: the peers' venv; else runserver)",
    )
    args = parser.parse_args()

    conn = psycopg.connect(f"host=127.0.0.1 user=postgres dbname={args.db}", autocommit=True)
    conn.execute("SET default_transaction_read_only = on")
    (total,) = conn.execute("SELECT count(*) FROM assets_landasset").fetchone()
    boxes = pick_bboxes(conn, args.runs, args.limit, args.seed, args.size)
    warm = boxes[:3]

    server = start_server(args.db, args.gunicorn)
    try:
        session = requests.Session()
        ogc = f"http://127.0.0.1:{PORT}/ogc/collections/assets/items"
        api = f"http://127.0.0.1:{PORT}/api/v1/assets/"

        def bbox_text(box):
            return ",".join(f"{v:.6f}" for v in box)

        limit = args.limit
        ogc_sql, api_sql = raw_sql(OGC_PROPERTIES), raw_sql(API_PROPERTIES)
        arms = {
            "raw SQL, /ogc/ properties": lambda box: fetch_sql(conn, ogc_sql, box, limit),
            "Sipanah /ogc/ items": lambda box: fetch_http(
                session, ogc, {"bbox": bbox_text(box), "limit": limit}, limit
            ),
            "raw SQL, /api/v1/ properties": lambda box: fetch_sql(conn, api_sql, box, limit),
            "Sipanah /api/v1/assets/": lambda box: fetch_http(
                session, api, {"bbox": bbox_text(box), "page_size": limit}, limit
            ),
        }
        if args.pygeoapi:
            arms["pygeoapi (PostgreSQL provider)"] = lambda box: fetch_http(
                session,
                f"{args.pygeoapi}/collections/assets/items",
                {"bbox": bbox_text(box), "limit": limit, "f": "json"},
                limit,
            )
        if args.tipg:
            arms["tipg"] = lambda box: fetch_http(
                session,
                f"{args.tipg}/collections/public.assets_landasset/items",
                {"bbox": bbox_text(box), "limit": limit, "f": "geojson"},
                limit,
            )
        samples: dict[str, list[float]] = {name: [] for name in arms}
        sizes: dict[str, int] = {}
        for box in warm:  # warm caches and connections
            for run in arms.values():
                run(box)
        for box in boxes:
            for name, run in arms.items():
                elapsed, sizes[name] = run(box)
                samples[name].append(elapsed)
        results = {name: (*percentiles(samples[name]), sizes[name]) for name in arms}
    finally:
        server.terminate()
        server.wait(timeout=10)

    sql_p50 = results["raw SQL, /ogc/ properties"][0]
    api_sql_p50 = results["raw SQL, /api/v1/ properties"][0]
    print(f"\nbbox items, limit {args.limit}, {args.runs} bboxes of {args.size}°, {args.db} ({total:,} assets)\n")
    print("p50 / SQL: against the raw SQL with the same properties (the /ogc/ one for the peers).\n")
    print(f"| {'arm':<34} | {'p50 ms':>8} | {'p95 ms':>8} | {'p50 / SQL':>9} | {'bytes':>9} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 10}|{'-' * 11}|{'-' * 11}|")
    for name, (p50, p95, size) in results.items():
        base = api_sql_p50 if "/api/v1/" in name else sql_p50
        print(f"| {name:<34} | {p50:8.1f} | {p95:8.1f} | {p50 / base:8.2f}x | {size:9,} |")


if __name__ == "__main__":
    main()
