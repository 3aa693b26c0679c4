"""XLSX export of N register rows: time and peak memory, which must stay flat in N.

Each measurement runs in a fresh subprocess so ru_maxrss is that run's peak. Rows stream from a server-side
cursor into audit_exports.write_xlsx (openpyxl write_only) in a temporary file; the peer in the same run is
csv.writer on the same rows (the cost of reading the rows and writing plain text).

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/sipanah_bench_100k SIPANAH_DEBUG=1 \\
        .venv/bin/python bench/audit_xlsx.py --sizes 10000 50000 100000

Read-only on the database. ``--report`` also times the whole audit workbook (snapshot + all findings +
XLSX) once; that one holds the snapshot in memory, so its peak grows with the register.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")

FIELDS = (
    "id",
    "kode_barang",
    "nomor_register",
    "nama_barang",
    "agency__name",
    "kecamatan__name",
    "kelurahan__name",
    "tahun_perolehan",
    "nilai_perolehan",
    "luas_kib_m2",
    "luas_gis_m2",
    "status_sertifikat",
)


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, n: int) -> dict:
    import django

    django.setup()
    import csv
    import tempfile

    from assets.audit.exports import write_xlsx
    from assets.models import LandAsset

    def rows():
        qs = LandAsset.objects.order_by("id").values_list(*FIELDS)[:n]
        for row in qs.iterator(chunk_size=2000):
            yield [float(v) if hasattr(v, "as_tuple") else v for v in row]

    base = _rss_mb()
    start = time.perf_counter()
    with tempfile.TemporaryFile() as target:
        if kind == "xlsx":
            write_xlsx(target, [("Register", rows(), list(FIELDS))])
        elif kind == "csv":
            import io

            text = io.TextIOWrapper(target, encoding="utf-8", newline="")
            writer = csv.writer(text)
            writer.writerow(FIELDS)
            writer.writerows(rows())
            text.flush()
            text.detach()
        elif kind == "report":
            from django.contrib.auth.models import AnonymousUser  # noqa: F401 - user only named in the meta

            from assets.audit import exports as audit_exports
            from assets.audit import findings
            from assets.register import history

            assets = history.snapshot(with_geom=True)
            results = findings.run_all(assets)
            meta = [("Report", "bench")]
            out = audit_exports.xlsx_file(results, history.names(), meta)
            target.write(out.read())
        size = target.tell()
    return {"seconds": time.perf_counter() - start, "peak_mb": _rss_mb(), "base_mb": base, "bytes": size}


def run(kind: str, n: int) -> dict:
    out = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, __file__, "--child", kind, str(n)], capture_output=True, text=True, check=True, env=os.environ
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, 100000])
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    print(f"{'rows':>8} {'format':<8}{'seconds':>9}{'peak RSS MB':>13}{'after setup MB':>16}{'file MB':>9}")
    for n in args.sizes:
        for kind in ("xlsx", "csv"):
            r = run(kind, n)
            print(
                f"{n:>8,} {kind:<8}{r['seconds']:>9.2f}{r['peak_mb']:>13.0f}{r['base_mb']:>16.0f}"
                f"{r['bytes'] / 1e6:>9.1f}"
            )
    if args.report:
        r = run("report", 0)
        print(
            f"{'all':>8} {'report':<8}{r['seconds']:>9.2f}{r['peak_mb']:>13.0f}{r['base_mb']:>16.0f}"
            f"{r['bytes'] / 1e6:>9.1f}"
        )


if __name__ == "__main__":
    main()
