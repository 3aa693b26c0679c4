"""The parcel geometry in Web Mercator (EPSG:3857) for the vector tiles, a derived copy PostgreSQL keeps itself.

The register's geometry is ``assets_landasset.geom``, MultiPolygon in SRID 4326 (assets.register.geo); nothing
else is ever written. On PostGIS the table also has ``geom_3857``, a STORED generated column
``ST_Transform(geom, 3857)``: PostgreSQL computes it on every INSERT and UPDATE, however the row is written (the
ORM, ``update()``, the importer's COPY, raw SQL, a restore), so it can never differ from ``geom``, and no code
writes it. The history table (``assets_historicallandasset``) has the same column, for the as-of tiles. The
polygon tiles (z >= POLYGON_MIN_ZOOM, assets.maps.tiles) read it instead of transforming each parcel for each tile
they draw it in (docs/benchmarks.md, "Signed-in tiles over HTTP vs tipg"). The tiles still find their parcels
through the GiST index of ``geom`` (the column has no index of its own: every write would pay for a second one,
for a gain within the noise). Cost: ~5 µs per written row and ~125 bytes per 20 m square (+12 MB on the grid's
100k parcels, 31 -> 43 MB of heap).

Beside it, ``geom_3857_clearance``: the copy's minimum clearance in metres (``ST_MinimumClearance``, GEOS: the
smallest distance between a vertex and another vertex or a segment not incident on it), generated the same way
(on the 100k grid and demo: 0.47-0.52 s for all rows with its own transform, 1-2 µs a row more than the
transform). A polygon tile draws a parcel that lies within it and whose clearance is more than √2 tile units by
transforming and rounding its vertices (assets.maps.tiles.drawn_sql): rounding moves each vertex by at most √2/2
units, so no vertex can reach another or an edge and the shape stays as valid as it was, and ``ST_AsMVTGeom``'s
clipping and validation (wagyu), most of a dense polygon tile, is left to the others.

Not a model field: Django never selects, writes or compares it (the model state stays that of SpatiaLite, which
has no such column; its tiles are drawn in Python from ``geom``), and a backup archive does not hold it (the restore
leaves columns PostgreSQL generates out of its column check, assets.ops.backup.restore).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from assets.maps import tile_version

TABLE = tile_version.ASSETS
HISTORY = tile_version.HISTORY  # the as-of tiles draw the history rows valid at a date: the same copy there
COLUMN = "geom_3857"
CLEARANCE = "geom_3857_clearance"
SRID = 3857
DEFINITIONS = {
    COLUMN: f"geometry(MultiPolygon, {SRID}) GENERATED ALWAYS AS (ST_Transform(geom, {SRID})) STORED",
    CLEARANCE: f"double precision GENERATED ALWAYS AS (ST_MinimumClearance(ST_Transform(geom, {SRID}))) STORED",
}


def install(connection: BaseDatabaseWrapper, columns: tuple[str, ...] = (COLUMN, CLEARANCE)) -> None:
    """Add the generated ``columns`` to both tables (PostgreSQL only; a rewrite of each: ~4 s per 100k rows)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in (TABLE, HISTORY):
            for column in columns:
                cursor.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {DEFINITIONS[column]}")


def uninstall(connection: BaseDatabaseWrapper, columns: tuple[str, ...] = (COLUMN, CLEARANCE)) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in (TABLE, HISTORY):
            for column in columns:
                cursor.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {column}")
