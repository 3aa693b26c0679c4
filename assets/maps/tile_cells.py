"""Per-cell asset counts for the low-zoom vector tiles, kept up to date by database triggers.

An aggregate tile (z <= 13, assets.tiles) counts the parcels per 16-pixel cell by the centre of their bounding box.
A 16-pixel cell at zoom z is exactly the Web Mercator tile z+4 (16 = 2^4 cells per tile side), so the cells of
every zoom <= 13 are sums of the z17 tiles: ``AssetCell`` holds the counts per z17 tile (x17, y17) and an aggregate
tile of the whole register sums a few thousand of its rows instead of reading up to a million parcels (z12 at 1M:
0.3-1.9 s cold, docs/benchmarks.md). The cell of a parcel is computed with the very expression the live SQL uses
(powers of two scale exactly in floating point), so both give the same counts.

Triggers on ``assets_landasset`` keep the counts in the writing transaction itself, whatever writes (services,
admin, importers' COPY, raw SQL): a tile read in a snapshot sees the counts of that snapshot, which is what the
ETag's register version also reads. PostGIS: statement-level triggers with transition tables (one upsert per
statement and cell, so a COPY of 100k rows costs one grouped upsert). SpatiaLite: row-level triggers (it has no
other kind). Empty cells are deleted. Updates move counts only where the geometry, the status or the dispute flag
changed. Two transactions writing such changes in the same ~300 m cell wait for each other at the cell's row; a
large import holds its cells until it commits (cells are upserted in (x17, y17) order, so two imports wait rather
than deadlock within one statement each).

Only the unfiltered register uses the cells (the usual map): filtered and as-of tiles keep the live SQL.
"""

# ruff: noqa: S608 - every statement here is built from this module's constants; values are parameters

from __future__ import annotations

from typing import Any

from django.db import connections

from assets.lib import triggers

TABLE = "assets_assetcell"
ASSETS = "assets_landasset"
CELL_ZOOM = 17  # z13 aggregate cells (the finest) are z17 tiles
SCALE = float(1 << CELL_ZOOM)
COUNTS = ("n", "nb", "np", "nt", "nd")
# The parcels the map of the register shows: located, not removed (a removal leaves the register; the read path,
# assets.register.reads, leaves removed assets out the same way).
_COUNTED = "geom IS NOT NULL AND removed_at IS NULL"


def _cell_sql(geom: str, *, postgis: bool) -> tuple[str, str]:
    """(x17, y17) of a geometry's bounding-box centre: the expression of assets.tiles._mercator_sql."""
    if postgis:
        lon = f"((ST_XMin({geom}) + ST_XMax({geom})) / 2)"
        lat = f"radians((ST_YMin({geom}) + ST_YMax({geom})) / 2)"
        cast = "floor({})::integer"
    else:
        lon = f"((MbrMinX({geom}) + MbrMaxX({geom})) / 2)"
        lat = f"radians((MbrMinY({geom}) + MbrMaxY({geom})) / 2)"
        cast = "CAST(floor({}) AS INTEGER)"
    x = cast.format(f"(({lon} + 180.0) / 360.0 * {SCALE})")
    y = cast.format(f"((1 - ln(tan({lat}) + 1 / cos({lat})) / pi()) / 2 * {SCALE})")
    return x, y


def _counts_sql(status: str, disputed: str, sign: str, *, aggregate: bool) -> str:
    if aggregate:
        return (
            f"{sign}count(*), {sign}count(*) FILTER (WHERE {status} = 'belum'), "
            f"{sign}count(*) FILTER (WHERE {status} = 'proses'), {sign}count(*) FILTER (WHERE {status} = 'terbit'), "
            f"{sign}count(*) FILTER (WHERE {disputed})"
        )
    return (
        f"{sign}1, {sign}({status} = 'belum'), {sign}({status} = 'proses'), {sign}({status} = 'terbit'), "
        f"{sign}({disputed} <> 0)"
    )


