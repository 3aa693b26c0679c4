"""Overlap finding vs the equivalent hand-written SQL, on a PostGIS copy with planted overlaps.

Prepare a writable copy (the bench databases are read-only) and plant overlaps: every 100th asset's
successor is moved to cover half of it (about 1 % of the parcels overlap):

    createdb -h 127.0.0.1 -U postgres -T sipanah_bench_100k sipanah_h5_bench
    psql -h 127.0.0.1 -U postgres -d sipanah_h5_bench -f bench/plant_overlaps.sql

Run (prints a table; best of --repeat runs each):

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/sipanah_h5_bench SIPANAH_DEBUG=1 \\
        .venv/bin/python bench/audit_overlaps.py --repeat 3

Columns: `raw SQL` is the hand-written query run through psycopg and fetched; `overlap_pairs_sql` is the
finding's spatial join through Django's connection; `finding` is findings.find_overlaps on an already loaded
snapshot (the snapshot is shared by all findings of a report and timed on its own line).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from assets.audit import findings  # noqa: E402
from assets.register import history  # noqa: E402

# What a DBA would write by hand: the index-driven join (a.geom && b.geom spelled out) and the area filter.
RAW_SQL = """
SELECT a_id, b_id, area FROM (
    SELECT a.id AS a_id, b.id AS b_id, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS area
    FROM assets_landasset a
    JOIN assets_landasset b ON a.geom && b.geom AND a.id < b.id AND ST_Intersects(a.geom, b.geom)
    WHERE a.removed_at IS NULL AND b.removed_at IS NULL AND NOT ST_Touches(a.geom, b.geom)
) pairs WHERE area > 1.0
"""
# The same join written without the explicit && and with the area test in the WHERE clause: PostgreSQL 15
# then plans a BitmapAnd of the GiST index with the primary key range a.id < b.id, 30x slower (--naive).
NAIVE_SQL = """
SELECT a.id, b.id, ST_Area(ST_Intersection(a.geom, b.geom)::geography)
FROM assets_landasset a
JOIN assets_landasset b ON ST_Intersects(a.geom, b.geom) AND a.id < b.id
WHERE a.removed_at IS NULL AND b.removed_at IS NULL AND NOT ST_Touches(a.geom, b.geom)
  AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1.0
"""


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def raw(sql: str = RAW_SQL) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive", action="store_true", help="also time NAIVE_SQL once (minutes at 100k)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this on PostGIS (DATABASE_URL=postgis://...).")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(geom) FROM assets_landasset")
        count, located = cursor.fetchone()
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    t_raw, raw_rows = best(raw, args.repeat)
    t_sql, pairs = best(lambda: findings.overlap_pairs_sql(1.0), args.repeat)
    t_snap, snap = best(lambda: history.snapshot(with_geom=True), 1)
    t_find, rows = best(lambda: findings.find_overlaps(snap, findings.FindingOptions(), None), args.repeat)
    assert len(raw_rows) == len(pairs) == len(rows), (len(raw_rows), len(pairs), len(rows))
    print(f"assets: {count:,} ({located:,} with geometry); overlapping pairs: {len(pairs):,}; jit={jit}")
    print(f"{'step':<40}{'seconds':>10}{'× raw SQL':>12}")
    for label, seconds in (
        ("hand-written SQL (psycopg, fetch all)", t_raw),
        ("findings.overlap_pairs_sql", t_sql),
        ("findings.find_overlaps (snapshot loaded)", t_find),
        ("history.snapshot (shared by all findings)", t_snap),
    ):
        print(f"{label:<40}{seconds:>10.3f}{seconds / t_raw:>12.2f}")
    if args.naive:
        t_naive, naive_rows = best(lambda: raw(NAIVE_SQL), 1)
        assert len(naive_rows) == len(pairs)
        print(f"{'naive SQL (no explicit &&), once':<40}{t_naive:>10.3f}{t_naive / t_raw:>12.2f}")


if __name__ == "__main__":
    main()
