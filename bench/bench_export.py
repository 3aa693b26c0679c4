"""Export benchmark: ``manage.py export_assets`` vs ogr2ogr writing the same columns from the same query, per format.

    .venv/bin/python bench/bench_export.py --db sip_exports_grid [--formats gpkg,shp,...] [--srid 4326]

``--db``: a PostGIS copy of a register (``createdb -T sipanah_grid_100k ...``, migrated); never a template. Two
selections: the whole register, and the kecamatan whose count is nearest 20,000 (``--kecamatan`` filter), to show
whether time and memory grow with N. Each arm runs as a child process under /usr/bin/time -v (wall time, CPU,
peak RSS). Our arm is ``export_assets`` run by call_command in a child that first sets Django up: the process's
numbers are the command's (start-up included); "export alone" is the call itself (the filters, the statement, GDAL
writing it, the zip of a Shapefile), which is what a web download costs. CPU is the client's (the PostgreSQL
backends do the same work for both arms); on a shared machine CPU is steadier than wall time.

The peer is ``ogr2ogr -sql`` with the very statement our command hands GDAL
(assets.transfer.exports.direct_query: the same columns, names, casts and leading certificate) and the same layer
options; for XLSX, openpyxl's write-only floor: the same rows fetched by psycopg (the WKT made by PostGIS) and
appended as they come, nothing else (no evidence columns, no text-as-formula protection).
"""

# ruff: noqa: S603, S607 - a benchmark runs fixed local commands (ogr2ogr, manage.py) on purpose
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
sys.path.insert(0, str(ROOT))

from bench.bench_import import timed  # noqa: E402

DRIVERS = {"gpkg": "GPKG", "shp": "ESRI Shapefile", "geojson": "GeoJSON", "kml": "KML", "csv": "CSV"}
SUFFIX = {"gpkg": ".gpkg", "shp": ".zip", "geojson": ".geojson", "kml": ".kml", "csv": ".csv", "xlsx": ".xlsx"}


def statement(fmt: str, srid: int, params: str) -> str:
    """The statement our command hands GDAL (or, for XLSX, its columns with the WKT made by PostGIS)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")
    django.setup()
    from django.db import connection
    from django.http import QueryDict

    from assets.register import kib
    from assets.register.reads import RegisterSelection
    from assets.transfer import export_query, exports

    selection = RegisterSelection.from_params(QueryDict(params))
    if fmt == "xlsx":
        names = tuple(column.name for column in kib.EXPORTED)
        sql = export_query.export_query(selection, names=names, geometry="wkt", srid=srid).literal_sql()
    else:
        sql = exports.direct_query(selection, fmt, srid).literal_sql()
    connection.close()
    return sql


def run_ours(args: list[str]) -> None:
    """Our arm: ``manage.py export_assets`` in this process, timing the command apart from Django's start-up."""
    import time

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")
    django.setup()
    from django.core.management import call_command

    wall, cpu = time.monotonic(), time.process_time()
    call_command("export_assets", *args)
    print(f"command wall {time.monotonic() - wall:.3f} cpu {time.process_time() - cpu:.3f}")


