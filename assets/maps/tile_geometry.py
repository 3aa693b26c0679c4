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
SRID = 3857


def install(connection: BaseDatabaseWrapper) -> None:
    """Add the generated column to both tables (PostgreSQL only; a rewrite of each: ~4 s per 100k rows)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in (TABLE, HISTORY):
            cursor.execute(
                f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {COLUMN} geometry(MultiPolygon, {SRID}) "  # noqa: S608
                f"GENERATED ALWAYS AS (ST_Transform(geom, {SRID})) STORED"
            )


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in (TABLE, HISTORY):
            cursor.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {COLUMN}")
