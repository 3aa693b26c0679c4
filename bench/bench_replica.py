"""A PostgreSQL streaming replica beside the primary (sipanah/db_router.py, docs/scaling.md): its lag, and its reads.

    .venv/bin/python bench/bench_replica.py --primary postgresql://postgres@127.0.0.1:5432/DB \\
        --replica postgresql://postgres@127.0.0.1:5433/DB [--commits 200] [--rows 100000] [--reads 60]

The replica is a physical standby of the primary's cluster (scripts/start_replica.sh). The script writes only to a
scratch table it creates in DB (``bench_replica_scratch``) and drops at the end. In one run:

- **commit → visible**: ``--commits`` single-row commits on the primary, each followed by polling the replica for
  the row until it is there: the lag a reader sees after another user's save (the router's read-your-writes
  rule hides it from the writer). Floor: the same polling query's round trip on the replica.
- **bulk write**: ``--rows`` parcel-sized rows (a polygon, a few attributes, a GiST index) in one transaction, a
  stand-in for an import's WAL: its WAL volume, the primary's time, and how long after the commit the replica
  has replayed it (catch-up), polled on ``pg_last_wal_replay_lsn()``.
- **reads**: the same bbox aggregate (GiST, a tenth of the rows, their geodesic area) on the primary and on the replica, in turns: a
  replica reads as fast as the primary (here on the same cores, so it adds no capacity on this machine).
- **the writer's check**: the router's ``pg_last_wal_replay_lsn() >= LSN`` query for a client that wrote, against
  ``SELECT 1``: what a request after a write pays.
"""

# ruff: noqa: S608, T201, E501 - constant SQL, a table printed
from __future__ import annotations

import argparse
import os
import statistics
import time

import psycopg

SCRATCH = "bench_replica_scratch"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f} {pct(values, 0.95):8.2f} {max(values):8.2f}"


def replayed(replica: psycopg.Connection, lsn: str) -> bool:
    return bool(replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--primary", required=True)
    parser.add_argument("--replica", required=True)
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=60)
    args = parser.parse_args()

    primary = psycopg.connect(args.primary, autocommit=True)
    replica = psycopg.connect(args.replica, autocommit=True)
    if not replica.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
        raise SystemExit("--replica is not a standby (pg_is_in_recovery() is false)")
    print(f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    primary.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    primary.execute(
        f"CREATE TABLE {SCRATCH} (id bigserial PRIMARY KEY, nama text, nilai numeric(18,2), luas numeric(14,2), "
        "geom geometry(MultiPolygon, 4326))"
    )
    primary.execute(f"CREATE INDEX ON {SCRATCH} USING gist (geom)")
    try:
        # 1. commit -> visible on the replica
        lags, polls, floor = [], [], []
        for number in range(args.commits):
            row_id = primary.execute(
                f"INSERT INTO {SCRATCH} (nama) VALUES (%s) RETURNING id", [f"c{number}"]
            ).fetchone()[0]
            start = time.perf_counter()
            tries = 0
            while True:
                tries += 1
                t0 = time.perf_counter()
                found = replica.execute(f"SELECT 1 FROM {SCRATCH} WHERE id = %s", [row_id]).fetchone()
                floor.append((time.perf_counter() - t0) * 1000)
                if found:
                    break
            lags.append((time.perf_counter() - start) * 1000)
            polls.append(tries)

        # 2. bulk write, one transaction
        lsn0 = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        start = time.perf_counter()
        with primary.transaction():
            primary.execute(
                f"INSERT INTO {SCRATCH} (nama, nilai, luas, geom) "
                "SELECT 'Tanah ' || g, g * 1000.0, 400, ST_Multi(ST_MakeEnvelope(x, y, x + 0.00018, y + 0.00018, 4326)) "
                "FROM (SELECT g, 116.80 + (g %% 1000) * 0.0002 AS x, -1.30 + (g / 1000) * 0.0002 AS y "
                "      FROM generate_series(1, %s) AS g) AS cells",
                [args.rows],
            )
        committed = time.perf_counter()
        lsn1 = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        wal_mb = (
            primary.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)::float", [lsn1, lsn0]).fetchone()[0] / 1e6
        )
        behind_mb = (
            replica.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())::float", [lsn1]).fetchone()[0]
            / 1e6
        )
        while not replayed(replica, lsn1):
            pass
        caught_up = time.perf_counter()

        # 3. the same read on both
        primary.execute(f"ANALYZE {SCRATCH}")
        lsn = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        while not replayed(replica, lsn):
            pass
        bbox = (
            "SELECT count(*), sum(nilai), sum(ST_Area(geom::geography)) FROM "
            + SCRATCH
            + (" WHERE geom && ST_MakeEnvelope(116.85, -1.30, 116.87, -1.28, 4326)")
        )
        times: dict[str, list[float]] = {"primary": [], "replica": []}
        answers = set()
        for number in range(args.reads):
            order = (("primary", primary), ("replica", replica))
            for name, conn in order if number % 2 else order[::-1]:
                t0 = time.perf_counter()
                answers.add(tuple(conn.execute(bbox).fetchone()))
                times[name].append((time.perf_counter() - t0) * 1000)
        assert len(answers) == 1, answers

        # 4. the router's check for a client that wrote
        check, one = [], []
        lsn = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
        for _ in range(args.reads * 5):
            t0 = time.perf_counter()
            replayed(replica, lsn)
            check.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            replica.execute("SELECT 1").fetchone()
            one.append((time.perf_counter() - t0) * 1000)
    finally:
        primary.execute(f"DROP TABLE IF EXISTS {SCRATCH}")

    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}\n")
    print(f"{'arm':58} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    print(f"{'commit -> visible on the replica (' + str(args.commits) + ' commits)':58} {fmt(lags)}")
    print(f"{'  floor: one poll of the replica':58} {fmt(floor)}")
    print(f"{'  polls per commit':58} {statistics.median(polls):8.0f} {pct(polls, 0.95):8.0f} {max(polls):8.0f}")
    print(f"{'bbox aggregate on the primary (' + str(len(times['primary'])) + ')':58} {fmt(times['primary'])}")
    print(f"{'bbox aggregate on the replica':58} {fmt(times['replica'])}")
    ratio = statistics.median(times["replica"]) / statistics.median(times["primary"])
    print(f"{'  replica / primary, p50':58} {ratio:8.2f}")
    print(f"{'writer check: replay LSN >= LSN on the replica':58} {fmt(check)}")
    print(f"{'  floor: SELECT 1 on the replica':58} {fmt(one)}")
    print(
        f"\nbulk write of {args.rows:,} rows in one transaction: {wal_mb:.0f} MB of WAL in "
        f"{committed - start:.2f} s on the primary; at its commit the replica was {behind_mb:.1f} MB behind and "
        f"had replayed it {caught_up - committed:.2f} s later"
    )


if __name__ == "__main__":
    main()
