"""Signed-in vector tiles over HTTP vs tipg on the same table, and vs the tile's own SQL (PostGIS).

    .venv/bin/python bench/bench_tiles_http.py --template sipanah_bench_100k [--reps 5] [--workers 2]
                                               [--cache-url redis://127.0.0.1:6379/7] [--tipg-venv /tmp/h6peers]

1. Copies the template (``createdb -T``) to ``--db`` and migrates it; creates an auditor and signs it in (a real
   session row, and in Redis when ``--cache-url`` is given, as a deployment with SIPANAH_CACHE_URL has it).
2. Starts Sipanah on gunicorn (gunicorn.conf.py, ``--workers`` processes, production settings as bench/load/run.py)
   and tipg 1.6 on uvicorn (``--workers`` processes, from its own virtualenv: bench/run_peers.sh installs it) on the
   same copy.
3. For z12 to z17, the 3 x 3 tiles around the densest z14 tile, each round every tile through every arm (the order
   rotated per round), one keep-alive HTTP connection per arm, one request at a time:
   - "sipanah": GET /tiles/assets/z/x/y.pbf with the session cookie: everything a browser's request does (session,
     user and roles, permission, ETag, the tile); no If-None-Match, so the tile is built (z <= 13: Sipanah's own
     tile cache, as for every visitor after the first; see the note printed);
   - "tipg": GET /collections/public.assets_landasset/tiles/WebMercatorQuad/z/x/y with the same four properties
     (id, status, stage, dispute flag), no authentication (tipg has none);
   - "raw": the statement Sipanah's view sends (tiles.postgis_tile_sql + the register version), on a psycopg
     connection in this process: the floor of any server building this tile.
   Prints p50/p95 per zoom and arm, tipg / Sipanah (paired per tile and round), and the server CPU of each server
   per request (its processes' CPU + its PostgreSQL backends' CPU over the arm's requests).
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_maps import pct, tiles_around  # noqa: E402
from bench.load.run import (  # noqa: E402
    _proc_stat,
    app_env,
    column,
    copy_database,
    drop_database,
    log,
    run,
    start_gunicorn,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TIPG_PROPERTIES = "id,status_sertifikat,tahap_sertifikat,bermasalah"


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children."""
    total = 0.0
    fields = _proc_stat(pid)
    total += sum(int(v) for v in fields[11:13])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _proc_stat(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def backends_cpu(db: str, exclude: set[int]) -> dict[str, float]:
    """CPU seconds of the PostgreSQL backends connected to db, per server: "tipg" (its application_name) or
    "sipanah" (the rest but ``exclude``, this process's own connections)."""
    out = {"sipanah": 0.0, "tipg": 0.0}
    rows = column(
        db,
        "SELECT pid || '|' || application_name FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (db,),
    )
    for row in rows:
        pid, name = row.split("|", 1)
        if int(pid) in exclude:
            continue
        try:
            fields = _proc_stat(int(pid))
        except (FileNotFoundError, ProcessLookupError):
            continue
        out["tipg" if name.startswith("tipg") else "sipanah"] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def start_tipg(venv: Path, db: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{db}?application_name=tipg",
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.assets_landasset"]',
        "TIPG_DB_SPATIAL_EXTENT": "false",
        "TIPG_DB_DATETIME_EXTENT": "false",
        # the register's geometry: the table also has geom_3857, the copy PostgreSQL keeps for Sipanah's tiles
        # (assets.maps.tile_geometry); tipg takes the first geometry column unless told
        "TIPG_TABLE_CONFIG__public_assets_landasset__geomcol": "geom",
    }
    cmd = [str(venv / "bin/uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(cmd, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.time() + 90
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"tipg exited with {server.returncode}; see {log_path}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/collections/public.assets_landasset")
            if connection.getresponse().status == 200:
                return server
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    server.terminate()
    sys.exit(f"tipg did not answer within 90 s; see {log_path}")


class Arm:
    def __init__(self, port: int, path: str, headers: dict[str, str]):
        self.port, self.path, self.headers = port, path, headers
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def __call__(self, z: int, x: int, y: int) -> bytes:
        self.connection.request("GET", self.path.format(z=z, x=x, y=y), headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status not in (200, 204):
            raise SystemExit(f"{self.path.format(z=z, x=x, y=y)} on :{self.port} answered {response.status}")
        return data


def sign_in(db: str, secret: str, cache_url: str | None) -> str:
    """An auditor signed in through Django's own login(): the session cookie a browser would send."""
    os.environ.update(
        DATABASE_URL=f"postgis://postgres@127.0.0.1:5432/{db}",
        SIPANAH_SECRET_KEY=secret,
        SIPANAH_DEBUG="0",
        SIPANAH_HTTPS="0",
        SIPANAH_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SETTINGS_MODULE="sipanah.settings",
    )
    if cache_url:
        os.environ["SIPANAH_CACHE_URL"] = cache_url
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.test import Client

    from assets.models import User
    from assets.register import permissions

    permissions.ensure_role_groups()
    user, _ = User.objects.get_or_create(username="bench-tiles")
    user.groups.add(Group.objects.get(name=permissions.AUDITOR))
    client = Client()
    client.force_login(user, backend="assets.register.permissions.RoleBackend")
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", required=True)
    parser.add_argument("--db", default="sipanah_tiles_http_bench")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8041)
    parser.add_argument("--tipg-port", type=int, default=8042)
    parser.add_argument("--tipg-venv", type=Path, default=Path(os.environ.get("PEERS_VENV", "/tmp/h6peers")))  # noqa: S108 - run_peers.sh default
    parser.add_argument("--cache-url", default=None, help="SIPANAH_CACHE_URL for Sipanah (e.g. redis://…/7)")
    parser.add_argument("--conn-max-age", type=int, default=600)
    parser.add_argument("--access-log", action="store_true")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--zooms", default="12,13,14,15,16,17")
    args = parser.parse_args()
    if not (args.tipg_venv / "bin/uvicorn").exists():
        sys.exit(f"no tipg in {args.tipg_venv}: run bash bench/run_peers.sh once (it installs it), or --tipg-venv")
    copy_database(args.template, args.db)
    secret = secrets.token_urlsafe(50)
    servers: list[subprocess.Popen] = []
    arms: dict = {}
    try:
        env_db = {"DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{args.db}", "SIPANAH_DEBUG": "1"}
        run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "--noinput", "-v", "0"],
            env={**os.environ, **env_db},
        )
        count = column(args.db, "SELECT count(*) FROM assets_landasset WHERE removed_at IS NULL")[0]
        cookie = sign_in(args.db, secret, args.cache_url)
        work = Path(tempfile.mkdtemp(prefix="sipanah-tiles-http-"))
        env = app_env(args, str(work / "static"))
        env["SIPANAH_SECRET_KEY"] = secret
        if args.cache_url:
            env["SIPANAH_CACHE_URL"] = args.cache_url
        run([str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput", "-v", "0"], env=env)
        sipanah = start_gunicorn(args, env, work / "gunicorn.log")
        servers.append(sipanah)
        tipg = start_tipg(args.tipg_venv, args.db, args.tipg_port, args.workers, work / "tipg.log")
        servers.append(tipg)
        log(f"servers: gunicorn {sipanah.pid}, tipg {tipg.pid}; logs in {work}")

        import psycopg

        from assets.maps import tile_version, tiles
        from bench.bench_maps import densest_z14

        raw = psycopg.connect(
            f"host=127.0.0.1 user=postgres dbname={args.db}", autocommit=True, cursor_factory=psycopg.ClientCursor
        )
        raw.execute("SET max_parallel_workers_per_gather = 0")

        def floor(z: int, x: int, y: int) -> bytes:
            sql, params = tiles.postgis_tile_sql(None, z=z, x=x, y=y)
            with raw.cursor() as cursor:
                cursor.execute(f"SELECT {tile_version.VERSION_FUNCTION}(), ({sql})", params)  # noqa: S608
                return bytes(cursor.fetchone()[1] or b"")

        arms = {
            "sipanah": Arm(args.port, "/tiles/assets/{z}/{x}/{y}.pbf", {"Cookie": f"sessionid={cookie}"}),
            "tipg": Arm(
                args.tipg_port,
                "/collections/public.assets_landasset/tiles/WebMercatorQuad/{z}/{x}/{y}"
                f"?properties={TIPG_PROPERTIES}",
                {},
            ),
            "raw": floor,
        }
        x14, y14 = densest_z14()
        from django.db import connections

        connections.close_all()  # this process's Django connection: not one of the servers'
        rows = []
        for z in [int(v) for v in args.zooms.split(",")]:
            coords = tiles_around(x14, y14, z)
            times: dict[str, list[float]] = {name: [] for name in arms}
            sizes: dict[str, list[int]] = {name: [] for name in arms}
            for _z, x, y in coords:  # warm: buffers, code paths, every worker's connection
                for _ in range(args.workers * 2):
                    for arm in arms.values():
                        arm(z, x, y)

            def server_cpu() -> dict[str, float]:
                pg = backends_cpu(args.db, {raw.info.backend_pid})
                return {"sipanah": tree_cpu(sipanah.pid) + pg["sipanah"], "tipg": tree_cpu(tipg.pid) + pg["tipg"]}

            cpu_before = server_cpu()
            order = list(arms)
            for rep in range(args.reps):
                for _z, x, y in coords:
                    for name in order[rep % len(order) :] + order[: rep % len(order)]:
                        t0 = time.perf_counter()
                        data = arms[name](z, x, y)
                        times[name].append((time.perf_counter() - t0) * 1000)
                        sizes[name].append(len(data))
            cpu_after = server_cpu()
            cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
            n = len(times["raw"])
            row = {"z": z, "n": n}
            for name, values in times.items():
                row[f"{name}_p50"], row[f"{name}_p95"] = pct(values, 0.5), pct(values, 0.95)
                row[f"{name}_kb"] = max(sizes[name]) / 1024
            row["paired"] = pct([t / s for t, s in zip(times["tipg"], times["sipanah"], strict=True)], 0.5)
            row["over_raw"] = pct([s - r for s, r in zip(times["sipanah"], times["raw"], strict=True)], 0.5)
            row["cpu_sipanah"] = cpu["sipanah"] / n * 1000
            row["cpu_tipg"] = cpu["tipg"] / n * 1000
            rows.append(row)
        raw.close()
        load = os.getloadavg()
        print(
            f"\nSigned-in tiles over HTTP vs tipg, PostGIS, {count:,} parcels, {args.workers} workers each, "
            f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, "
            f"Sipanah cache {'Redis' if args.cache_url else 'per process'}\n"
        )
        print(
            "| z | tiles x rounds | Sipanah p50 / p95 ms | tipg p50 / p95 ms | raw SQL p50 / p95 ms "
            "| tipg / Sipanah p50 (paired) | Sipanah − raw p50 ms (paired) | max KB Sipanah / tipg "
            "| server CPU ms per tile Sipanah / tipg |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['z']} | 9 x {r['n'] // 9} | {r['sipanah_p50']:.1f} / {r['sipanah_p95']:.1f} "
                f"| {r['tipg_p50']:.1f} / {r['tipg_p95']:.1f} | {r['raw_p50']:.1f} / {r['raw_p95']:.1f} "
                f"| {r['tipg_p50'] / r['sipanah_p50']:.2f} ({r['paired']:.2f}) | {r['over_raw']:.1f} "
                f"| {r['sipanah_kb']:.1f} / {r['tipg_kb']:.1f} | {r['cpu_sipanah']:.2f} / {r['cpu_tipg']:.2f} |"
            )
        print(
            "\nz <= 13: Sipanah serves its aggregate tiles from its tile cache while the register's version is "
            "unchanged (every round after the first); tipg builds every tile, with every polygon."
        )
    finally:
        for arm in arms.values():
            if isinstance(arm, Arm):
                arm.connection.close()  # an open keep-alive connection holds gunicorn's graceful stop
        for server in servers:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        if not args.keep_db:
            log(f"dropping {args.db}")
            try:
                from django.db import connections

                connections.close_all()
            except ImportError:
                pass
            drop_database(args.db)


if __name__ == "__main__":
    main()
