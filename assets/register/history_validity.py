"""The validity interval of every history row, and the live rows without history, kept by database triggers.

The register as of a day (assets.register.history, the as-of rule) is, for each asset and certificate, its latest
history row dated before the end of that day. Finding "the latest before" row by row (an anti-join per read) and
merging three sources in Python rebuilt the whole register for every as-of page (64 s for a page of 100 at 100k
parcels, issue 19). Instead each history row carries the interval in which it is its object's recorded state
(``HistoryValidity`` on both history tables), so "as of D" is one WHERE clause any queryset can filter, page, count
and sum:

- ``history_valid_until``: the history_date of the object's next history row (by history_date, then history_id),
  NULL for the newest;
- ``history_valid_from``: only on an object's first row when it is not a creation ("+"): the object was
  bulk-created without history and its earliest recorded state stands in from its created_at.

A live row with no history row at all (a plain bulk_create) is listed in ``assets_unrecordedrow`` from its insert
until its first history row, so an as-of read finds these few rows without comparing the live table with its
history.

The triggers cover every writer (simple_history's saves, bulk_create_with_history, the importer's COPY, raw SQL,
restores; tests that backdate history rows with an UPDATE): PostGIS with statement-level triggers and transition
tables (a COPY of 100k history rows costs one set-based statement per table), SpatiaLite with row-level triggers.
"""

# ruff: noqa: S608 - every statement here is built from this module's constants

from __future__ import annotations

from typing import Any

from django.db import connections

from assets.lib import triggers

UNRECORDED = "assets_unrecordedrow"
# (live table, history table)
PAIRS = (
    ("assets_landasset", "assets_historicallandasset"),
    ("assets_certificate", "assets_historicalcertificate"),
)


def _postgis_recompute(hist: str, ids: str | None) -> str:
    """Set both interval columns of every history row of the objects ``ids`` (a SELECT of ids; None: all)."""
    where = f"WHERE id IN ({ids})" if ids else ""
    return f"""
        UPDATE {hist} h SET history_valid_until = c.until, history_valid_from = c.since FROM (
          SELECT history_id, lead(history_date) OVER w AS until,
                 CASE WHEN row_number() OVER w = 1 AND history_type <> '+' THEN created_at END AS since
          FROM {hist} {where} WINDOW w AS (PARTITION BY id ORDER BY history_date, history_id)
        ) c
        WHERE h.history_id = c.history_id
          AND (h.history_valid_until IS DISTINCT FROM c.until OR h.history_valid_from IS DISTINCT FROM c.since);"""


def _unrecorded_insert(live: str, hist: str, ids: str | None) -> str:
    """List the live rows among ``ids`` (None: all) that have no history row."""
    where = f"AND l.id IN ({ids})" if ids else ""
    return f"""
        INSERT INTO {UNRECORDED} ("table", row_id) SELECT '{live}', l.id FROM {live} l
        WHERE NOT EXISTS (SELECT 1 FROM {hist} h WHERE h.id = l.id) {where}
        ON CONFLICT DO NOTHING;"""


def _postgis_install() -> list[str]:
    statements = []
    for live, hist in PAIRS:
        changed = (
            "SELECT n.id FROM new_rows n JOIN old_rows o ON o.history_id = n.history_id "
            "WHERE o.history_date IS DISTINCT FROM n.history_date OR o.history_type IS DISTINCT FROM n.history_type "
            "OR o.id IS DISTINCT FROM n.id OR o.created_at IS DISTINCT FROM n.created_at "
            "UNION SELECT o.id FROM new_rows n JOIN old_rows o ON o.history_id = n.history_id "
            "WHERE o.id IS DISTINCT FROM n.id"
        )
        bodies = {
            (hist, "insert"): f"""
        DELETE FROM {UNRECORDED} WHERE "table" = '{live}' AND row_id IN (SELECT id FROM new_rows);"""
            + _postgis_recompute(hist, "SELECT id FROM new_rows"),
            # the recompute's own UPDATE fires this trigger again: depth > 1 is that, and is skipped
            (hist, "update"): "\n        IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;"
            + _postgis_recompute(hist, changed),
            (hist, "delete"): _postgis_recompute(hist, "SELECT id FROM old_rows")
            + _unrecorded_insert(live, hist, "SELECT id FROM old_rows"),
            (live, "insert"): _unrecorded_insert(live, hist, "SELECT id FROM new_rows"),
            (live, "delete"): f"""
        DELETE FROM {UNRECORDED} WHERE "table" = '{live}' AND row_id IN (SELECT id FROM old_rows);""",
        }
        referencing = {
            "insert": "REFERENCING NEW TABLE AS new_rows",
            "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "delete": "REFERENCING OLD TABLE AS old_rows",
        }
        for (table, op), body in bodies.items():
            function = f"{table}_validity_{op}"
            statements += [
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN{body}\n  RETURN NULL;\nEND $$",
                f"DROP TRIGGER IF EXISTS {function} ON {table}",
                f"CREATE TRIGGER {function} AFTER {op.upper()} ON {table} {referencing[op]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
            ]
    return statements


