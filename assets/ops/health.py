"""Liveness of the parts of Sipanah that run on their own: the database and the background job worker.

The worker's heartbeat is a small file under MEDIA_ROOT rather than a database row or a cache key: the worker
and the web app always share MEDIA_ROOT (the worker reads the uploads from it), the default cache is per
process, and a write to the database while an import holds its transaction would wait on SQLite's lock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection


def worker_stale_seconds() -> float:
    """The worker touches the heartbeat at every poll (1 s) and at every progress step of an import; a quiet
    minute (``SIPANAH_WORKER_STALE_SECONDS``) means it is stopped, stuck or dead."""
    return float(settings.SIPANAH_WORKER_STALE_SECONDS)


def heartbeat_path() -> Path:
    return Path(settings.MEDIA_ROOT) / "worker.heartbeat"


def worker_beat() -> None:
    """Called by the worker: record that it is alive now (atomic replace, so readers never see half a file)."""
    path = heartbeat_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(f"{time.time():.3f} {os.getpid()}\n", encoding="utf-8")
    os.replace(partial, path)


def worker_status(now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    try:
        beat = float(heartbeat_path().read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return {"ok": False, "error": "no heartbeat: the worker (manage.py run_worker) has not run"}
    age, limit = max(0.0, now - beat), worker_stale_seconds()
    status: dict[str, Any] = {"ok": age <= limit, "last_heartbeat_seconds_ago": round(age, 1)}
    if not status["ok"]:
        status["error"] = f"no heartbeat for {age:.0f} s (limit {limit:.0f} s)"
    return status


def database_status() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The class name only: a driver's message can carry the host and user name.
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def status() -> dict[str, Any]:
    checks = {"database": database_status(), "worker": worker_status()}
    return {"ok": all(c["ok"] for c in checks.values()), **checks}
