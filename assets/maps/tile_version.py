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

from assets.lib import triggers

ASSETS = "assets_landasset"
HISTORY = "assets_historicallandasset"  # LandAsset.history's table (tests/maps/test_tiles.py checks the name)
VERSION_TABLE = "assets_registerversion"
VERSION_FUNCTION = "assets_register_version"  # PostgreSQL: the whole register version, see install_function

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
    if not triggers.sqlite_triggers_lost(using=using, table=VERSION_TABLE, like=f"{VERSION_TABLE}_%", expected=3):
        return False
    install(using=using)
    return True


def current_sql() -> str:
    """SQL for the counter's value (0 before the first write)."""
    return f"coalesce((SELECT v FROM {VERSION_TABLE} WHERE id = 1), 0)"


def version_sql() -> str:
    """SQL for the whole register version (assets.tiles.register_version): "<counter>-<history id>-<asset id>".

    The counter, then, for writes before migration 0005 and history-only changes that as-of tiles read, the newest
    history id and the newest asset id: index lookups (a count or max(updated_at) would scan the table: ~1.5 s at
    1M), spelled ORDER BY ... LIMIT 1 rather than max() (the same index scan, planned in 0.05 instead of 0.08 ms).
    """
    return (
        f"{current_sql()} || '-' || "
        f"coalesce((SELECT history_id FROM \"{HISTORY}\" ORDER BY history_id DESC LIMIT 1), 0) || '-' || "
        f'coalesce((SELECT id FROM "{ASSETS}" ORDER BY id DESC LIMIT 1), 0)'
    )


def read_sql(vendor: str) -> str:
    """What a statement selects to read the register version: on PostgreSQL the function, elsewhere the SQL."""
    return f"{VERSION_FUNCTION}()" if vendor == "postgresql" else version_sql()


def install_function(*, using: str = "default") -> None:
    """PostgreSQL: create (or replace) ``assets_register_version()``, returning version_sql() (migration 0006).

    Why a function rather than the SQL in each tile's statement (assets.tiles.versioned_tile):
    - PL/pgSQL keeps the plans of its three lookups for the connection's life. Planned inline in every tile
      statement they cost 0.07-0.15 ms of planning against ~0.02 ms of running: a tenth to a quarter of a
      whole small tile (bench/bench_maps.py at 10k).
    - STABLE: it reads the snapshot of the statement that calls it (PostgreSQL "Function Volatility Categories"),
      so the version and the tile selected beside it come from the same snapshot, as before.
    - PARALLEL UNSAFE (said explicitly): PostgreSQL plans no parallel worker for a statement that calls it ("When
      Can Parallel Query Be Used?"). Tiles want that (starting workers made z12/z14 tiles 3-4x slower), and
      used to send a SET LOCAL statement (and inside a transaction a savepoint) with every tile for it.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {VERSION_FUNCTION}() RETURNS text "
            "LANGUAGE plpgsql STABLE PARALLEL UNSAFE AS $$\n"
            f"BEGIN\n  RETURN {version_sql()};\nEND $$"
        )


def uninstall_function(*, using: str = "default") -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP FUNCTION IF EXISTS {VERSION_FUNCTION}()")
