"""The parcel geometry in Web Mercator (EPSG:3857) for the vector tiles, a derived copy PostgreSQL keeps itself.

The register's geometry is ``assets_landasset.geom``, MultiPolygon in SRID 4326 (assets.register.geo); nothing
else is ever written. On PostGIS the table also has ``geom_3857``, a STORED generated column
``ST_Transform(geom, 3857)``: PostgreSQL computes it on every INSERT and UPDATE, however the row is written (the
ORM, ``update()``, the importer's COPY, raw SQL, a restore), so it can never differ from ``geom``, and no code
writes it. The polygon tiles (z >= POLYGON_MIN_ZOOM, assets.maps.tiles) read it instead of transforming each
parcel for each tile they draw it in (docs/benchmarks.md, "Signed-in tiles over HTTP vs tipg"). The tiles still
find their parcels through the GiST index of ``geom`` (the column has no index of its own: every write would pay
for a second one, for a gain within the noise).

Not a model field: Django never selects, writes or compares it (the model state stays that of SpatiaLite, which
has no such column; its tiles are drawn in Python from ``geom``).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "assets_landasset"
COLUMN = "geom_3857"
SRID = 3857


def install(connection: BaseDatabaseWrapper) -> None:
    """Add the generated column (PostgreSQL only; a rewrite of the table: ~4 s at 100k parcels)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {COLUMN} geometry(MultiPolygon, {SRID}) "  # noqa: S608 - constants
            f"GENERATED ALWAYS AS (ST_Transform(geom, {SRID})) STORED"
        )


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {COLUMN}")
