"""Replicate a demo register N times in SQL: the demo workload at 1M without running the generator for an hour.

Used by ``bench/build_1m.py demo`` (see its docstring); importable on its own::

    replicate(conn, copies=10)

Every parcel is shrunk to a quarter of its size about the centre of its bounding box and placed in one of the
cells of a 4 x 4 grid laid over that box: copy k (0..copies-1, at most 16) in cell (k mod 4, k div 4). The demo
generator puts each parcel in its own grid cell, bounding box inside the cell, so the copies never overlap each
other or another parcel, and they stay where the parcel was (same kelurahan, same kecamatan): the register has
``copies`` times the parcels on the same city, as the generator's own 1M register has (smaller parcels, ten times
denser). Areas (GIS, KIB, certificate, case and agreement parts) are divided by 16 to match; values are kept.

Copied with every row that hangs off a parcel: history rows (history ids offset, dates and validity intervals
kept: the triggers recompute the same intervals), certificates and their history and stage events, dispute cases
with their parcels, stage events and history, pemanfaatan agreements and payments with their history, documents
and custody events when the demo has them. Ids are offset by copy (``id + k * max(id)``), register numbers by
copy within their kode barang, NIBAR by copy within the demo's sequence. Copy 0 is the source itself, updated
in place (geometry and areas) after the other copies are written from a snapshot of it. The database's triggers
keep the tile cells, the register totals and version, and the history intervals as the generator's inserts do.
"""

# ruff: noqa: S608 - SQL built from the database's own column names and integer offsets
from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

# table -> (the column that names the parcel whose box places the row's geometry, or None) and column overrides.
# Overrides are SQL over ``s`` (the source row), ``m`` (the parcel's box: x0, y0, w, h) and the offsets {off[...]}.
AREA = "round(s.{c} / 16, 2)"
GEOM = "CASE WHEN s.geom IS NULL OR m.id IS NULL THEN s.geom ELSE {f} END"


def _f(k: int) -> str:
    """The affine map of copy k: a quarter of the size, centred on sub-cell (k mod 4, k div 4) of the box."""
    px, py = k % 4, k // 4
    return (
        "ST_Translate(ST_Scale(ST_Translate(s.geom, -(m.x0 + m.w / 2), -(m.y0 + m.h / 2)), 0.25, 0.25), "
        f"m.x0 + {px + 0.5} * m.w / 4, m.y0 + {py + 0.5} * m.h / 4)"
    )


CASE_PARCEL = "(SELECT min(x.landasset_id) FROM replica_src_assets_disputecase_assets x WHERE x.disputecase_id = s.id)"

# (table, parcel reference, {column: expression}); the id columns are handled by OFFSETS below.
TABLES: list[tuple[str, str | None, dict[str, str]]] = [
    ("assets_historicallandasset", "s.id", {"geom": GEOM, "luas_gis_m2": AREA, "luas_kib_m2": AREA}),
    ("assets_landasset", "s.id", {"geom": GEOM, "luas_gis_m2": AREA, "luas_kib_m2": AREA}),
    ("assets_historicalcertificate", None, {"luas_sertifikat_m2": AREA}),
    ("assets_certificate", None, {"luas_sertifikat_m2": AREA}),
    ("assets_certificatestageevent", None, {}),
    ("assets_disputecase", CASE_PARCEL, {"geom": GEOM, "area_m2": AREA}),
    ("assets_disputecase_assets", None, {}),
    ("assets_historicaldisputecase", CASE_PARCEL, {"geom": GEOM, "area_m2": AREA}),
    ("assets_historicaldisputecase_assets", None, {}),
    ("assets_casestageevent", None, {}),
    ("assets_utilisation", "s.asset_id", {"geom": GEOM, "area_m2": AREA}),
    ("assets_historicalutilisation", "s.asset_id", {"geom": GEOM, "area_m2": AREA}),
    ("assets_payment", None, {}),
    ("assets_historicalpayment", None, {}),
    ("assets_document", None, {}),
    ("assets_custodyevent", None, {}),
]

