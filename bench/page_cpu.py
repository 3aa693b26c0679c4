"""Server CPU per page, request by request: the Django process's CPU plus its PostgreSQL backend's, per URL.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/COPY .venv/bin/python bench/page_cpu.py [--user bpkad] URL...

The load test (bench/load/run.py) reports the server CPU per request of a whole mix, which is what counts but
mixes every page; this measures one page at a time in one process (Django's test client, signed in as ``--user``,
after one warm-up request): the median wall time, the process CPU and the PostgreSQL backend's CPU (read from
/proc for the connection's backend pid). CPU is far less disturbed than wall time by other jobs on the machine.
Run it from two checkouts against the same database copy to compare code (a same-run ratio).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())  # the checkout it runs from (to compare two checkouts on one database)
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")
os.environ.setdefault("SIPANAH_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402

from assets.models import User  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--user", default="bpkad")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=args.user))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    print(f"checkout {os.getcwd()}; load average {os.getloadavg()[0]:.1f}")
    print("| page | status | wall ms (median) | Django CPU ms | PostgreSQL CPU ms | total CPU ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for url in args.urls:
        client.get(url)  # warm-up: first use of the page's code, plans and caches
        walls = []
        cpu0, db0 = time.process_time(), backend_cpu_s(backend)
        for _ in range(args.repeat):
            reset_queries()
            start = time.perf_counter()
            response = client.get(url)
            walls.append((time.perf_counter() - start) * 1000)
        cpu = (time.process_time() - cpu0) * 1000 / args.repeat
        db = (backend_cpu_s(backend) - db0) * 1000 / args.repeat
        print(f"| `{url}` | {response.status_code} | {statistics.median(walls):.0f} | {cpu:.1f} | {db:.1f} | "
              f"{cpu + db:.1f} |")  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
