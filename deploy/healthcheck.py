#!/usr/bin/env python3
"""Container health checks of docker-compose.yml, without starting Django (a probe every 30 s must stay cheap).

    healthcheck.py web     GET /healthz from gunicorn; healthy when it answers and its database check is ok
                           (the worker has its own check: a stopped worker must not mark the web app unhealthy)
    healthcheck.py worker  the heartbeat file that /healthz reads (assets/health.py): MEDIA_ROOT/worker.heartbeat,
                           written by `manage.py run_worker` at every poll, stale after SIPANAH_WORKER_STALE_SECONDS

Exit status 0 when healthy, 1 otherwise, with the reason on stdout (`docker inspect` shows it).
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from pathlib import Path


def check_web() -> str | None:
    # /healthz is exempt from the https redirect; the Host header must be one Django accepts.
    host = (os.environ.get("SIPANAH_ALLOWED_HOSTS", "localhost").split(",")[0].strip() or "localhost").lstrip(".")
    bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
    port = int(bind.rsplit(":", 1)[1]) if ":" in bind else 8000
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/healthz", headers={"Host": host})
        response = connection.getresponse()
        body = response.read()
    except OSError as exc:
        return f"no answer from 127.0.0.1:{port}: {exc}"
    finally:
        connection.close()
    try:
        database = json.loads(body)["database"]
    except (ValueError, KeyError, TypeError):
        return f"/healthz answered {response.status} without a report: {body[:200]!r}"
    return None if database.get("ok") else f"database: {database.get('error', 'not ok')}"


def heartbeat_age(media_root: Path, now: float) -> float | None:
    try:
        return now - float((media_root / "worker.heartbeat").read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def check_worker(now: float | None = None) -> str | None:
    media_root = Path(os.environ.get("SIPANAH_MEDIA_ROOT", "/srv/sipanah/media"))
    stale = float(os.environ.get("SIPANAH_WORKER_STALE_SECONDS") or 60)
    age = heartbeat_age(media_root, time.time() if now is None else now)
    if age is None:
        return f"no heartbeat in {media_root}: the worker has not polled yet"
    return None if age <= stale else f"no heartbeat for {age:.0f} s (limit {stale:.0f} s)"


def main(argv: list[str]) -> int:
    checks = {"web": check_web, "worker": check_worker}
    if len(argv) != 2 or argv[1] not in checks:
        print(f"usage: {argv[0]} web|worker", file=sys.stderr)
        return 2
    problem = checks[argv[1]]()
    print(problem or "ok")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
