"""SpatiaLite connections: the busy timeout they were configured with, and spatial indexes alive across migrations.

Loading the SpatiaLite extension resets SQLite's busy timeout to 5 s, whatever ``OPTIONS["timeout"]`` asked for
(Python's sqlite3 sets it on connect; mod_spatialite's init sets 5,000 ms again), so a writer gave up after 5 s
with "database is locked" while an import held the write lock. :func:`restore_busy_timeout` sets it again once
the connection is made (``connection_created``).


When a migration makes Django's SQLite backend rebuild a table (e.g. 0002 adding columns to assets_landasset), the
geometry column is re-registered but its spatial index is left disabled: the R*Tree ``idx_<table>_<column>`` stays
behind, empty and without the triggers that fill it. Anything reading through the index (the vector tiles) would
then see no parcels. After every migrate this re-creates any missing index and fills it from the table.
"""

from __future__ import annotations

from typing import Any

from django.db import connections


def restore_busy_timeout(sender: Any, connection: Any, **_kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        seconds = float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        connection.connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")


def ensure_spatial_indexes(*, using: str = "default", **_kwargs: Any) -> list[str]:
    connection = connections[using]
    if connection.vendor != "sqlite":
        return []
    from django.apps import apps
    from django.contrib.gis.db.models import GeometryField

    repaired = []
    with connection.cursor() as cursor:
        for model in apps.get_app_config("assets").get_models():
            for field in model._meta.local_fields:
                if not (isinstance(field, GeometryField) and field.spatial_index):
                    continue
                table, column = model._meta.db_table, field.column
                cursor.execute(
                    "SELECT spatial_index_enabled FROM geometry_columns WHERE lower(f_table_name) = lower(%s) "
                    "AND lower(f_geometry_column) = lower(%s)",
                    [table, column],
                )
                row = cursor.fetchone()
                if row is None or row[0]:
                    continue
                cursor.execute(f'DROP TABLE IF EXISTS "idx_{table}_{column}"')
                cursor.execute("SELECT CreateSpatialIndex(%s, %s)", [table, column])
                repaired.append(f"{table}.{column}")
    return repaired
