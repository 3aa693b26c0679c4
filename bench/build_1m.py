"""The 1M PostGIS bench templates: ``sipanah_grid_1m`` (an imported grid) and ``sipanah_bench_1m`` (the demo at 1M).

    .venv/bin/python bench/build_1m.py grid  [--count 1000000] [--name sipanah_grid_1m] [--gpkg var/bench/grid_1m.gpkg]
    .venv/bin/python bench/build_1m.py demo  [--source sipanah_bench_100k] [--copies 10] [--name sipanah_bench_1m]
    .venv/bin/python bench/build_1m.py check --name DB

- ``grid``: ``grid_gpkg(path, count)`` (bench/bench_sqlite_writers.py: 20 m squares, required columns only, no
  certificates) imported with ``manage.py import_assets`` into a fresh database, migrated and given the reference
  data; the same as the 100k grid template, ten times larger.
- ``demo``: the demo generator takes over an hour for 1M parcels here, so the 100k demo template (``--source``) is
  copied (``createdb -T``) and its register replicated ``--copies - 1`` more times in SQL (bench/replicate_demo.py):
  every asset with its certificates, stage events, history rows (their validity intervals kept), documents,
  custody, cases, agreements and payments, with new ids, a copy suffix on the register number and the
  certificate number, and the geometry shifted on a grid of offsets that keeps it inside the city. The database's
  own triggers keep the tile cells, the register totals, the register version and the history intervals, exactly
  as the generator's inserts do.
- ``check`` (run after each build): the maintained tables equal a recount (register totals vs GROUP BY, tile cells
  vs a recount, one open history interval per live asset, no overlapping intervals) and the register read as of a
  past date answers.

Each build is made under ``<name>_build`` and renamed at the end, VACUUM ANALYZEd and marked a template; an
existing ``<name>`` is never replaced (another helper may have built it): the build stops before it starts.
Wall times of every step are printed.
"""

# ruff: noqa: S603, T201 - fixed local commands (createdb, manage.py); progress printed
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
PG = {"host": "127.0.0.1", "user": "postgres"}
STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[build {time.strftime('%H:%M:%S')} +{time.perf_counter() - STARTED:7.1f} s] {message}", flush=True)


def sql(db: str, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dbname=db, autocommit=True, **PG) as conn:
        cursor = conn.execute(statement, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def exists(db: str) -> bool:
    return bool(sql("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (db,)))


def drop(db: str) -> None:
    sql("postgres", f'ALTER DATABASE "{db}" is_template false') if exists(db) else None
    sql("postgres", f'DROP DATABASE IF EXISTS "{db}"')


def manage(db: str, *args: str, demo: bool = False) -> None:
    env = dict(os.environ, DATABASE_URL=f"postgis://postgres@127.0.0.1:5432/{db}", SIPANAH_DEBUG="1")
    if demo:
        env["SIPANAH_DEMO"] = "1"
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def finish(build: str, name: str) -> None:
    """VACUUM ANALYZE, rename to the template's name and mark it a template (unless someone made it meanwhile)."""
    t0 = time.perf_counter()
    sql(build, "VACUUM ANALYZE")
    log(f"VACUUM ANALYZE {time.perf_counter() - t0:.1f} s")
    if exists(name):
        log(f"{name} appeared meanwhile (another build): keeping ours as {build}")
        return
    sql("postgres", f'ALTER DATABASE "{build}" RENAME TO "{name}"')
    sql("postgres", f'ALTER DATABASE "{name}" is_template true')
    log(f"{name} ready and marked a template")


def build_grid(args: argparse.Namespace) -> str:
    gpkg = Path(args.gpkg)
    if not gpkg.exists():
        gpkg.parent.mkdir(parents=True, exist_ok=True)
        sys.path.insert(0, str(ROOT))
        from bench.bench_sqlite_writers import grid_gpkg

        t0 = time.perf_counter()
        grid_gpkg(gpkg.with_suffix(".part.gpkg"), args.count)
        gpkg.with_suffix(".part.gpkg").rename(gpkg)
        log(f"grid GeoPackage of {args.count:,} parcels written in {time.perf_counter() - t0:.1f} s")
    build = f"{args.name}_build"
    drop(build)
    sql("postgres", f'CREATE DATABASE "{build}"')
    sql(build, "CREATE EXTENSION postgis")
    t0 = time.perf_counter()
    manage(build, "migrate", "--noinput", "-v", "0")
    manage(build, "load_reference_data")
    log(f"migrated with reference data in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    # the file is over the web upload's limit (200 MB); the command line is for such files
    os.environ["SIPANAH_IMPORT_MAX_FILE_BYTES"] = str(max(gpkg.stat().st_size + 1, 200 * 1024 * 1024))
    manage(build, "import_assets", str(gpkg))
    log(f"import_assets of {args.count:,} parcels: {time.perf_counter() - t0:.1f} s")
    return build


def build_demo(args: argparse.Namespace) -> str:
    build = f"{args.name}_build"
    drop(build)
    t0 = time.perf_counter()
    sql("postgres", f'CREATE DATABASE "{build}" TEMPLATE "{args.source}"')
    log(f"copied {args.source} in {time.perf_counter() - t0:.1f} s")
    manage(build, "migrate", "--noinput", "-v", "0")
    sys.path.insert(0, str(ROOT))
    from bench.replicate_demo import replicate

    with psycopg.connect(dbname=build, autocommit=True, **PG) as conn:
        replicate(conn, args.copies, log)
    return build


def check(db: str) -> bool:
    """Compare every maintained table with a recount; True when all agree."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"postgis://postgres@127.0.0.1:5432/{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")
    os.environ.setdefault("SIPANAH_DEBUG", "1")
    import django

    django.setup()
    from bench.consistency import report

    return report()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["grid", "demo", "check"])
    parser.add_argument("--name", default="")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--gpkg", default=str(ROOT / "var" / "bench" / "grid_1m.gpkg"))
    parser.add_argument("--source", default="sipanah_bench_100k")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()
    if args.what == "check":
        sys.exit(0 if check(args.name) else 1)
    args.name = args.name or {"grid": "sipanah_grid_1m", "demo": "sipanah_bench_1m"}[args.what]
    if exists(args.name):
        sys.exit(f"{args.name} exists already (another build?): not replacing it.")
    build = build_grid(args) if args.what == "grid" else build_demo(args)
    finish(build, args.name)
    log(f"built in {time.perf_counter() - STARTED:.1f} s")
    if not args.no_check:
        ok = check(args.name if exists(args.name) else build)
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
