"""Import benchmark: our importer vs ogr2ogr (PG_USE_COPY) on the same GeoPackage, in the same run.

    .venv/bin/python bench/bench_import.py --gpkg /tmp/h4/d100k.gpkg [--db sipanah_h4_bench]

Makes the GeoPackage with ``manage.py generate_demo_assets --count N --seed 1 --out FILE.gpkg``. The database
(default sipanah_h4_bench, a PostGIS database of its own) is migrated and given the reference data; before each
run of our importer its register is emptied. Each arm runs as a child process under /usr/bin/time -v, which
gives wall time and peak RSS. Our arm does everything an import does: field mapping, validation, geometry
rules, geodesic area, kelurahan, certificate status, history rows, one transaction. ogr2ogr only copies rows.
"""

# ruff: noqa: S603, S607 - a benchmark runs fixed local commands (ogr2ogr, psql, manage.py) on purpose
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    # CPU seconds of the client process: steadier than wall time when others share the machine's cores
    cpu = sum(
        float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", result.stderr).group(1)) for kind in ("User", "System")
    )
    return wall, cpu, rss, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpkg", type=Path, required=True)
    parser.add_argument("--db", default="sipanah_h4_bench")
    args = parser.parse_args()
    url = f"postgis://postgres@127.0.0.1:5432/{args.db}"
    env = {**os.environ, "DATABASE_URL": url, "SIPANAH_DEBUG": "1"}
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", args.db, "-qAtc"]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.db], capture_output=True)
    subprocess.run([*psql, "create extension if not exists postgis"], check=True)
    subprocess.run([PY, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([PY, "manage.py", "load_reference_data"], env=env, check=True, cwd=ROOT, capture_output=True)
    empty = (
        "truncate assets_certificatestageevent, assets_certificate, "
        "assets_historicalcertificate, assets_landasset, assets_historicallandasset cascade"
    )

    ogr_cmd = [
        "ogr2ogr", "-f", "PostgreSQL", f"PG:dbname={args.db} host=127.0.0.1 user=postgres", str(args.gpkg),
        "-nln", "bench_ogr2ogr", "-overwrite", "-lco", "SPATIAL_INDEX=GIST", "-gt", "65536",
        "--config", "PG_USE_COPY", "YES",
    ]  # fmt: skip
    ogr_wall, ogr_cpu, ogr_rss, _out = timed(ogr_cmd, env)
    ogr_rows = subprocess.run(
        [*psql, "select count(*) from bench_ogr2ogr"], capture_output=True, text=True
    ).stdout.strip()

    subprocess.run([*psql, empty], check=True)
    ours_wall, ours_cpu, ours_rss, out = timed([PY, "manage.py", "import_assets", str(args.gpkg)], env)
    counts = subprocess.run(
        [*psql, "select count(*), count(kelurahan_id), count(luas_gis_m2) from assets_landasset"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run([*psql, "drop table if exists bench_ogr2ogr"], capture_output=True)

    print(f"\nImport of {args.gpkg.name} into PostGIS ({args.db})\n")
    print("| arm | rows | wall s | client CPU s | features/s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    rows = int(ogr_rows)
    peer = "ogr2ogr -f PostgreSQL, PG_USE_COPY=YES"
    print(f"| {peer} | {rows:,} | {ogr_wall:.1f} | {ogr_cpu:.1f} | {rows / ogr_wall:,.0f} | {ogr_rss / 1024:.0f} |")
    ours = int(counts.split("|")[0])
    print(
        f"| import_assets (validation, area, kelurahan, certificates, history) | {ours:,} | {ours_wall:.1f} | "
        f"{ours_cpu:.1f} | {ours / ours_wall:,.0f} | {ours_rss / 1024:.0f} |"
    )
    print(
        f"\nratio (ours / ogr2ogr): {ours_wall / ogr_wall:.1f}x; ours: rows, with kelurahan, with GIS area = {counts}"
    )
    print(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
