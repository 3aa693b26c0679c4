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

The certificate status and stage of an asset as of a date (rules.derive_certificate_status of its certificates as
of that date) are kept the same way, as spans of time per asset (``CertificateStatusSpan``, _spans_sql): the
certificate triggers recompute the spans of the assets a statement touches, after the intervals, so an as-of read
joins one span per asset instead of deriving the status from every certificate history row (a grouped scan of all
of them for the totals: the as-of totals of the demo register at 2.7x the live ones, issue 19).

The triggers cover every writer (simple_history's saves, bulk_create_with_history, the importer's COPY, raw SQL,
restores; tests that backdate history rows with an UPDATE): PostGIS with statement-level triggers and transition
tables (a COPY of 100k history rows costs one set-based statement per table), SpatiaLite with row-level triggers.
"""

# ruff: noqa: S608 - every statement here is built from this module's constants

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.db import DatabaseError, connections
from django.db.transaction import TransactionManagementError

from assets.lib import triggers
from assets.register import asof_totals
from assets.register.rules import certificate_code_sql, certificate_rank_sql

UNRECORDED = "assets_unrecordedrow"
SPANS = "assets_certificatestatusspan"
CERTIFICATES, CERTIFICATE_HISTORY = "assets_certificate", "assets_historicalcertificate"
ASSETS, ASSET_HISTORY = "assets_landasset", "assets_historicallandasset"
# The tables a bulk write of assets and certificates grows, one row or more per row written, and which the triggers
# here join against: their planner statistics are refreshed as such a write goes (assets.lib.planner.GrowingTables).
GROWN_BY_BULK_WRITES = (ASSETS, ASSET_HISTORY, CERTIFICATES, CERTIFICATE_HISTORY, UNRECORDED, SPANS, asof_totals.PIECES)
# The register's order on the asset history, and within an agency (as the live table's landasset_agency_order): an
# as-of page (the register list as of a date) walks it and stops after its rows, where the rows valid at the date
# were read and sorted for each page. Not in the historical model's state (django-simple-history writes its Meta):
# made here, so that on SpatiaLite ensure_triggers puts them back after a table rebuild as it does the triggers.
ORDER_INDEXES = {
    "assets_historicallandasset_register_order": "kode_barang, nomor_register, id",
    "assets_historicallandasset_agency_order": "agency_id, kode_barang, nomor_register, id",
}
# The columns of a live certificate a status span reads (while it has no history row)
SPAN_COLUMNS = ("asset_id", "stage", "nomor", "created_at")
# SpatiaLite, during a bulk write (deferred_recount): what its rows touched, one table per connection (TEMP): kind
# "asset" (pieces to recount), "span" (status spans and pieces to recount), "certificate" (its assets' spans too)
DEFERRED = "sipanah_asof_deferred"
_DEFERRING: weakref.WeakSet[Any] = weakref.WeakSet()  # the connections inside deferred_recount (nested: no-op)
# (live table, history table)
PAIRS = (
    ("assets_landasset", "assets_historicallandasset"),
    ("assets_certificate", "assets_historicalcertificate"),
)


def _listed(column: str, ids: str) -> str:
    """PostgreSQL: ``column`` is one of ``ids`` (a SELECT of a statement's transition rows), tested against the ids
    collected once into an array: each is then an index probe into the table, whatever the planner's statistics say
    of it. As a semi-join the plan followed them, and an import's batch of 10,000 was planned against tables whose
    statistics said empty (the unrecorded rows always look so between batches): nested loops of 10,000 x 10,000
    (7-8 s a batch)."""
    return f"{column} = ANY(ARRAY({ids}))"


def _postgis_recompute(hist: str, ids: str | None) -> str:
    """Set both interval columns of every history row of the objects ``ids`` (a SELECT of ids; None: all)."""
    where = f"WHERE {_listed('id', ids)}" if ids else ""
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
    where = f"AND {_listed('l.id', ids)}" if ids else ""
    insert = f"""
        INSERT INTO {UNRECORDED} ("table", row_id) SELECT '{live}', l.id FROM {live} l
        WHERE NOT EXISTS (SELECT 1 FROM {hist} h WHERE h.id = l.id) {where}
        ON CONFLICT DO NOTHING;"""
    if not ids:  # the fill: plain SQL, its own ANALYZE after
        return insert
    # In a trigger (plpgsql): the unrecorded rows live from a bulk insert of live rows to the insert of their history
    # rows, so the table's statistics, taken between writes, always say (nearly) empty. Many rows listed at once
    # are analyzed at once, so that the statements reading them next (the recount, and the history insert's delete
    # of them) are planned for their number: planned for one row, the delete after a 100,000-row COPY tested each
    # listed row against the whole array of new ids (37 s).
    return (
        insert
        + f"""
        GET DIAGNOSTICS {_LISTED} = ROW_COUNT;
        IF {_LISTED} >= {ANALYZE_UNRECORDED_AFTER} THEN ANALYZE {UNRECORDED}; END IF;"""
    )


_LISTED = "listed_now"  # the plpgsql variable of _unrecorded_insert
ANALYZE_UNRECORDED_AFTER = 1000  # rows listed by one statement (ANALYZE of the table: a few ms per 10,000 rows)


def _spans_sql(assets: str | None) -> list[str]:
    """Recompute the certificate status spans (CertificateStatusSpan) of the assets ``assets`` (a SELECT of asset ids;
    None: every asset), PostGIS and SQLite alike (no CTE: SQLite allows none in a trigger).

    Each certificate history row that is not a deletion is a piece: the certificate's state for the instants ``t``
    with ``s < t <= u`` (valid_at's rule: s its history_date, or the history_valid_from an earliest row stands in
    from; u its history_valid_until, NULL: no end); a live certificate without history is a piece from its
    created_at, with no end. The instants where some piece of an asset starts or ends cut its time into steps; a
    step lies inside a piece or outside it, and the step's status code and stage rank are the highest of the pieces
    it lies in. A step no piece covers is no span (no certificate: BELUM)."""
    only = f" AND {asof_totals.member('{r}.asset_id', assets)}" if assets is not None else ""
    start = "CASE WHEN h.history_valid_from < h.history_date THEN h.history_valid_from ELSE h.history_date END"
    pieces = (
        f"(SELECT h.asset_id, {start} AS s, h.history_valid_until AS u, {certificate_code_sql('h')} AS code, "
        f"{certificate_rank_sql('h')} AS rnk FROM {CERTIFICATE_HISTORY} h "
        f"WHERE h.history_type <> '-' AND h.asset_id IS NOT NULL{only.format(r='h')} "
        f"UNION ALL SELECT c.asset_id, c.created_at, NULL, {certificate_code_sql('c')}, {certificate_rank_sql('c')} "
        f"FROM {CERTIFICATES} c WHERE c.id IN (SELECT row_id FROM {UNRECORDED} WHERE \"table\" = '{CERTIFICATES}')"
        f"{only.format(r='c')})"
    )
    points = f"SELECT asset_id, s AS p FROM {pieces} a UNION SELECT asset_id, u FROM {pieces} b WHERE u IS NOT NULL"
    steps = f"SELECT asset_id, p AS lo, lead(p) OVER (PARTITION BY asset_id ORDER BY p) AS hi FROM ({points}) pt"
    # The pieces a step lies in, joined as the tables themselves through their asset_id indexes (not as the derived
    # table ``pieces``, which SQLite scanned for every step: N x N for N assets): the certificate history rows and
    # the live certificates without history; the highest of each, then the higher of the two.
    live = f"SELECT row_id FROM {UNRECORDED} WHERE \"table\" = '{CERTIFICATES}'"

    def higher(column: str) -> str:
        h, c = f"max(h.{column})", f"max(c.{column})"
        return f"CASE WHEN {c} IS NULL OR {h} >= {c} THEN {h} ELSE {c} END"

    return [
        f"DELETE FROM {SPANS}"
        + (f" WHERE {asof_totals.member('asset_id', assets)}" if assets is not None else "")
        + ";",
        f"INSERT INTO {SPANS} (asset_id, valid_from, valid_until, status_code, stage_rank) "
        f"SELECT st.asset_id, st.lo, st.hi, {higher('code')}, {higher('rnk')} FROM ({steps}) st "
        f"LEFT JOIN (SELECT h.asset_id, {start} AS s, h.history_valid_until AS u, {certificate_code_sql('h')} AS code, "
        f"{certificate_rank_sql('h')} AS rnk FROM {CERTIFICATE_HISTORY} h WHERE h.history_type <> '-'"
        f"{asof_totals.narrowed('h.asset_id', assets)}) h "
        "ON h.asset_id = st.asset_id AND h.s <= st.lo AND (h.u IS NULL OR h.u >= st.hi) "
        f"LEFT JOIN (SELECT c.asset_id, c.created_at AS s, {certificate_code_sql('c')} AS code, "
        f"{certificate_rank_sql('c')} AS rnk FROM {CERTIFICATES} c WHERE c.id IN ({live})"
        f"{asof_totals.narrowed('c.asset_id', assets)}) c "
        "ON c.asset_id = st.asset_id AND c.s <= st.lo "
        "WHERE h.asset_id IS NOT NULL OR c.asset_id IS NOT NULL GROUP BY st.asset_id, st.lo, st.hi;",
    ]


def _affected_assets(certificate_ids: str, rows: str) -> str:
    """The assets whose spans a change of the certificates ``certificate_ids`` may move (a SELECT of ids): those of
    every history row of the certificates, of their live rows, and of the changed rows ``rows`` (a SELECT of
    asset ids: the rows as they were, or are)."""
    return (
        f"SELECT asset_id FROM {CERTIFICATE_HISTORY} WHERE id IN ({certificate_ids}) "
        f"UNION SELECT asset_id FROM {CERTIFICATES} WHERE id IN ({certificate_ids}) UNION {rows}"
    )


def _postgis_spans(certificate_ids: str, rows: str) -> str:
    """plpgsql: the spans of the assets a statement's certificate rows touch, recomputed once (the set kept in the
    function's ``affected``, not recomputed by each of the statements that read it)."""
    statements = _spans_sql(asof_totals.AFFECTED) + asof_totals.refresh_sql(asof_totals.AFFECTED, True)
    touched = _affected_assets(certificate_ids, rows)
    return (
        f"\n        SELECT array_agg(DISTINCT asset_id) INTO affected FROM ({touched}) x WHERE asset_id IS NOT NULL;"
        "\n        IF affected IS NOT NULL THEN\n          " + "\n          ".join(statements) + "\n        END IF;"
    )


def _postgis_pieces(asset_ids: str) -> str:
    """plpgsql: the as-of pieces and day totals (assets.register.asof_totals) of the assets ``asset_ids``."""
    statements = asof_totals.refresh_sql(asof_totals.AFFECTED, True)
    return (
        f"\n        SELECT array_agg(DISTINCT x) INTO affected FROM ({asset_ids}) q(x) WHERE x IS NOT NULL;"
        "\n        IF affected IS NOT NULL THEN\n          " + "\n          ".join(statements) + "\n        END IF;"
    )


# Each run of a trigger's statements is planned for its own rows: plpgsql would otherwise switch to a generic plan
# after five runs, planned for an ``affected`` array of unknown length (10 rows), and an import's batches of 10,000
# then ran through nested loops made for 10 (8-11 s a batch instead of ~1 s). Planning costs a few ms per statement.
_CUSTOM_PLANS = "SET plan_cache_mode = force_custom_plan"


def _postgis_install(spans: bool = True) -> list[str]:
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
        DELETE FROM {UNRECORDED} WHERE "table" = '{live}' AND {_listed("row_id", "SELECT id FROM new_rows")};"""
            + _postgis_recompute(hist, "SELECT id FROM new_rows"),
            # the recompute's own UPDATE fires this trigger again: depth > 1 is that, and is skipped
            (hist, "update"): "\n        IF pg_trigger_depth() > 1 THEN RETURN NULL; END IF;"
            + _postgis_recompute(hist, changed),
            (hist, "delete"): _postgis_recompute(hist, "SELECT id FROM old_rows")
            + _unrecorded_insert(live, hist, "SELECT id FROM old_rows"),
            (live, "insert"): _unrecorded_insert(live, hist, "SELECT id FROM new_rows"),
            (live, "delete"): f"""
        DELETE FROM {UNRECORDED} WHERE "table" = '{live}' AND {_listed("row_id", "SELECT id FROM old_rows")};""",
        }
        if spans and live == CERTIFICATES:  # then the status spans of the assets the statement's certificate rows touch
            both = "SELECT id FROM new_rows UNION SELECT id FROM old_rows"
            both_assets = "SELECT asset_id FROM new_rows UNION SELECT asset_id FROM old_rows"
            bodies[(hist, "insert")] += _postgis_spans("SELECT id FROM new_rows", "SELECT asset_id FROM new_rows")
            bodies[(hist, "update")] += _postgis_spans(both, both_assets)
            bodies[(hist, "delete")] += _postgis_spans("SELECT id FROM old_rows", "SELECT asset_id FROM old_rows")
            bodies[(live, "insert")] += _postgis_spans("SELECT id FROM new_rows", "SELECT asset_id FROM new_rows")
            bodies[(live, "delete")] += _postgis_spans("SELECT id FROM old_rows", "SELECT asset_id FROM old_rows")
            # a live certificate without history counts as it is now: a change of what its piece reads moves spans
            unrecorded = f"SELECT row_id FROM {UNRECORDED} WHERE \"table\" = '{live}'"
            moved = (
                "FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE ("
                + " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in SPAN_COLUMNS)
                + f") AND n.id IN ({unrecorded})"
            )
            bodies[(live, "update")] = _postgis_spans(
                f"SELECT n.id {moved}", f"SELECT n.asset_id {moved} UNION SELECT o.asset_id {moved}"
            )
        if spans and live == ASSETS:  # then the as-of pieces and day totals of the assets the statement touches
            bodies[(hist, "insert")] += _postgis_pieces("SELECT id FROM new_rows")
            bodies[(hist, "update")] += _postgis_pieces("SELECT id FROM new_rows UNION SELECT id FROM old_rows")
            bodies[(hist, "delete")] += _postgis_pieces("SELECT id FROM old_rows")
            bodies[(live, "insert")] += _postgis_pieces("SELECT id FROM new_rows")
            bodies[(live, "delete")] += _postgis_pieces("SELECT id FROM old_rows")
            # a live asset without history counts as it is now: a change of what its piece reads moves its pieces
            listed = f"SELECT row_id FROM {UNRECORDED} WHERE \"table\" = '{live}'"
            moved = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in asof_totals.PIECE_COLUMNS)
            bodies[(live, "update")] = _postgis_pieces(
                f"SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE ({moved}) AND n.id IN ({listed})"
            )
        referencing = {
            "insert": "REFERENCING NEW TABLE AS new_rows",
            "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "delete": "REFERENCING OLD TABLE AS old_rows",
        }
        for (table, op), body in bodies.items():
            function = f"{table}_validity_{op}"
            variables = [
                f"{name} {kind};" for name, kind in (("affected", "bigint[]"), (_LISTED, "bigint")) if name in body
            ]
            declare = f"DECLARE {' '.join(variables)}\n" if variables else ""
            statements += [
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql {_CUSTOM_PLANS} AS $$\n"
                f"{declare}BEGIN{body}\n  RETURN NULL;\nEND $$",
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


# SpatiaLite: the rows each trigger's recount of pieces (the assets: a SELECT) and of status spans (the certificates:
# their ids, and a SELECT of the assets of the changed rows) starts from
_ASSET_ROWS = {
    f"{ASSET_HISTORY}_validity_insert": "SELECT NEW.id",
    f"{ASSET_HISTORY}_validity_update": "SELECT NEW.id UNION SELECT OLD.id",
    f"{ASSET_HISTORY}_validity_delete": "SELECT OLD.id",
    f"{ASSETS}_validity_insert": "SELECT NEW.id",
    f"{ASSETS}_validity_delete": "SELECT OLD.id",
    f"{ASSETS}_validity_update": "SELECT NEW.id",
}
_CERTIFICATE_ROWS = {
    f"{CERTIFICATE_HISTORY}_validity_insert": ("NEW.id", "SELECT NEW.asset_id"),
    f"{CERTIFICATE_HISTORY}_validity_update": ("NEW.id, OLD.id", "SELECT NEW.asset_id UNION SELECT OLD.asset_id"),
    f"{CERTIFICATE_HISTORY}_validity_delete": ("OLD.id", "SELECT OLD.asset_id"),
    f"{CERTIFICATES}_validity_insert": ("NEW.id", "SELECT NEW.asset_id"),
    f"{CERTIFICATES}_validity_delete": ("OLD.id", "SELECT OLD.asset_id"),
    f"{CERTIFICATES}_validity_update": ("NEW.id, OLD.id", "SELECT NEW.asset_id UNION SELECT OLD.asset_id"),
}


def _spatialite_triggers(spans: bool = True, *, deferred: bool = False) -> dict[str, tuple[str, str, str]]:
    """name: (table, event, body); an event naming its table ("... ON table FOR EACH ROW WHEN ...") is written as
    it is. ``deferred``: the triggers of a bulk write (:func:`deferred_recount`), which note the assets and
    certificates whose spans and pieces the row moves instead of recounting them."""
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
    if not spans:
        return triggers
    triggers[f"{ASSETS}_validity_update"] = (ASSETS, "", "")
    triggers[f"{CERTIFICATES}_validity_update"] = (CERTIFICATES, "", "")

    def note(kind: str, ids: str) -> str:
        return f"INSERT OR IGNORE INTO {DEFERRED} (kind, id) SELECT '{kind}', * FROM ({ids}); "

    def pieces(ids: str) -> str:  # the as-of pieces and day totals of the assets ``ids``
        return note("asset", ids) if deferred else " ".join(asof_totals.refresh_sql(ids, False))

    for name, ids in _ASSET_ROWS.items():
        table, event, body = triggers[name]
        triggers[name] = (table, event, f"{body} {pieces(ids)}".lstrip())
    # then the status spans of the assets each certificate row touches
    for name, (ids, rows) in _CERTIFICATE_ROWS.items():
        table, event, body = triggers[name]
        if deferred:
            body += note("certificate", "SELECT " + ids.replace(", ", " UNION SELECT ")) + note("span", rows)
        else:
            assets = _affected_assets(ids, rows)
            body += " ".join(_spans_sql(assets)) + " " + pieces(assets)
        triggers[name] = (table, event, body)
    table, event, body = triggers[f"{ASSET_HISTORY}_validity_update"]
    read = ", ".join(c for c in asof_totals.PIECE_COLUMNS if c != "created_at")
    triggers[f"{ASSET_HISTORY}_validity_update"] = (table, f"{event}, {read}", body)
    table, event, body = triggers[f"{CERTIFICATE_HISTORY}_validity_update"]
    triggers[f"{CERTIFICATE_HISTORY}_validity_update"] = (table, f"{event}, {', '.join(SPAN_COLUMNS[:-1])}", body)
    # a live row without history counts as it is now: a change of what its piece reads moves its pieces or spans
    for live, columns in ((ASSETS, asof_totals.PIECE_COLUMNS), (CERTIFICATES, SPAN_COLUMNS)):
        listed = f"SELECT row_id FROM {UNRECORDED} WHERE \"table\" = '{live}'"
        table, _event, body = triggers[f"{live}_validity_update"]
        event = f"UPDATE OF {', '.join(columns)} ON {live} FOR EACH ROW WHEN NEW.id IN ({listed})"
        triggers[f"{live}_validity_update"] = (table, event, body)
    return triggers


def _spatialite_create(name: str, trigger: tuple[str, str, str], *, temp: bool = False) -> str:
    table, event, body = trigger
    on = event if " ON " in event else f"{event} ON {table} FOR EACH ROW"
    return f"CREATE {'TEMP ' if temp else ''}TRIGGER {name} AFTER {on} BEGIN {body} END"


def _spatialite_install(spans: bool = True) -> list[str]:
    statements = []
    for name, trigger in _spatialite_triggers(spans).items():
        statements += [f"DROP TRIGGER IF EXISTS {name}", _spatialite_create(name, trigger)]
    return statements


def _fill(postgis: bool, spans: bool) -> list[str]:
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
    if not spans:
        return statements
    pieces = asof_totals.refresh_sql(None, postgis)
    return [*statements, *_spans_sql(None), *pieces, *(f"ANALYZE {t}" for t in (SPANS, asof_totals.PIECES))]


def _has_index(using: str, name: str) -> bool:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        else:
            cursor.execute("SELECT count(*) > 0 FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
        return bool(cursor.fetchone()[0])


def install(*, using: str = "default", fill: bool = True, spans: bool = True) -> None:
    """Create (or re-create) the triggers and, with fill, recompute every interval, the unrecorded rows and the status
    spans. ``spans=False``: without the status spans (migration 0020, before their table; 0022 undone)."""
    connection = connections[using]
    postgis = connection.vendor == "postgresql"
    statements = _postgis_install(spans) if postgis else _spatialite_install(spans)
    # the missing indexes only: PostgreSQL refuses even CREATE INDEX IF NOT EXISTS on a table with pending trigger
    # events (a test's transaction)
    for name, columns in ORDER_INDEXES.items() if spans else ():
        if not _has_index(using, name):
            statements.append(f"CREATE INDEX {name} ON assets_historicallandasset ({columns})")
    triggers.execute(statements + (_fill(postgis, spans) if fill else []), using=using)


def uninstall(*, using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for live, hist in PAIRS:
                for table, ops in ((hist, ("insert", "update", "delete")), (live, ("insert", "update", "delete"))):
                    for op in ops:
                        cursor.execute(f"DROP TRIGGER IF EXISTS {table}_validity_{op} ON {table}")
                        cursor.execute(f"DROP FUNCTION IF EXISTS {table}_validity_{op}()")
        else:
            for name in _spatialite_triggers():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        for name in ORDER_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


def ensure_triggers(*, using: str = "default", **_kwargs: Any) -> bool:
    """After migrate on SpatiaLite: a table rebuild (Django's SQLite ALTER) drops the triggers of the rebuilt table;
    put them back and recompute. True when they had to be repaired."""
    spans = _has_spans(using)  # migrated past 0025
    if not triggers.sqlite_triggers_lost(
        using=using, table=UNRECORDED, like="%_validity_%", expected=len(_spatialite_triggers(spans))
    ):
        return False
    install(using=using, spans=spans)
    return True


@contextmanager
def deferred_recount(*, using: str = "default") -> Iterator[None]:
    """A bulk write (an import, the demo generator) inside the caller's transaction. On SpatiaLite the row triggers
    recount an asset's status spans and as-of pieces for every row written (a few statements per row: a 6,000-parcel
    import 13x slower, holding the database's one write lock): here the rows only note what they touch (TEMP
    triggers of this connection, in place of the recounting ones), and one set-based recount of the noted assets
    runs at the end, before the transaction commits. Other connections never see the triggers missing: SQLite's
    DDL is transactional, and this transaction holds the write lock from its first write to its commit.
    PostgreSQL's statement-level triggers already recount once per statement: nothing to do there."""
    connection = connections[using]
    if connection.vendor != "sqlite" or connection in _DEFERRING or not _has_spans(using):
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("deferred_recount() runs inside a transaction (transaction.atomic)")
    recounting = _spatialite_triggers()
    noting = _spatialite_triggers(deferred=True)
    swap = [f"CREATE TEMP TABLE IF NOT EXISTS {DEFERRED} (kind TEXT NOT NULL, id INTEGER NOT NULL, "
            "PRIMARY KEY (kind, id)) WITHOUT ROWID", f"DELETE FROM {DEFERRED}"]  # fmt: skip
    for name in _swapped(noting, recounting):
        swap += [f"DROP TRIGGER {name}", _spatialite_create(f"{name}_deferred", noting[name], temp=True)]
    triggers.execute(swap, using=using)
    _DEFERRING.add(connection)
    spans = f"SELECT id FROM {DEFERRED} WHERE kind = 'span'"
    certificates = f"SELECT id FROM {DEFERRED} WHERE kind = 'certificate'"
    finish = [
        f"INSERT OR IGNORE INTO {DEFERRED} (kind, id) SELECT 'span', asset_id FROM "
        f"({_affected_assets(certificates, spans)})",
        *_spans_sql(spans),
        *asof_totals.refresh_sql(f"SELECT id FROM {DEFERRED} WHERE kind IN ('asset', 'span')", False),
        *_restore(noting, recounting),
    ]
    try:
        yield
    except BaseException:
        # The transaction is to roll back, DDL included; but were the error caught and the transaction committed,
        # what was written is recounted and the recounting triggers are back (where the database refuses, the
        # transaction is doomed and rolls back).
        with suppress(DatabaseError, TransactionManagementError):
            triggers.execute(finish, using=using)
        raise
    else:
        triggers.execute(finish, using=using)
    finally:
        _DEFERRING.discard(connection)


def _restore(noting: dict[str, tuple[str, str, str]], recounting: dict[str, tuple[str, str, str]]) -> list[str]:
    """The statements that put the recounting triggers back in place of deferred_recount's noting ones."""
    statements = []
    for name in _swapped(noting, recounting):
        statements += [f"DROP TRIGGER IF EXISTS temp.{name}_deferred", f"DROP TRIGGER IF EXISTS {name}",
                       _spatialite_create(name, recounting[name])]  # fmt: skip
    return [*statements, f"DELETE FROM {DEFERRED}"]


def _swapped(noting: dict[str, tuple[str, str, str]], recounting: dict[str, tuple[str, str, str]]) -> list[str]:
    """The triggers that recount spans or pieces (the others, the intervals' own, stay as they are)."""
    return [name for name, trigger in noting.items() if trigger != recounting[name]]


def _has_spans(using: str) -> bool:
    return SPANS in connections[using].introspection.table_names()
