"""Helpers of the tests that run Sipanah in other processes (a worker, a server, an import) against the test
database: waiting for a condition with a timeout, and the database as those processes see it."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection

from assets.models import ImportJob


def wait_for(condition: Any, what: str, timeout: float = 90.0) -> Any:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds (no blind sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class WorkerDatabase:
    """The test database as a worker process sees it. PostGIS: the test database itself. SpatiaLite: the test
    database is in memory, so it is copied to a file for the worker and copied back to be checked."""

    def __init__(self, folder: Path) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self.file = folder / "worker.sqlite3"

    def url(self) -> str:
        db = settings.DATABASES[DEFAULT_DB_ALIAS]
        if self.sqlite:
            return f"spatialite:///{self.file}"
        user = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db.get("PASSWORD") else "")
        return f"postgis://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"

    def push(self) -> None:
        if self.sqlite:
            connection.ensure_connection()
            target = sqlite3.connect(self.file)
            connection.connection.backup(target)
            target.execute("PRAGMA journal_mode=WAL")  # as settings make every Sipanah database on SpatiaLite
            target.close()

    def pull(self) -> None:
        """On SpatiaLite, opening the file also rolls back what a killed writer left in its journal."""
        if self.sqlite:
            connection.ensure_connection()
            source = sqlite3.connect(self.file, timeout=30)
            source.backup(connection.connection)
            source.close()

    def job_status(self, pk: int) -> str:
        if not self.sqlite:
            return ImportJob.objects.values_list("status", flat=True).get(pk=pk)
        source = sqlite3.connect(self.file, timeout=30)
        try:
            return source.execute("SELECT status FROM assets_importjob WHERE id = ?", [pk]).fetchone()[0]
        finally:
            source.close()
