"""Reconciliation benchmark (docs/ledger.md "Numbers", docs/benchmarks.md "Reconciliation"): N official rows against
N register rows, on copies of the shared 100k PostGIS registers, for N = 20k, 50k, 100k.

For each database and N, a child process (so that each peak memory is its own):

- keeps the first N live assets (the others marked removed, inside a transaction rolled back at the end: the copy
  is left as it was);
- writes the official export with ``assets.ledger.sample.official_export`` (5 % one field changed, 1 % missing,
  1 % extra, 0.5 % renumbered without NIBAR);
- resets the process's peak RSS (``/proc/self/clear_refs``), then runs ``services.start_run`` (read the file,
  store the snapshot, match, write the lines) and reads the peak (VmHWM) and the baseline before it;
- at the largest N, fetches the differences page (``/ledger/runs/<id>/?category=differs&page=P``, a page in the
  middle) through Django's test client, logged in, ``--reps`` times; the floor is the page's own SQL (captured
  from one request) executed raw through a cursor, ``--reps`` times, in the same run.

    createdb -h 127.0.0.1 -U postgres -T sipanah_bench_100k sip_ledger_100k   (and -T sipanah_grid_100k ...)
    DATABASE_URL=postgis://postgres@127.0.0.1:5432/sip_ledger_100k .venv/bin/python manage.py migrate
    .venv/bin/python bench/bench_ledger.py --dbs sip_ledger_100k,sip_ledger_grid [--sizes 20000,50000,100000]
"""

# ruff: noqa: S603, T201 - a benchmark runs fixed local commands and prints on purpose
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dbs", default="sip_ledger_100k,sip_ledger_grid")
    parser.add_argument("--sizes", default="20000,50000,100000")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--page", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.db, args.size, args.reps, page=args.page)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average before: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
    print(
        "| register | N | official rows | differences | matching (s) | whole run (s) | RSS before (MB) "
        "| peak RSS during the run (MB) | growth (MB) | whole run, CPU of this process (s) | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    pages = []
    for db in args.dbs.split(","):
        for size in sizes:
            command = [sys.executable, __file__, "--child", "--db", db, "--size", str(size), "--reps", str(args.reps)]
            if size == max(sizes):
                command.append("--page")
            out = subprocess.run(command, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"| {db} | {size:,} | failed: {out.stderr.strip().splitlines()[-1:]} |")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {db} | {size:,} | {r['official_rows']:,} | {r['differs']:,} | {r['match']:.1f} | "
                  f"{r['whole']:.1f} | {r['rss_before']:.0f} | {r['rss_peak']:.0f} | "
                  f"{r['rss_peak'] - r['rss_before']:.0f} | {r['cpu']:.1f} | {r['load']:.1f} |")  # fmt: skip
            if "page" in r:
                pages.append((db, r))
    for db, r in pages:
        p = r["page"]
        print(f"\n{db}, N={r['size']:,}: differences page {p['number']} of {p['pages']} ({r['differs']:,} "
              f"differences, {p['queries']} queries): median {p['median_ms']:.0f} ms, max {p['max_ms']:.0f} ms; "
              f"raw SQL floor median {p['floor_ms']:.0f} ms; ratio {p['median_ms'] / max(p['floor_ms'], 0.1):.1f}x "
              f"(load {p['load']:.1f})")  # fmt: skip
        for category, n in r["counts"].items():
            print(f"  {category}: {n:,}")


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(db: str, size: int, reps: int, *, page: bool) -> dict[str, Any]:
    os.environ.update({"DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{db}", "SIPANAH_DEBUG": "1",
                       "DJANGO_SETTINGS_MODULE": "sipanah.settings"})  # fmt: skip
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction

    from assets.ledger import selectors, services
    from assets.ledger.models import Category
    from assets.ledger.sample import official_export
    from assets.register.models import LandAsset

    settings.DEBUG = False  # no query log, as in production
    result: dict[str, Any] = {"size": size}
    with transaction.atomic(), tempfile.TemporaryDirectory() as folder:
        live = LandAsset.objects.filter(removed_at__isnull=True).order_by("pk")
        cutoff = live.values_list("pk", flat=True)[size - 1 : size].first()
        if cutoff is not None:
            live.filter(pk__gt=cutoff).update(removed_at="2000-01-01")
        path = Path(folder) / "official.csv"
        official_export(path)
        Path("/proc/self/clear_refs").write_text("5")  # the peak RSS from here on
        result["rss_before"] = _status("VmRSS")
        result["load"] = os.getloadavg()[0]
        started, cpu = time.monotonic(), time.process_time()
        run = services.start_run(path, user=None, system="SIMDA BMD")
        result["whole"] = time.monotonic() - started
        result["cpu"] = time.process_time() - cpu  # this process's CPU time: less noisy than the clock
        result["rss_peak"] = _status("VmHWM")
        result["match"] = run.match_seconds
        result["official_rows"] = run.official_rows
        result["counts"] = {c.label: c.count for c in selectors.counts(run)}
        result["differs"] = run.items.filter(active=True, category=Category.DIFFERS).count()
        if page:
            result["page"] = _page(run, reps)
        transaction.set_rollback(True)
    return result


def _page(run: Any, reps: int) -> dict[str, Any]:
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from assets.ledger.models import Category
    from assets.ledger.views import PER_PAGE
    from assets.register import permissions
    from assets.register.models import User

    user = User.objects.create_user("bench-ledger", password="x")  # noqa: S106 - rolled back with the run
    user.groups.add(Group.objects.get(name=permissions.BPKAD))
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    pages = -(-run.items.filter(active=True, category=Category.DIFFERS).count() // PER_PAGE)
    number = max(1, pages // 2)
    url = f"/ledger/runs/{run.pk}/?category=differs&page={number}"
    client.get(url)  # warm
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.status_code  # noqa: S101 - a benchmark's sanity check
    sqls = [q["sql"] for q in captured.captured_queries]
    times, floors = [], []
    for _ in range(reps):
        started = time.monotonic()
        client.get(url)
        times.append((time.monotonic() - started) * 1000)
        started = time.monotonic()
        with connection.cursor() as cursor:
            for sql in sqls:
                cursor.execute(sql)
                cursor.fetchall()
        floors.append((time.monotonic() - started) * 1000)
    return {"number": number, "pages": pages, "queries": len(sqls), "median_ms": statistics.median(times),
            "max_ms": max(times), "floor_ms": statistics.median(floors), "load": os.getloadavg()[0]}  # fmt: skip


if __name__ == "__main__":
    main()