def _spatialite_recompute(hist: str, object_id: str | None) -> str:
    where = f" WHERE {hist}.id = {object_id}" if object_id else ""
    return (
        f"UPDATE {hist} SET history_valid_until = (SELECT n.history_date FROM {hist} n WHERE n.id = {hist}.id AND "
        f"(n.history_date > {hist}.history_date OR (n.history_date = {hist}.history_date "
        f"AND n.history_id > {hist}.history_id)) ORDER BY n.history_date, n.history_id LIMIT 1), "
        f"history_valid_from = CASE WHEN {hist}.history_type <> '+' AND NOT EXISTS (SELECT 1 FROM {hist} e "
        f"WHERE e.id = {hist}.id AND (e.history_date < {hist}.history_date OR (e.history_date = {hist}.history_date "
        f"AND e.history_id < {hist}.history_id))) THEN {hist}.created_at END{where};"
    )


def _spatialite_unrecorded(live: str, hist: str, object_id: str) -> str:
    return (
        f"INSERT OR IGNORE INTO {UNRECORDED} (\"table\", row_id) SELECT '{live}', l.id FROM {live} l "
        f"WHERE l.id = {object_id} AND NOT EXISTS (SELECT 1 FROM {hist} h WHERE h.id = l.id);"
    )


def _spatialite_triggers() -> dict[str, tuple[str, str, str]]:
    """name: (table, event, body)."""
    triggers = {}
    for live, hist in PAIRS:
        triggers[f"{hist}_validity_insert"] = (
            hist,
            "INSERT",
            f"DELETE FROM {UNRECORDED} WHERE \"table\" = '{live}' AND row_id = NEW.id; "
            + _spatialite_recompute(hist, "NEW.id"),
        )
        triggers[f"{hist}_validity_update"] = (
            hist,
            "UPDATE OF history_date, history_type, id, created_at",
            _spatialite_recompute(hist, "NEW.id") + _spatialite_recompute(hist, "OLD.id"),
        )
        triggers[f"{hist}_validity_delete"] = (
            hist,
            "DELETE",
            _spatialite_recompute(hist, "OLD.id") + _spatialite_unrecorded(live, hist, "OLD.id"),
        )
        triggers[f"{live}_validity_insert"] = (live, "INSERT", _spatialite_unrecorded(live, hist, "NEW.id"))
        triggers[f"{live}_validity_delete"] = (
            live,
            "DELETE",
            f"DELETE FROM {UNRECORDED} WHERE \"table\" = '{live}' AND row_id = OLD.id;",
        )
    return triggers


def _spatialite_install() -> list[str]:
    statements = []
    for name, (table, event, body) in _spatialite_triggers().items():
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN {body} END",
        ]
    return statements


def _fill(postgis: bool) -> list[str]:
    statements = [f"DELETE FROM {UNRECORDED}"]
    for live, hist in PAIRS:
        statements.append(_postgis_recompute(hist, None) if postgis else _spatialite_recompute(hist, None))
        statements.append(
            _unrecorded_insert(live, hist, None)
            if postgis
            else _unrecorded_insert(live, hist, None).replace("ON CONFLICT DO NOTHING", "")
        )
        # the as-of reads filter on the new columns: their statistics now, not at autovacuum's next visit
        statements.append(f"ANALYZE {hist}")
    return statements


def install(*, using: str = "default", fill: bool = True) -> None:
    """Create (or re-create) the triggers and, with fill, recompute every interval and the unrecorded rows."""
    connection = connections[using]
    postgis = connection.vendor == "postgresql"
    statements = _postgis_install() if postgis else _spatialite_install()
    triggers.execute(statements + (_fill(postgis) if fill else []), using=using)


def uninstall(*, using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for live, hist in PAIRS:
                for table, ops in ((hist, ("insert", "update", "delete")), (live, ("insert", "delete"))):
                    for op in ops:
                        cursor.execute(f"DROP TRIGGER IF EXISTS {table}_validity_{op} ON {table}")
                        cursor.execute(f"DROP FUNCTION IF EXISTS {table}_validity_{op}()")
        else:
            for name in _spatialite_triggers():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def ensure_triggers(*, using: str = "default", **_kwargs: Any) -> bool:
    """After migrate on SpatiaLite: a table rebuild (Django's SQLite ALTER) drops the triggers of the rebuilt table;
    put them back and recompute. True when they had to be repaired."""
    if not triggers.sqlite_triggers_lost(
        using=using, table=UNRECORDED, like="%_validity_%", expected=len(_spatialite_triggers())
    ):
        return False
    install(using=using)
    return True
