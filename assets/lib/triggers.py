"""Database triggers that keep derived tables exact whatever writes (tile cells, register totals, history intervals,
the register version): running their statements, and noticing on SpatiaLite that a migration dropped them."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections


def execute(statements: Iterable[str], *, using: str = "default") -> None:
    """Run ``statements`` in order on one cursor of the ``using`` database."""
    with connections[using].cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def sqlite_triggers_lost(*, using: str, table: str, like: str, expected: int) -> bool:
    """True on SpatiaLite when ``table`` exists but the triggers named LIKE ``like`` are not the ``expected`` number:
    Django's SQLite ALTER rebuilds a table, which drops its triggers, so the caller installs them again."""
    connection = connections[using]
    if connection.vendor != "sqlite" or table not in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [like])
        return cursor.fetchone()[0] != expected
