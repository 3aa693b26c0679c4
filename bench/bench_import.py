"""Import benchmark: our importer vs ogr2ogr (PG_USE_COPY) on the same GeoPackage, in the same run.

    .venv/bin/python bench/bench_import.py --gpkg var/bench/m100000.gpkg [--db sipanah_importspeed_bench]

Makes the GeoPackage with ``manage.py generate_demo_assets --count N --seed 1 --out FILE.gpkg``. The database
(default sipanah_importspeed_bench, a PostGIS database of its own) is migrated and given the reference data;
before each run of our importer its register is emptied. Each arm runs as a child process under
/usr/bin/time -v, which gives wall time, client CPU and peak RSS; the CPU of the database backends serving
each arm is read from /proc. Our arm does everything an import does: field mapping, validation, geometry
rules, geodesic area, kelurahan, certificate status, history rows, one transaction. ogr2ogr only copies rows.

The floor: the exact rows our import wrote (assets, their history rows, certificates, their history rows, stage
events), dumped with psql's \\copy and loaded back by psql's \\copy into the emptied tables in one transaction
(same indexes, same triggers). No importer that writes what the register needs can take less; its ratio to
ogr2ogr is the least ratio any of our importers could reach.
"""

# ruff: noqa: S603, S607 - a benchmark runs fixed local commands (ogr2ogr, psql, manage.py) on purpose
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")


class ServerCPU(threading.Thread):
    """CPU seconds used by the PostgreSQL backends serving one database while an arm runs.

    The client's CPU leaves out the server's share (COPY parsing, index and trigger work), which for ogr2ogr is
    most of the work; client + server CPU compares the arms even when other jobs slow the machine's wall clock.
    Polls /proc every 50 ms for the backends of ``database`` (``postgres: ... <database> ...``) and keeps each
    one's last utime + stime; a backend's last < 50 ms may be missed.
    """

    def __init__(self, database: str):
        super().__init__(daemon=True)
        self.database, self.ticks, self.running = database, {}, True

    def run(self) -> None:
        while self.running:
            for stat in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    cmdline = stat.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    if not cmdline.startswith("postgres: ") or f" {self.database} " not in cmdline:
                        continue
                    fields = (stat.parent / "stat").read_text().rsplit(")", 1)[1].split()
                    self.ticks[stat.parent.name] = int(fields[11]) + int(fields[12])  # utime + stime
                except (OSError, IndexError, ValueError):
                    continue
            time.sleep(0.05)

    def stop(self) -> float:
        self.running = False
        self.join()
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str], env: dict[str, str], database: str) -> tuple[float, float, int, str, float]:
    server = ServerCPU(database)
    server.start()
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - started
    server_cpu = server.stop()
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    # CPU seconds of the client process: steadier than wall time when others share the machine's cores
    cpu = sum(
        float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", result.stderr).group(1)) for kind in ("User", "System")
    )
    return wall, cpu, rss, result.stdout, server_cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpkg", type=Path, required=True)
    parser.add_argument("--db", default="sipanah_importspeed_bench")
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
    ogr_wall, ogr_cpu, ogr_rss, _out, ogr_server = timed(ogr_cmd, env, args.db)
    ogr_rows = subprocess.run(
        [*psql, "select count(*) from bench_ogr2ogr"], capture_output=True, text=True
    ).stdout.strip()

    subprocess.run([*psql, empty], check=True)
    ours_wall, ours_cpu, ours_rss, out, ours_server = timed(
        # --max-bytes: the 1M GeoPackage (~500 MB) is above the 200 MB default limit for uploads
        [PY, "manage.py", "import_assets", str(args.gpkg), "--max-bytes", str(args.gpkg.stat().st_size + 1)],
        env,
        args.db,
    )
    counts = subprocess.run(
        [*psql, "select count(*), count(kelurahan_id), count(luas_gis_m2) from assets_landasset"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run([*psql, "drop table if exists bench_ogr2ogr"], capture_output=True)

    tables = ["assets_landasset", "assets_historicallandasset", "assets_certificate", "assets_historicalcertificate",
              "assets_certificatestageevent"]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="sipanah-bench-") as tmp:
        load = Path(tmp) / "load.sql"
        for table in tables:
            subprocess.run([*psql, rf"\copy {table} to '{tmp}/{table}.copy'"], check=True)
        load.write_text("".join(rf"\copy {table} from '{tmp}/{table}.copy'" + "\n" for table in tables))
        floor_bytes = sum((Path(tmp) / f"{table}.copy").stat().st_size for table in tables)
        subprocess.run([*psql, empty], check=True)
        floor_wall, floor_cpu, floor_rss, _out, floor_server = timed([*psql[:-1], "-1", "-qAt", "-f", str(load)],
                                                                     env, args.db)  # fmt: skip
    floor_rows = subprocess.run([*psql, "select count(*) from assets_landasset"], capture_output=True, text=True)

    print(f"\nImport of {args.gpkg.name} into PostGIS ({args.db})\n")
    print("| arm | rows | wall s | client CPU s | server CPU s | features/s (wall) | peak RSS MB (client) |")
    print("|---|---|---|---|---|---|---|")
    rows = int(ogr_rows)
    peer = "ogr2ogr -f PostgreSQL, PG_USE_COPY=YES"
    print(
        f"| {peer} | {rows:,} | {ogr_wall:.1f} | {ogr_cpu:.1f} | {ogr_server:.1f} | {rows / ogr_wall:,.0f} | "
        f"{ogr_rss / 1024:.0f} |"
    )
    ours = int(counts.split("|")[0])
    print(
        f"| import_assets (validation, area, kelurahan, certificates, history) | {ours:,} | {ours_wall:.1f} | "
        f"{ours_cpu:.1f} | {ours_server:.1f} | {ours / ours_wall:,.0f} | {ours_rss / 1024:.0f} |"
    )
    print(
        f"| floor: the rows ours wrote ({floor_bytes / 1e6:.0f} MB in 5 tables), \\copy back in one transaction | "
        f"{int(floor_rows.stdout.strip()):,} | {floor_wall:.1f} | {floor_cpu:.1f} | {floor_server:.1f} | "
        f"{ours / floor_wall:,.0f} | {floor_rss / 1024:.0f} |"
    )
    ogr_total = ogr_cpu + ogr_server
    print(
        f"\nfloor / ogr2ogr: wall {floor_wall / ogr_wall:.1f}x, CPU {(floor_cpu + floor_server) / ogr_total:.1f}x; "
        f"ours / floor: wall {ours_wall / floor_wall:.1f}x, CPU "
        f"{(ours_cpu + ours_server) / (floor_cpu + floor_server):.1f}x"
    )
    print(
        f"ratio (ours / ogr2ogr): wall {ours_wall / ogr_wall:.1f}x, client + server CPU "
        f"{(ours_cpu + ours_server) / (ogr_cpu + ogr_server):.1f}x; load average at the end "
        f"{os.getloadavg()[0]:.1f} (2 cores); ours: rows, with kelurahan, with GIS area = {counts}"
    )
    print(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
