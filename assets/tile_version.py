"""The register's write counter: the commit-ordered part of the tiles' ETag (assets.tiles.register_version).

A trigger on ``assets_landasset`` gives ``RegisterVersion.v`` a new value for every transaction that writes assets,
whatever writes (services, admin, COPY imports, raw SQL, ``QuerySet.update``), in the order the writers commit.
The newest history id alone could not do that: ids are handed out at insert, so two writers can commit in the
opposite order of their ids, and the second commit would leave the version as the first made it.

PostgreSQL: a constraint trigger deferred to COMMIT that bumps once per transaction, so the row lock that orders
the writers is held only while they commit (not for a whole import), and a COPY of 100k rows bumps once.
SpatiaLite: row triggers (SQLite has one writer at a time, so its writers commit in the order they bump). The value
starts from the clock in microseconds, so it never repeats, also after a restore or a flush emptied the table.
"""

# ruff: noqa: S608 - every statement here is built from this module's constants

from __future__ import annotations

from typing import Any

from django.db import connections

ASSETS = "assets_landasset"
VERSION_TABLE = "assets_registerversion"

# A new value for every transaction that writes assets, in commit order, never repeating (it starts from the clock
# in microseconds, also after the table was emptied by a restore or a flush).
_CLOCK_US = {
    "postgresql": "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)",
}


def _bump_sql(vendor: str) -> str:
    greatest = "greatest" if vendor == "postgresql" else "max"
    return (
        f"INSERT INTO {VERSION_TABLE} (id, v) VALUES (1, {_CLOCK_US[vendor]}) "
        f"ON CONFLICT (id) DO UPDATE SET v = {greatest}({VERSION_TABLE}.v + 1, excluded.v);"
    )


def _version_install(vendor: str) -> list[str]:
    if vendor == "postgresql":
        function = f"{VERSION_TABLE}_bump"
        return [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            "  IF current_setting('sipanah.register_bumped', true) = 'yes' THEN RETURN NULL; END IF;\n"
            f"  {_bump_sql(vendor)}\n"
            "  PERFORM set_config('sipanah.register_bumped', 'yes', true);\n"
            "  RETURN NULL;\n"
            "END $$",
            f"DROP TRIGGER IF EXISTS {function} ON {ASSETS}",
            f"CREATE CONSTRAINT TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON {ASSETS} "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {function}()",
            f"DROP TRIGGER IF EXISTS {function}_truncate ON {ASSETS}",
            f"CREATE TRIGGER {function}_truncate AFTER TRUNCATE ON {ASSETS} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    statements = []
    for op in ("insert", "update", "delete"):
        trigger = f"{VERSION_TABLE}_{op}"
        statements += [
            f"DROP TRIGGER IF EXISTS {trigger}",
            f"CREATE TRIGGER {trigger} AFTER {op.upper()} ON {ASSETS} FOR EACH ROW BEGIN {_bump_sql(vendor)} END",
        ]
    return statements


def install(*, using: str = "default", fill: bool = True) -> None:
    """Create (or re-create) the counter's triggers and, with fill, give it a new value."""
    connection = connections[using]
    with connection.cursor() as cursor:
        for sql in _version_install(connection.vendor) + ([_bump_sql(connection.vendor)] if fill else []):
            cursor.execute(sql)


def uninstall(*, using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {VERSION_TABLE}_bump ON {ASSETS}")
            cursor.execute(f"DROP TRIGGER IF EXISTS {VERSION_TABLE}_bump_truncate ON {ASSETS}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {VERSION_TABLE}_bump()")
        else:
            for op in ("insert", "update", "delete"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {VERSION_TABLE}_{op}")


def ensure_triggers(*, using: str = "default", **_kwargs: Any) -> bool:
    """After migrate on SpatiaLite: a table rebuild (Django's SQLite ALTER) drops the triggers of assets_landasset;
    put them back. True when they had to be repaired."""
    connection = connections[using]
    if connection.vendor != "sqlite" or VERSION_TABLE not in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [f"{VERSION_TABLE}_%"]
        )
        if cursor.fetchone()[0] == 3:
            return False
    install(using=using)
    return True


def current_sql() -> str:
    """SQL for the counter's value (0 before the first write)."""
    return f"coalesce((SELECT v FROM {VERSION_TABLE} WHERE id = 1), 0)"
