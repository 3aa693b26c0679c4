"""The register as of a date from the history vs the current register, and vs a hand-written DISTINCT ON.

Needs history rows; the bench databases made with bulk_create have none, so the copy gets one "created"
row per asset and certificate dated 2025-06-01 and a change of every tenth asset dated 2025-09-01
(docs/register.md, "The as-of rule and the read path"). Read-only otherwise.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/sipanah_h5_bench SIPANAH_DEBUG=1 \\
        .venv/bin/python bench/audit_as_of.py
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from assets.register import history  # noqa: E402

AS_OF = dt.date(2025, 12, 31)
RAW_SQL = """
SELECT * FROM (
    SELECT DISTINCT ON (id) id, kode_barang, nomor_register, nama_barang, agency_id, kecamatan_id, kelurahan_id,
           tahun_perolehan, nilai_perolehan, luas_kib_m2, luas_gis_m2, plotting_status, removed_at, history_type
    FROM assets_historicallandasset WHERE history_date < %s ORDER BY id, history_date DESC
) latest WHERE history_type <> '-' AND removed_at IS NULL
"""


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def raw() -> int:
    with connection.cursor() as cursor:
        cursor.execute(RAW_SQL, [history.end_of_day(AS_OF)])
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT DISTINCT ON (id) id, asset_id, stage, nomor FROM assets_historicalcertificate "
            "WHERE history_date < %s ORDER BY id, history_date DESC",
            [history.end_of_day(AS_OF)],
        )
        cursor.fetchall()
    return len(rows)


def main() -> None:
    t_raw, n_raw = timed(raw)
    t_as_of, snap = timed(lambda: history.snapshot(as_of=AS_OF))
    t_now, now = timed(lambda: history.snapshot())
    assert n_raw == len(snap), (n_raw, len(snap))
    print(f"{'step':<48}{'assets':>9}{'seconds':>9}")
    print(f"{'hand-written DISTINCT ON (assets + certificates)':<48}{n_raw:>9,}{t_raw:>9.2f}")
    print(f"{'history.snapshot(as_of=2025-12-31)':<48}{len(snap):>9,}{t_as_of:>9.2f}")
    print(f"{'history.snapshot() (current register)':<48}{len(now):>9,}{t_now:>9.2f}")


if __name__ == "__main__":
    main()
