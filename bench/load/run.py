"""Load test: 50 signed-in users for 60 s against gunicorn and PostGIS on this machine (bench/load/locustfile.py).

    .venv/bin/python bench/load/run.py [--template sipanah_bench_100k] [--users 50] [--seconds 60]
                                       [--workers 5] [--threads 4] [--warm 30] [--keep-db]
                                       [--cache-url redis://127.0.0.1:6379/12]

1. Copies the bench database (``createdb -T``, never writing to the template) to ``--db`` (sipanah_load), migrates
   it and creates the demo users (officer, auditor, planner, bpkad) there.
2. Collects the static files into a temporary directory and starts gunicorn with production settings
   (SIPANAH_DEBUG=0, a random secret key, whitenoise, persistent connections; SIPANAH_HTTPS=0 because it is plain
   HTTP on the loopback) from gunicorn.conf.py when it exists (GUNICORN_WORKERS / GUNICORN_THREADS), else flags.
3. Runs locust headless from its own virtualenv (var/bench-venv, bench/requirements-load.txt: locust and gevent
   never enter the app's requirements). Every user signs in first; the measured window starts when all are in.
   ``--warm S`` first runs the same scenario for S seconds against the same gunicorn (tile cache and database
   buffers warm); without it the tile cache is cold (fresh workers).
4. Prints per endpoint group: requests, throughput, p50, p95, max, errors; writes them with locust's CSV files
   to ``--out`` (default bench/out/load-<time>/); stops gunicorn and drops the copy (unless ``--keep-db``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import psycopg.sql

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV = ROOT / "var" / "bench-venv"
ORDER = [
    "register list",
    "asset detail",
    "home",
    "map page",
    "map totals",
    "tile z12",
    "tile z14",
    "tile z16",
    "tile z17",
    "map popup",
    "api bbox",
    "ogc bbox",
    "api aggregate",
    "spatial query",
    "static",
]


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, check=True, cwd=ROOT, **kwargs)  # noqa: S603 - fixed commands


def query(db: str, sql: str | psycopg.sql.Composed, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=db, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def column(db: str, sql: str, params: tuple = ()) -> list:
    return [row[0] for row in query(db, sql, params)]


def ensure_venv() -> Path:
    """The bench virtualenv with locust, built from bench/requirements-load.txt (rebuilt when that file changes)."""
    requirements = HERE.parent / "requirements-load.txt"
    stamp = VENV / ".requirements"
    locust = VENV / "bin" / "locust"
    if not locust.exists() or not stamp.exists() or stamp.read_text() != requirements.read_text():
        log(f"installing locust into {VENV}")
        python = getattr(sys, "_base_executable", None) or shutil.which("python3")
        run([python, "-m", "venv", str(VENV)])
        run([str(VENV / "bin" / "pip"), "install", "-q", "-r", str(requirements)])
        stamp.write_text(requirements.read_text())
    return locust


def drop_database(db: str) -> None:
    query("postgres", psycopg.sql.SQL("DROP DATABASE IF EXISTS {}").format(psycopg.sql.Identifier(db)))


def copy_database(template: str, db: str) -> None:
    if not column("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (template,)):
        sys.exit(f"The template database {template} does not exist.")
    if not column(template, "SELECT count(*) FROM assets_landasset")[0]:
        sys.exit(f"The template database {template} has no assets (is it still being generated?).")
    drop_database(db)
    create = psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        psycopg.sql.Identifier(db), psycopg.sql.Identifier(template)
    )
    for attempt in range(30):  # a template must have no other sessions (a benchmark may be reading it)
        try:
            query("postgres", create)
            return
        except psycopg.errors.ObjectInUse:
            log(f"{template} is in use; retrying ({attempt + 1}/30)")
            time.sleep(10)
    sys.exit(f"Could not copy {template}: it stayed in use.")


def app_env(args: argparse.Namespace, static_root: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgis://postgres@127.0.0.1:5432/{args.db}",
        SIPANAH_DEBUG="0",
        SIPANAH_SECRET_KEY=secrets.token_urlsafe(50),
        SIPANAH_HTTPS="0",  # plain HTTP on the loopback (production terminates TLS in front of gunicorn)
        SIPANAH_ALLOWED_HOSTS="127.0.0.1,localhost",
        SIPANAH_STATIC_ROOT=static_root,
        SIPANAH_CONN_MAX_AGE=str(args.conn_max_age),
        SIPANAH_LOG_LEVEL="WARNING",
        GUNICORN_WORKERS=str(args.workers),
        GUNICORN_THREADS=str(args.threads),
    )
    env.pop("SIPANAH_DEMO", None)
    if args.cache_url:  # a cache every worker shares (production's Redis): sessions, tiles and work counts once
        env["SIPANAH_CACHE_URL"] = args.cache_url
    else:
        env.pop("SIPANAH_CACHE_URL", None)
    return env


def scenario_data(db: str) -> dict:
    """What the users look at: the densest z14 tile (as bench/bench_maps.py), sample ids and codes."""
    [(x, y)] = query(
        db,
        """SELECT x, y FROM (
              SELECT floor(((ST_XMin(geom) + ST_XMax(geom)) / 2 + 180) / 360 * 16384)::int AS x,
                     floor((1 - ln(tan(radians((ST_YMin(geom) + ST_YMax(geom)) / 2))
                            + 1 / cos(radians((ST_YMin(geom) + ST_YMax(geom)) / 2))) / pi()) / 2 * 16384)::int AS y
              FROM assets_landasset WHERE geom IS NOT NULL AND removed_at IS NULL) t
            GROUP BY x, y ORDER BY count(*) DESC LIMIT 1""",
    )
    lon = (x + 0.5) / 16384 * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / 16384))))
    officer_agency = "1.01.01"  # assets.demo_users.DEMO_OFFICER_AGENCY

    return {
        "densest": [lon, lat],
        "densest_z14": [x, y],
        "city_center": [116.87, -1.20],  # settings.SIPANAH_CITY["center"], where /map/ opens at z12
        "asset_ids": column(
            db,
            "SELECT id FROM assets_landasset TABLESAMPLE SYSTEM (5) REPEATABLE (1) WHERE removed_at IS NULL LIMIT 3000",
        ),
        "officer_agency": officer_agency,
        "officer_asset_ids": column(
            db,
            "SELECT a.id FROM assets_landasset a JOIN assets_agency g ON g.id = a.agency_id "
            "WHERE g.code = %s AND a.removed_at IS NULL ORDER BY a.id LIMIT 2000",
            (officer_agency,),
        ),
        "agencies": column(db, "SELECT code FROM assets_agency ORDER BY code"),
        "kecamatan": column(db, "SELECT code FROM assets_administrativearea WHERE level = 'kecamatan' ORDER BY code"),
        "kelurahan": column(db, "SELECT code FROM assets_administrativearea WHERE level = 'kelurahan' ORDER BY code"),
        "words": ["Tanah", "Sekolah", "Puskesmas", "Jalan", "Kantor", "Taman", "Makam", "Pasar"],
    }


def start_gunicorn(args: argparse.Namespace, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    bind = f"127.0.0.1:{args.port}"
    conf = ROOT / "gunicorn.conf.py"
    if conf.exists():  # the deployment's own configuration (reads GUNICORN_WORKERS / GUNICORN_THREADS)
        cmd = [gunicorn, "-c", str(conf), "-b", bind]
    else:
        cmd = [gunicorn, "-w", str(args.workers), "--threads", str(args.threads), "-b", bind]
        cmd += ["--worker-class", "gthread" if args.threads > 1 else "sync", "--timeout", "60"]
    cmd += ["--access-logfile", "-" if args.access_log else "/dev/null", "sipanah.wsgi:application"]
    log("gunicorn: " + " ".join(cmd[1:]))
    handle = log_path.open("w")
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.time() + 90
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://{bind}/accounts/login/", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    server.terminate()
    sys.exit(f"gunicorn did not answer within 90 s; see {log_path}")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name: [0] state, [1] ppid, [11] utime, [12] stime, [13] cutime..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def server_cpu(master: int, db: str) -> dict[str, float]:
    """CPU seconds so far of gunicorn (master, its live workers and the ones it reaped) and of the PostgreSQL
    backends connected to the copy (parallel workers, which come and go, are not counted)."""
    gunicorn = 0.0
    fields = _proc_stat(master)
    gunicorn += sum(int(v) for v in fields[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _proc_stat(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == master:
                gunicorn += int(fields[11]) + int(fields[12])
    backends = {}
    for pid in column(db, "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (db,)):
        try:
            fields = _proc_stat(int(pid))
        except FileNotFoundError:
            continue
        backends[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    machine = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return {
        "gunicorn": gunicorn / CLOCK_TICKS,
        "backends": backends,
        "machine_busy": (sum(machine) - machine[3] - machine[4]) / CLOCK_TICKS,
        "machine_total": sum(machine) / CLOCK_TICKS,
    }


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    postgres = sum(v - before["backends"].get(pid, 0.0) for pid, v in after["backends"].items())
    total = after["machine_total"] - before["machine_total"]
    return {
        "gunicorn_s": after["gunicorn"] - before["gunicorn"],
        "postgres_s": postgres,
        "machine_busy_pct": 100 * (after["machine_busy"] - before["machine_busy"]) / total if total else 0.0,
    }


def run_locust(
    args: argparse.Namespace, locust: Path, out: Path, scenario: Path, seconds: float, tag: str, master: int
) -> dict:
    result = out / f"{tag}.json"
    markers = out / f"{tag}-markers"
    shutil.rmtree(markers, ignore_errors=True)
    markers.mkdir()
    cmd = [
        str(locust),
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{int(seconds) + 300}s",  # a safety net: the locustfile stops itself after the measured window
        "--host",
        f"http://127.0.0.1:{args.port}",
        "--csv",
        str(out / tag),
        "--scenario",
        str(scenario),
        "--measure-seconds",
        str(seconds),
        "--result",
        str(result),
        "--marker-dir",
        str(markers),
    ]
    before = os.times()
    samples: dict[str, dict] = {}
    with (out / f"{tag}.log").open("w") as handle:
        locust_run = subprocess.Popen(cmd, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)  # noqa: S603
        while locust_run.poll() is None or len(samples) < 2:
            for name in ("window-open", "window-closed"):
                if name not in samples and (markers / name).exists():
                    samples[name] = server_cpu(master, args.db)
            if locust_run.poll() is not None:
                break
            time.sleep(0.1)
    after = os.times()
    if not result.exists():
        sys.exit(f"locust wrote no result (exit {locust_run.returncode}); see {out / f'{tag}.log'}")
    data = json.loads(result.read_text())
    data["locust_cpu_s"] = after.children_user + after.children_system - before.children_user - before.children_system
    if len(samples) == 2:
        data["cpu"] = cpu_used(samples["window-open"], samples["window-closed"])
    return data


def format_table(data: dict) -> str:
    seconds = data["measured_seconds"] or 1
    rows = {r["name"]: r for r in data["rows"]}
    names = [n for n in ORDER if n in rows] + sorted(n for n in rows if n not in ORDER and not n.startswith("login"))
    lines = [
        "| group | requests | req/s | p50 ms | p95 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in [*names, None]:
        r = data["total"] if name is None else rows[name]
        label = "**total**" if name is None else name
        lines.append(
            f"| {label} | {r['requests']:,} | {r['requests'] / seconds:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} "
            f"| {r['max_ms']:.0f} | {r['failures']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", default="sipanah_bench_100k", help="bench database to copy (read only)")
    parser.add_argument("--db", default="sipanah_load", help="the copy (dropped and created again)")
    parser.add_argument("--reuse-db", action="store_true", help="use --db as it is (made by an earlier --keep-db)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the copy at the end")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=60, help="measured window, after every user signed in")
    parser.add_argument("--warm", type=float, default=0, help="warm-up run of this many seconds first (0: cold)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn worker processes (GUNICORN_WORKERS; default as gunicorn.conf.py: 2 x cores + 1)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (GUNICORN_THREADS)")
    parser.add_argument("--conn-max-age", type=int, default=600, help="SIPANAH_CONN_MAX_AGE (persistent connections)")
    parser.add_argument(
        "--cache-url",
        default="",
        help="SIPANAH_CACHE_URL for gunicorn, e.g. redis://127.0.0.1:6379/12 (default: each worker's own memory)",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--access-log", action="store_true", help="gunicorn access log into gunicorn.log")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default bench/out/load-<time>)")
    args = parser.parse_args()

    out = args.out or ROOT / "bench" / "out" / f"load-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    locust = ensure_venv()
    if not args.reuse_db:
        log(f"copying {args.template} to {args.db}")
        copy_database(args.template, args.db)
    static_root = tempfile.mkdtemp(prefix="sipanah-load-static-")
    env = app_env(args, static_root)
    manage = [str(ROOT / ".venv" / "bin" / "python"), "manage.py"]
    run([*manage, "migrate", "--noinput", "-v", "0"], env=env)
    # A copy of a template carries its planner statistics: none when the template was never analyzed (the grid
    # register was imported before the importer analyzed after itself), as autovacuum would have soon after.
    query(args.db, "ANALYZE")
    run([*manage, "create_demo_users"], env={**env, "SIPANAH_DEMO": "1"}, stdout=subprocess.DEVNULL)
    run([*manage, "collectstatic", "--noinput", "-v", "0"], env=env)
    assets = column(args.db, "SELECT count(*) FROM assets_landasset")[0]
    scenario = out / "scenario.json"
    scenario.write_text(json.dumps(scenario_data(args.db)))

    server = start_gunicorn(args, env, out / "gunicorn.log")
    try:
        if args.warm:
            log(f"warm-up: {args.warm:.0f} s of the same scenario (discarded)")
            run_locust(args, locust, out, scenario, args.warm, "warmup", server.pid)
        load_before = os.getloadavg()
        log(f"measuring: {args.users} users, {args.seconds:.0f} s after every sign-in")
        data = run_locust(args, locust, out, scenario, args.seconds, "locust", server.pid)
        load_after = os.getloadavg()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(static_root, ignore_errors=True)
        if not args.keep_db:
            drop_database(args.db)

    if not data["gate_opened"]:
        sys.exit(f"Not every user signed in, so the measured window never opened; see {out}")
    total = data["total"]
    seconds = data["measured_seconds"]
    cache = f"warm ({args.warm:.0f} s warm-up run)" if args.warm else "cold (fresh workers, empty tile cache)"
    header = [
        f"database: copy of {args.template} ({assets:,} assets), PostGIS on 127.0.0.1",
        f"gunicorn: {args.workers} workers x {args.threads} threads, CONN_MAX_AGE={args.conn_max_age}; "
        f"tile cache: {cache}; cache: {args.cache_url or 'per worker (local memory)'}",
        f"users: {data['users']} (signed in: {data['login']['count']}, failed: {data['login']['failures']}; "
        f"sign-in p50 {data['login']['p50_ms']:.0f} ms, max {data['login']['max_ms']:.0f} ms, before the window)",
        f"measured: {seconds:.1f} s; load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f}; "
        f"locust client CPU: {data['locust_cpu_s']:.1f} s",
    ]
    if "cpu" in data:
        cpu = data["cpu"]
        per_request = 1000 * (cpu["gunicorn_s"] + cpu["postgres_s"]) / max(total["requests"], 1)
        header.append(
            f"server CPU in the window: gunicorn {cpu['gunicorn_s']:.1f} s + PostgreSQL backends "
            f"{cpu['postgres_s']:.1f} s = {per_request:.1f} ms per request; whole machine busy "
            f"{cpu['machine_busy_pct']:.0f} % (other jobs included)"
        )
    table = format_table(data)
    verdict = (
        f"throughput {total['requests'] / (seconds or 1):.1f} req/s, p50 {total['p50_ms']:.0f} ms, "
        f"p95 {total['p95_ms']:.0f} ms, errors {total['failures']} — target (0 errors, p95 <= 300 ms) "
        + ("MET" if total["failures"] == 0 == data["login"]["failures"] and total["p95_ms"] <= 300 else "NOT MET")
    )
    report = "\n".join([*header, "", table, "", verdict])
    if data["errors"]:
        report += "\n\nerrors:\n" + "\n".join(
            f"  {e['occurrences']} x {e['method']} {e['name']}: {e['error']}" for e in data["errors"]
        )
    (out / "report.md").write_text(report + "\n")
    print(report)
    print(f"\n(files: {out})")


if __name__ == "__main__":
    main()