_UPSERT = "ON CONFLICT (x17, y17) DO UPDATE SET " + ", ".join(f"{c} = {TABLE}.{c} + excluded.{c}" for c in COUNTS)


def _postgis_apply(rows: str, sign: str) -> str:
    x, y = _cell_sql("geom", postgis=True)
    return f"""
        INSERT INTO {TABLE} (x17, y17, {", ".join(COUNTS)})
        SELECT x17, y17, {_counts_sql("s", "b", sign, aggregate=True)} FROM (
          SELECT {x} AS x17, {y} AS y17, status_sertifikat AS s, bermasalah AS b FROM {rows} WHERE {_COUNTED}
        ) r GROUP BY x17, y17 ORDER BY x17, y17
        {_UPSERT};"""


def _postgis_forget_empty(rows: str) -> str:
    x, y = _cell_sql("geom", postgis=True)
    return f"""
        DELETE FROM {TABLE} c USING (SELECT DISTINCT {x} AS x17, {y} AS y17 FROM {rows} WHERE geom IS NOT NULL) r
        WHERE c.x17 = r.x17 AND c.y17 = r.y17 AND c.n <= 0;"""


# An update moves counts only for the rows whose cell or counted columns changed: most edits (value, notes,
# removal dates) touch none, and must not lock a cell's row (writers of one cell wait for each other until commit).
_CHANGED = (
    "o.geom IS DISTINCT FROM n.geom OR o.status_sertifikat IS DISTINCT FROM n.status_sertifikat "
    "OR o.bermasalah IS DISTINCT FROM n.bermasalah OR (o.removed_at IS NULL) <> (n.removed_at IS NULL)"
)


def _changed(side: str) -> str:
    return f"(SELECT {side}.* FROM old_rows o JOIN new_rows n ON o.id = n.id WHERE {_CHANGED}) changed_{side}"


