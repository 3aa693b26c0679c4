"""Checks of a bench register after a bulk build (bench/build_1m.py): every table the database maintains equals a
recount, and the register reads as of a past date. Needs Django set up on the database to check.

- register totals (``assets_registertotal``) against ``aggregates.fill_sql`` into a temporary table (what install()
  counts from scratch), group by group;
- tile cells (``assets_assetcell``) against ``tile_cells._fill`` the same way;
- history intervals: each history row's ``history_valid_until`` / ``history_valid_from`` against the window the
  validity triggers compute (next row's date; the first row's creation when it is not a '+'), for assets and
  certificates; every live asset has a history row (no unrecorded rows);
- the register as of a past date: its count and totals read through RegisterSelection, and one page of it.
"""

# ruff: noqa: S608 - SQL from module constants and table names
from __future__ import annotations

import datetime as dt
import time

from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from assets.maps import tile_cells
from assets.register import aggregates
from assets.register.reads import RegisterSelection

INTERVALS = """
SELECT count(*) FROM (
  SELECT history_valid_until AS until, history_valid_from AS since,
         lead(history_date) OVER w AS want_until,
         CASE WHEN row_number() OVER w = 1 AND history_type <> '+' THEN created_at END AS want_since
  FROM {table} WINDOW w AS (PARTITION BY id ORDER BY history_date, history_id)) c
WHERE until IS DISTINCT FROM want_until OR since IS DISTINCT FROM want_since"""


def _diff(table: str, keys: str, columns: str, fill: list[str], check: str) -> int:
    """Rows that differ between ``table`` and the same table filled from scratch into ``check``."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {check} AS SELECT * FROM {table} WITH NO DATA")  # noqa: S608
        for sql in fill:
            cursor.execute(sql)
        a, b = f"SELECT {keys}, {columns} FROM {table}", f"SELECT {keys}, {columns} FROM {check}"
        cursor.execute(f"SELECT count(*) FROM (({a} EXCEPT {b}) UNION ALL ({b} EXCEPT {a})) d")
        differing = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {check}")
    return differing


def report() -> bool:
    ok = True

    def line(name: str, good: bool, detail: str) -> None:
        nonlocal ok
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} {name}: {detail}", flush=True)

    postgis = connection.vendor == "postgresql"
    started = time.perf_counter()
    keys = ", ".join(aggregates.KEY_COLUMNS)
    sums = ", ".join(aggregates.SUMS)
    d = _diff(aggregates.TABLE, keys, sums, [aggregates.fill_sql(postgis, table="totals_check")], "totals_check")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), coalesce(sum(n), 0) FROM {aggregates.TABLE}")  # noqa: S608
        groups, counted = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM assets_landasset")
        assets = cursor.fetchone()[0]
    line("register totals = recount", d == 0 and counted == assets, f"{groups:,} groups, {counted:,} of {assets:,} "
         f"assets, {d} differing rows ({time.perf_counter() - started:.1f} s)")  # fmt: skip

    started = time.perf_counter()
    fill = [
        s.replace(f"INSERT INTO {tile_cells.TABLE} ", "INSERT INTO cells_check ") for s in tile_cells._fill(postgis)[1:]
    ]
    d = _diff(tile_cells.TABLE, "x17, y17", "n, nb, np, nt, nd", fill, "cells_check")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), coalesce(sum(n), 0) FROM {tile_cells.TABLE}")  # noqa: S608
        cells, located = cursor.fetchone()
    line("tile cells = recount", d == 0, f"{cells:,} cells holding {located:,} parcels, {d} differing rows "
         f"({time.perf_counter() - started:.1f} s)")  # fmt: skip

    for table in ("assets_historicallandasset", "assets_historicalcertificate"):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(INTERVALS.format(table=table))
            wrong = cursor.fetchone()[0]
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            rows = cursor.fetchone()[0]
        line(f"{table} intervals", wrong == 0, f"{rows:,} rows, {wrong} wrong ({time.perf_counter() - started:.1f} s)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM assets_landasset l WHERE NOT EXISTS "
            "(SELECT 1 FROM assets_historicallandasset h WHERE h.id = l.id)"
        )
        unrecorded = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM assets_unrecordedrow")
        marked = cursor.fetchone()[0]
    line("every asset has history", unrecorded == marked, f"{unrecorded} without history, {marked} marked unrecorded")

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(history_date), max(history_date) FROM assets_historicallandasset")
        first, last = cursor.fetchone()
    now = RegisterSelection.everything().totals()
    days = [] if first is None else sorted({timezone.localdate(first + (last - first) / 2), timezone.localdate(last)})
    if first is not None:  # before the first write: an empty register, said so rather than failing
        before = timezone.localdate(first) - dt.timedelta(days=1)
        empty = RegisterSelection.from_params(QueryDict(f"as_of={before.isoformat()}"))
        count = empty.totals().count
        page, _t = empty.page(1)
        line(f"as of {before}", count == 0 and not page.object_list, f"{count} assets then, before the first write")
    for day in days:  # as of the day of the last write the register is the live one, to the parcel
        started = time.perf_counter()
        past = RegisterSelection.from_params(QueryDict(f"as_of={day.isoformat()}"))
        totals = past.totals()
        page, _t = past.page(2)
        ms = (time.perf_counter() - started) * 1000
        want = totals.count == now.count if day == days[-1] else 0 < totals.count <= now.count
        line(
            f"as of {day}",
            want and len(page.object_list) > 0,
            f"{totals.count:,} assets then ({now.count:,} now); page 2 has {len(page.object_list)} rows ({ms:.0f} ms)",
        )
    return ok
