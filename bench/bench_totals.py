"""Register totals and work-queue counts: the maintained groups and the SQL counts against the live sums and the
snapshot findings they replace, measured in the same run on the same database (same-run ratios).

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/COPY .venv/bin/python bench/bench_totals.py [--repeat 7]

For each selection the totals (count, areas, value, certified, located, split by status) are read both ways and
must be equal; the table gives the median milliseconds of each and their ratio. The work queues' "stuck" and
"area mismatch" counts for every agency are read by SQL (assets.audit.work) and by running the findings over a
snapshot of the register (what the home page did before), and must agree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")
os.environ.setdefault("SIPANAH_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries  # noqa: E402

from assets.audit import findings  # noqa: E402
from assets.audit import work as audit_work  # noqa: E402
from assets.models import AdministrativeArea, Agency, LandAsset, RegisterTotal  # noqa: E402
from assets.register import aggregates, selectors  # noqa: E402
from assets.register.reads import RegisterSelection  # noqa: E402
from assets.register.work import Scope  # noqa: E402


def median_ms(fn, repeat: int) -> tuple[float, object]:
    result = fn()  # first use (plans, caches) outside the measurement
    times = []
    for _ in range(repeat):
        reset_queries()
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--snapshot-repeat", type=int, default=1, help="runs of the snapshot findings (slow)")
    args = parser.parse_args()

    agency = Agency.objects.get(id=LandAsset.objects.values_list("agency_id", flat=True)[0])
    kecamatan = AdministrativeArea.objects.filter(level="kecamatan").order_by("code")[0]
    kelurahan = AdministrativeArea.objects.filter(level="kelurahan").order_by("code")[0]
    selections = [
        ("whole register (home, /map/totals/)", {}),
        ("status=belum", {"status": "belum"}),
        (f"agency={agency.code}", {"agency": agency.code}),
        (f"status=proses&kecamatan={kecamatan.code}", {"status": "proses", "kecamatan": kecamatan.code}),
        (f"kelurahan={kelurahan.code}", {"kelurahan": kelurahan.code}),
        ("removed=include", {"removed": "include"}),
    ]
    assets = LandAsset.objects.count()
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}, {assets:,} assets, "
        f"{RegisterTotal.objects.count():,} groups; load average {os.getloadavg()[0]:.1f}"
    )
    print("\n| totals of | live sum ms | groups ms | ratio | equal |\n|---|---:|---:|---:|---|")
    for label, params in selections:
        selection = RegisterSelection.from_params(params)
        live_ms, live = median_ms(lambda s=selection: selectors.register_totals_by_status(s.queryset()), args.repeat)
        group_ms, grouped = median_ms(lambda s=selection: aggregates.totals_by_status(s.groups()), args.repeat)
        print(f"| {label} | {live_ms:.1f} | {group_ms:.2f} | {live_ms / group_ms:.0f}x | {live == grouped} |")

    print("\n| work queue (every agency) | snapshot findings ms | SQL ms | ratio | equal |\n|---|---:|---:|---:|---|")
    options = findings.FindingOptions()
    states_ms, states = median_ms(lambda: RegisterSelection.everything().states(), args.snapshot_repeat)
    for slug, sql in (
        ("stuck", lambda: audit_work.stuck_counts(Scope(None))[0]),
        ("area-mismatch", lambda: audit_work.mismatch_counts(Scope(None))),
    ):

        def by_snapshot(slug=slug) -> dict:
            rows = findings.run_finding(slug, states, options=options)  # type: ignore[arg-type]
            return dict(Counter(row.asset.agency_id for row in rows))

        finding_ms, expected = median_ms(by_snapshot, args.snapshot_repeat)
        sql_ms, counted = median_ms(sql, args.repeat)
        total = states_ms + finding_ms
        print(f"| {slug} | {total:.0f} (snapshot {states_ms:.0f}) | {sql_ms:.1f} | {total / sql_ms:.0f}x | "
              f"{counted == expected} |")  # fmt: skip
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
