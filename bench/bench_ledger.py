"""Reconciliation benchmark (docs/ledger.md "Numbers"): an official export of the demo register with realistic
differences (manage.py ledger_sample: 5 % one field changed, 1 % missing, 1 % extra, 0.5 % renumbered) read, stored
and matched by ``assets.ledger.services.start_run``, and the differences page of the run.

    .venv/bin/python bench/bench_ledger.py [--db sipanah_ledger_bench] [--count 20000] [--reps 10]

The PostGIS database is the benchmark's own: kept when it already holds ``--count`` live assets, else created anew
and filled by generate_demo_assets (in a child process, so that the peak memory printed is the run's only).
"""

# ruff: noqa: S603, S607 - a benchmark runs fixed local commands on purpose
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = ["-h", "127.0.0.1", "-U", "postgres"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sipanah_ledger_bench")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    url = f"postgis://postgres@127.0.0.1:5432/{args.db}"
    env = {**os.environ, "DATABASE_URL": url, "SIPANAH_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "sipanah.settings"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    held = subprocess.run(["psql", *PG, "-d", args.db, "-tAc",
                           "SELECT count(*) FROM assets_landasset WHERE removed_at IS NULL"],
                          capture_output=True, text=True, env=env)  # fmt: skip
    if held.returncode != 0 or int(held.stdout.strip() or 0) != args.count:
        subprocess.run(["dropdb", *PG, "--if-exists", args.db], check=True)
        subprocess.run(["createdb", *PG, args.db], check=True)
        subprocess.run(["psql", *PG, "-d", args.db, "-qc", "CREATE EXTENSION postgis"], check=True)
        for command in (["migrate", "-v", "0"], ["load_reference_data"],
                        ["generate_demo_assets", "--count", str(args.count), "--seed", "1"]):  # fmt: skip
            subprocess.run([*manage, *command], check=True, env={**env, "SIPANAH_DEMO": "1"})
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.paginator import Paginator

    from assets.ledger import selectors, services
    from assets.ledger.models import Category
    from assets.ledger.sample import official_export

    settings.DEBUG = False  # no query log, as in production
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "official.csv"
        counts = official_export(path)
        started = time.monotonic()
        run = services.start_run(path, user=None, system="SIMDA BMD")
        whole = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pages = []
    for _ in range(args.reps):
        started = time.monotonic()
        page = Paginator(selectors.items(run, Category.DIFFERS), 50).get_page(10)
        list(page)
        selectors.counts(run)
        pages.append(time.monotonic() - started)
    print(f"official rows {run.official_rows:,} ({counts}); Sipanah assets {run.register_rows:,}")
    print(f"matching {run.match_seconds:.2f} s; whole run (read, store, match) {whole:.2f} s; peak RSS {peak:.0f} MB")
    for count in selectors.counts(run):
        print(f"  {count.label}: {count.count:,}")
    print(f"differences page (page 10 of 50 lines, with the counts): median {statistics.median(pages) * 1000:.0f} ms, "
          f"max {max(pages) * 1000:.0f} ms over {args.reps}")  # fmt: skip


if __name__ == "__main__":
    main()