# column -> the table whose id it holds (offset by that table's max id per copy)
REFS = {
    "asset_id": "assets_landasset",
    "landasset_id": "assets_landasset",
    "certificate_id": "assets_certificate",
    "disputecase_id": "assets_disputecase",
    "case_id": "assets_disputecase",
    "utilisation_id": "assets_utilisation",
    "stage_event_id": "assets_certificatestageevent",
}
# history tables: their ``id`` is the live table's id; ``history_id`` their own key
LIVE_OF = {
    "assets_historicallandasset": "assets_landasset",
    "assets_historicalcertificate": "assets_certificate",
    "assets_historicaldisputecase": "assets_disputecase",
    "assets_historicalutilisation": "assets_utilisation",
    "assets_historicalpayment": "assets_payment",
}
# columns pointing at history rows of another history table
HISTORY_REFS = {("assets_historicaldisputecase_assets", "history_id"): "assets_historicaldisputecase"}


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    """The table's columns but the generated ones (PostgreSQL computes those: the EPSG:3857 copy, 0024_til)."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND is_generated = 'NEVER' "
        "ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def _key(conn: psycopg.Connection, table: str) -> str:
    row = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary",
        (table,),
    ).fetchone()
    assert row is not None, table
    return row[0]


class Plan:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.columns = {t: _columns(conn, t) for t, _r, _o in TABLES}
        self.keys = {t: _key(conn, t) for t, _r, _o in TABLES}
        self.max_id: dict[str, int] = {}
        for table, _ref, _over in TABLES:
            key = self.keys[table]
            self.max_id[table] = conn.execute(f"SELECT coalesce(max({key}), 0) FROM {table}").fetchone()[0]
        self.rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t, _r, _o in TABLES}
        # the register number's offset per kode barang, NIBAR's within the demo sequence
        self.register_max = dict(
            conn.execute(
                "SELECT kode_barang, max(nomor_register::int) FROM assets_historicallandasset "
                "WHERE nomor_register ~ '^[0-9]+$' GROUP BY kode_barang"
            ).fetchall()
        )
        self.nibar_max = conn.execute(
            "SELECT coalesce(max(substr(nibar, 6)::int), 0) FROM assets_historicallandasset "
            "WHERE nibar ~ '^64710[0-9]{7}$'"
        ).fetchone()[0]

    def expression(self, table: str, column: str, k: int) -> str:
        if column == self.keys[table]:
            return f"s.{column} + {k * self.max_id[table]}"
        if column == "id" and table in LIVE_OF:
            return f"s.id + {k * self.max_id[LIVE_OF[table]]}"
        if (table, column) in HISTORY_REFS:
            return f"s.{column} + {k * self.max_id[HISTORY_REFS[(table, column)]]}"
        if column in REFS and not (table == "assets_custodyevent" and column == "receipt_id"):
            return f"s.{column} + {k * self.max_id[REFS[column]]}"
        if column == "nomor_register" and table in ("assets_landasset", "assets_historicallandasset"):
            return (
                f"CASE WHEN s.nomor_register ~ '^[0-9]+$' THEN "
                f"lpad((s.nomor_register::int + {k} * o.top)::text, "
                f"greatest(length(s.nomor_register), length((s.nomor_register::int + {k} * o.top)::text)), '0') "
                "ELSE s.nomor_register END"
            )
        if column == "nibar" and table in ("assets_landasset", "assets_historicallandasset"):
            return (
                f"CASE WHEN s.nibar ~ '^64710[0-9]{{7}}$' THEN "
                f"'64710' || lpad((substr(s.nibar, 6)::int + {k * self.nibar_max})::text, 7, '0') ELSE s.nibar END"
            )
        over = dict(TABLES_BY_NAME[table][1])
        if column in over:
            return over[column].format(c=column, f=_f(k))
        return f"s.{column}"

    def _from(self, table: str, ref: str | None, snapshot: bool) -> str:
        source = f"replica_src_{table} s" if snapshot else f"{table} s"
        joins = f" LEFT JOIN replica_box m ON m.id = {ref}" if ref else ""
        if "nomor_register" in self.columns[table] and table in ("assets_landasset", "assets_historicallandasset"):
            joins += " LEFT JOIN replica_register o ON o.kode_barang = s.kode_barang"
        return source + joins

    def insert(self, table: str, k: int) -> str:
        ref = TABLES_BY_NAME[table][0]
        cols = self.columns[table]
        exprs = ", ".join(self.expression(table, c, k) for c in cols)
        names = ", ".join(f'"{c}"' for c in cols)
        return f"INSERT INTO {table} ({names}) SELECT {exprs} FROM {self._from(table, ref, True)}"

    def update_in_place(self, table: str) -> list[str]:
        """Copy 0: the source's own rows (keys up to the source's largest) get the quarter-size geometry and areas
        of sub-cell 0; the copies, written before, keep theirs."""
        ref, over = TABLES_BY_NAME[table]
        if not over:
            return []
        own = f"s.{self.keys[table]} <= {self.max_id[table]}"
        sets = ", ".join(f"{c} = {self.expression(table, c, 0)}" for c in over)
        if ref is None:
            return [f"UPDATE {table} s SET {sets} WHERE {own}"]
        areas = ", ".join(f"{c} = {self.expression(table, c, 0)}" for c in over if c != "geom")
        return [
            f"UPDATE {table} s SET {sets} FROM replica_box m WHERE m.id = {ref} AND {own}",
            f"UPDATE {table} s SET {areas} WHERE {own} AND NOT EXISTS (SELECT 1 FROM replica_box m WHERE m.id = {ref})",
        ]


TABLES_BY_NAME = {t: (r, o) for t, r, o in TABLES}


def replicate(conn: psycopg.Connection, copies: int, log: Callable[[str], None] = print) -> None:
    """Write copies 1..copies-1 of the register from a snapshot, then shrink copy 0 in place; autocommit conn."""
    assert 1 <= copies <= 16
    plan = Plan(conn)
    for kode, top in plan.register_max.items():
        if copies * top > 999_999:
            raise SystemExit(f"kode {kode}: {copies} copies of register numbers up to {top} exceed 6 digits")
    log("source rows: " + ", ".join(f"{t.removeprefix('assets_')} {n:,}" for t, n in plan.rows.items() if n))
    conn.execute("DROP TABLE IF EXISTS replica_box, replica_register")
    # each parcel's box: its live geometry, else its latest located history row
    conn.execute(
        """CREATE UNLOGGED TABLE replica_box AS
           SELECT id, ST_XMin(g) AS x0, ST_YMin(g) AS y0, ST_XMax(g) - ST_XMin(g) AS w, ST_YMax(g) - ST_YMin(g) AS h
           FROM (SELECT DISTINCT ON (id) id, g FROM (
                   SELECT id, geom AS g, 1 AS o, now() AS d FROM assets_landasset WHERE geom IS NOT NULL
                   UNION ALL
                   SELECT id, geom, 2, history_date FROM assets_historicallandasset WHERE geom IS NOT NULL) u
                 ORDER BY id, o, d DESC) b"""
    )
    conn.execute("ALTER TABLE replica_box ADD PRIMARY KEY (id)")
    conn.execute("CREATE UNLOGGED TABLE replica_register (kode_barang varchar PRIMARY KEY, top int)")
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO replica_register VALUES (%s, %s)", list(plan.register_max.items()))
    for table, _ref, _over in TABLES:
        conn.execute(f"DROP TABLE IF EXISTS replica_src_{table}")
        conn.execute(f"CREATE UNLOGGED TABLE replica_src_{table} AS SELECT * FROM {table}")
    conn.execute("ANALYZE replica_box")
    for k in range(1, copies):
        started = time.perf_counter()
        with conn.transaction():
            for table, _ref, _over in TABLES:
                if plan.rows[table]:
                    conn.execute(plan.insert(table, k))  # type: ignore[arg-type]
        log(f"copy {k} of {copies - 1}: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with conn.transaction():
        for table, _ref, _over in TABLES:
            for statement in plan.update_in_place(table) if plan.rows[table] else []:
                t0 = time.perf_counter()
                conn.execute(statement)  # type: ignore[arg-type]
                if time.perf_counter() - t0 > 5:
                    log(f"  {statement[:60]}…: {time.perf_counter() - t0:.1f} s")
    log(f"copy 0 shrunk in place: {time.perf_counter() - started:.1f} s")
    for table, _ref, _over in TABLES:
        key = plan.keys[table]
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), (SELECT max({key}) FROM {table}))"
            f" WHERE EXISTS (SELECT 1 FROM {table})"
        )
        conn.execute(f"DROP TABLE replica_src_{table}")
    conn.execute("DROP TABLE replica_box, replica_register")
