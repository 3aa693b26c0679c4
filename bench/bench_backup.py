"""Backup/restore benchmark: ``manage.py backup`` / ``restore`` vs ``pg_dump -Fc`` / ``pg_restore``, same run.

    .venv/bin/python bench/bench_backup.py --db sipanah_backup_bench [--spatialite]

``--db`` is a PostGIS register of its own (e.g. ``createdb -T sipanah_bench_100k sipanah_backup_bench``, or
``generate_demo_assets --count 100000`` into a new database); it is only read. Each restore goes into a new,
migrated database, dropped at the end. ``--spatialite`` adds the move across engines: the archive restored into a
new SpatiaLite file, and a backup of that file. Each arm runs as a child process under /usr/bin/time -v (wall
time, client CPU, peak RSS). pg_dump/pg_restore is the limit of what PostgreSQL itself does (binary, PostGIS only,
no checks of ours, no media); their restore also rebuilds the indexes, as ours does by inserting into indexed tables.
"""

# ruff: noqa: S603, S607 - a benchmark runs fixed local commands (pg_dump, psql, manage.py) on purpose
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
PG = ["-h", "127.0.0.1", "-U", "postgres"]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    cpu = sum(
        float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", result.stderr).group(1)) for kind in ("User", "System")
    )
    return wall, cpu, rss // 1024


def new_postgis(name: str, env: dict[str, str], *, migrate: bool) -> dict[str, str]:
    subprocess.run(["dropdb", *PG, "--if-exists", name], check=True)
    subprocess.run(["createdb", *PG, name], check=True)
    subprocess.run(["psql", *PG, "-d", name, "-qc", "CREATE EXTENSION postgis"], check=True)
    target = {**env, "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{name}"}
    if migrate:
        subprocess.run([PY, "manage.py", "migrate", "-v0"], env=target, check=True, cwd=ROOT)
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--spatialite", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    env = {
        **os.environ,
        "SIPANAH_DEBUG": "1",
        "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{args.db}",
        "SIPANAH_MEDIA_ROOT": str(work / "media-src"),
    }
    count = subprocess.run(
        ["psql", *PG, "-d", args.db, "-Atc", "SELECT count(*) FROM assets_landasset"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    rows: list[tuple[str, float, float, int, str]] = []
    archive = work / "register.zip"
    wall, cpu, rss = timed([PY, "manage.py", "backup", "-o", str(archive)], env)
    rows.append(("manage.py backup (PostGIS)", wall, cpu, rss, f"{archive.stat().st_size / 1e6:.0f} MB zip"))

    target_db = f"{args.db}_restore"
    target = new_postgis(target_db, env, migrate=True)
    target["SIPANAH_MEDIA_ROOT"] = str(work / "media-pg")
    wall, cpu, rss = timed([PY, "manage.py", "restore", str(archive)], target)
    rows.append(("manage.py restore (into empty PostGIS)", wall, cpu, rss, ""))

    dump = work / "register.dump"
    wall, cpu, rss = timed(["pg_dump", *PG, "-Fc", "-f", str(dump), args.db], env)
    rows.append(("pg_dump -Fc", wall, cpu, rss, f"{dump.stat().st_size / 1e6:.0f} MB"))
    peer_db = f"{args.db}_pgrestore"
    new_postgis(peer_db, env, migrate=False)
    wall, cpu, rss = timed(["pg_restore", *PG, "-d", peer_db, "--no-owner", str(dump)], env)
    rows.append(("pg_restore (into empty PostGIS)", wall, cpu, rss, ""))

    if args.spatialite:
        lite = {
            **env,
            "DATABASE_URL": f"spatialite:///{work / 'register.sqlite3'}",
            "SIPANAH_MEDIA_ROOT": str(work / "media-lite"),
        }
        subprocess.run([PY, "manage.py", "migrate", "-v0"], env=lite, check=True, cwd=ROOT)
        wall, cpu, rss = timed([PY, "manage.py", "restore", str(archive)], lite)
        size = (work / "register.sqlite3").stat().st_size / 1e6
        rows.append(("manage.py restore (PostGIS archive into empty SpatiaLite)", wall, cpu, rss, f"{size:.0f} MB db"))
        lite_archive = work / "from-spatialite.zip"
        wall, cpu, rss = timed([PY, "manage.py", "backup", "-o", str(lite_archive)], lite)
        size = lite_archive.stat().st_size / 1e6
        rows.append(("manage.py backup (SpatiaLite)", wall, cpu, rss, f"{size:.0f} MB zip"))

    for name in (target_db, peer_db):
        subprocess.run(["dropdb", *PG, "--if-exists", name], check=True)
    subprocess.run(["rm", "-rf", str(work)], check=True)
    print(f"\n{args.db}: {count} assets\n")
    print("| arm | wall s | client CPU s | peak RSS MB | size |")
    print("|---|---|---|---|---|")
    for name, wall, cpu, rss, size in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {rss} | {size} |")


if __name__ == "__main__":
    main()