def _postgis_install() -> list[str]:
    bodies = {
        "insert": _postgis_apply("new_rows", ""),
        "update": _postgis_apply(_changed("o"), "-")
        + _postgis_apply(_changed("n"), "")
        + _postgis_forget_empty(_changed("o")),
        "delete": _postgis_apply("old_rows", "-") + _postgis_forget_empty("old_rows"),
        "truncate": f"\n        DELETE FROM {TABLE};",
    }
    referencing = {
        "insert": "REFERENCING NEW TABLE AS new_rows",
        "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "delete": "REFERENCING OLD TABLE AS old_rows",
        "truncate": "",
    }
    statements = []
    for op, body in bodies.items():
        function = f"{TABLE}_{op}"
        statements += [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN{body}\n  RETURN NULL;\nEND $$",
            f"DROP TRIGGER IF EXISTS {function} ON {ASSETS}",
            f"CREATE TRIGGER {function} AFTER {op.upper()} ON {ASSETS} {referencing[op]} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return statements


def _spatialite_row(row: str, sign: str) -> str:
    x, y = _cell_sql(f"{row}.geom", postgis=False)
    counts = _counts_sql(f"{row}.status_sertifikat", f"{row}.bermasalah", sign, aggregate=False)
    # "WHERE" before ON CONFLICT: SQLite's documented way to avoid the parsing ambiguity of INSERT ... SELECT.
    return (
        f"INSERT INTO {TABLE} (x17, y17, {', '.join(COUNTS)}) SELECT {x}, {y}, {counts} "
        f"WHERE {row}.geom IS NOT NULL AND {row}.removed_at IS NULL {_UPSERT};"
    )


def _spatialite_forget_empty() -> str:
    x, y = _cell_sql("OLD.geom", postgis=False)
    return f"DELETE FROM {TABLE} WHERE OLD.geom IS NOT NULL AND x17 = {x} AND y17 = {y} AND n <= 0;"


# As _CHANGED: SQLite compares the geometry blobs with IS NOT (NULL-safe).
_SPATIALITE_WHEN = {
    "update": " WHEN OLD.geom IS NOT NEW.geom OR OLD.status_sertifikat IS NOT NEW.status_sertifikat "
    "OR OLD.bermasalah IS NOT NEW.bermasalah OR (OLD.removed_at IS NULL) <> (NEW.removed_at IS NULL)"
}


def _spatialite_install() -> list[str]:
    bodies = {
        "insert": _spatialite_row("NEW", ""),
        "update": _spatialite_row("OLD", "-") + _spatialite_row("NEW", "") + _spatialite_forget_empty(),
        "delete": _spatialite_row("OLD", "-") + _spatialite_forget_empty(),
    }
    statements = []
    for op, body in bodies.items():
        trigger = f"{TABLE}_{op}"
        statements += [
            f"DROP TRIGGER IF EXISTS {trigger}",
            f"CREATE TRIGGER {trigger} AFTER {op.upper()} ON {ASSETS} FOR EACH ROW{_SPATIALITE_WHEN.get(op, '')} "
            f"BEGIN {body} END",
        ]
    return statements


def _fill(postgis: bool) -> list[str]:
    x, y = _cell_sql("geom", postgis=postgis)
    if postgis:
        counts = _counts_sql("status_sertifikat", "bermasalah", "", aggregate=True)
    else:  # SQLite has no FILTER on count(): sum the comparisons
        counts = (
            "count(*), sum(status_sertifikat = 'belum'), sum(status_sertifikat = 'proses'), "
            "sum(status_sertifikat = 'terbit'), sum(bermasalah <> 0)"
        )
    return [
        f"DELETE FROM {TABLE}",
        f"INSERT INTO {TABLE} (x17, y17, {', '.join(COUNTS)}) SELECT x17, y17, {counts} FROM "
        f"(SELECT {x} AS x17, {y} AS y17, status_sertifikat, bermasalah FROM {ASSETS} WHERE {_COUNTED}) a "
        "GROUP BY x17, y17",
    ]


def install(*, using: str = "default", fill: bool = True) -> None:
    """Create (or re-create) the triggers and, with fill, recount every cell from the assets."""
    connection = connections[using]
    postgis = connection.vendor == "postgresql"
    statements = _postgis_install() if postgis else _spatialite_install()
    triggers.execute(statements + (_fill(postgis) if fill else []), using=using)


def uninstall(*, using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for op in ("insert", "update", "delete", "truncate"):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{op} ON {ASSETS}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_{op}()")
            elif op != "truncate":
                cursor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{op}")


def ensure_triggers(*, using: str = "default", **_kwargs: Any) -> bool:
    """After migrate on SpatiaLite: a table rebuild (Django's SQLite ALTER) drops the triggers of assets_landasset;
    put them back and recount. True when they had to be repaired."""
    if not triggers.sqlite_triggers_lost(using=using, table=TABLE, like=f"{TABLE}_%", expected=3):
        return False
    install(using=using)
    return True


def tile_sql(z: int, x: int, y: int) -> tuple[str, tuple]:
    """The cells of aggregate tile z/x/y (z <= 13): rows (cx, cy, n, nb, np, nt, nd), cx/cy the 16-pixel cell in
    the tile (0..15), only cells with parcels."""
    shift = CELL_ZOOM - 4 - z
    x0, y0 = x * 16, y * 16
    sums = ", ".join(f"sum({c}) AS {c}" for c in COUNTS)
    sql = (
        f"SELECT (x17 >> {shift}) - {x0} AS cx, (y17 >> {shift}) - {y0} AS cy, {sums} FROM {TABLE} "
        "WHERE x17 >= %s AND x17 < %s AND y17 >= %s AND y17 < %s GROUP BY 1, 2 HAVING sum(n) > 0"
    )
    return sql, (x0 << shift, (x0 + 16) << shift, y0 << shift, (y0 + 16) << shift)