def xlsx_floor(sql_file: str, out: str, dsn: str) -> None:
    """openpyxl write-only, the rows of the statement as psycopg gives them (a server-side cursor)."""
    import psycopg
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("KIB A")
    with psycopg.connect(dsn) as conn, conn.cursor(name="floor") as cursor:
        cursor.execute(Path(sql_file).read_text())
        sheet.append([column.name for column in cursor.description])
        while rows := cursor.fetchmany(2000):
            for row in rows:
                sheet.append(row)
    workbook.save(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--formats", default="gpkg,shp,geojson,kml,csv,xlsx")
    parser.add_argument("--srid", type=int, default=4326)
    parser.add_argument("--xlsx-floor", nargs=2, metavar=("SQL_FILE", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--ours", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours:
        run_ours(args.ours)
        return
    dsn = f"dbname={args.db} host=127.0.0.1 user=postgres"
    if args.xlsx_floor:
        xlsx_floor(*args.xlsx_floor, dsn)
        return
    url = f"postgis://postgres@127.0.0.1:5432/{args.db}"
    os.environ["DATABASE_URL"], os.environ["SIPANAH_DEBUG"] = url, "1"
    env = {**os.environ}
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", args.db, "-qAtc"]
    total = int(subprocess.run([*psql, "select count(*) from assets_landasset where removed_at is null"],
                               capture_output=True, text=True, check=True).stdout)  # fmt: skip
    nearest = subprocess.run(
        [*psql, "select k.code, count(*) from assets_landasset a join assets_administrativearea k "
                "on k.id = a.kecamatan_id where a.removed_at is null group by k.code "
                "order by abs(count(*) - 20000) limit 1"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    selections = [("", total)]
    if nearest:
        code, count = nearest.split("|")
        selections.insert(0, (f"kecamatan={code}", int(count)))
    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    load = os.getloadavg()
    print(f"database {args.db}, EPSG:{args.srid}, load average at start {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("| format | assets | wall s: command / export alone / peer | ratio: command / alone "
          "| CPU s: command / export alone / peer | CPU ratio: command / alone | peak MB: ours / peer "
          "| MB written: ours / peer |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    try:
        for fmt in args.formats.split(","):
            for params, count in selections:
                sql_file = folder / "statement.sql"
                sql_file.write_text(statement(fmt, args.srid, params))
                ours_out = folder / f"ours{SUFFIX[fmt]}"
                filters = []
                if params:
                    key, value = params.split("=")
                    filters = [f"--{key}", value]
                ours = timed(
                    [PY, __file__, "--db", args.db, "--ours", "--format", fmt, "-o", str(ours_out),
                     "--srid", str(args.srid), *filters],
                    env, args.db,
                )  # fmt: skip
                if fmt == "xlsx":
                    peer_out = folder / "peer.xlsx"
                    peer_cmd = [PY, __file__, "--db", args.db, "--xlsx-floor", str(sql_file), str(peer_out)]
                else:
                    peer_out = folder / ("peer" if fmt == "shp" else f"peer{SUFFIX[fmt]}")
                    options = {
                        "shp": ["-lco", "ENCODING=UTF-8"],
                        "csv": ["-lco", "CREATE_CSVT=NO", "-lco", "SEPARATOR=COMMA"],
                        "geojson": ["-lco", "RFC7946=YES"] if args.srid == 4326 else [],
                        "gpkg": ["-lco", "GEOMETRY_NAME=geom"],
                    }.get(fmt, [])
                    srs = [] if fmt == "csv" else ["-s_srs", "EPSG:4326", "-t_srs", f"EPSG:{args.srid}"]
                    peer_cmd = [
                        "ogr2ogr", "-f", DRIVERS[fmt], str(peer_out), f"PG:{dsn}", "-sql", f"@{sql_file}",
                        "-nln", "land_assets", *srs, *options,
                    ]  # fmt: skip
                peer = timed(peer_cmd, env, args.db)

                def size(path: Path) -> float:
                    files = path.rglob("*") if path.is_dir() else [path]
                    return sum(f.stat().st_size for f in files) / 1e6

                timing = re.search(r"command wall ([\d.]+) cpu ([\d.]+)", ours[3])
                alone, alone_cpu = float(timing.group(1)), float(timing.group(2))
                peer_cpu = max(peer[1], 0.01)
                print(
                    f"| {fmt} | {count:,} | {ours[0]:.2f} / {alone:.2f} / {peer[0]:.2f} "
                    f"| {ours[0] / peer[0]:.2f} / {alone / peer[0]:.2f} "
                    f"| {ours[1]:.2f} / {alone_cpu:.2f} / {peer[1]:.2f} "
                    f"| {ours[1] / peer_cpu:.2f} / {alone_cpu / peer_cpu:.2f} "
                    f"| {ours[2] / 1024:.0f} / {peer[2] / 1024:.0f} | {size(ours_out):.1f} / {size(peer_out):.1f} |",
                    flush=True,
                )
                for path in (ours_out, peer_out):
                    shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()
    print(f"load average at end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
