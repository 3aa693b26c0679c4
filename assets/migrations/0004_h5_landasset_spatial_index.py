"""Re-enable the SpatiaLite spatial index of assets_landasset.geom.

Django's SQLite schema editor rebuilds a table when fields are added (0002 did), and on SpatiaLite the
rebuilt table keeps its idx_assets_landasset_geom R*Tree but loses the triggers that fill it
(geometry_columns.spatial_index_enabled = 0). The overlap finding joins through that R*Tree.
assets.spatialite.ensure_spatial_indexes (post_migrate) now does the same after every migrate, so this
migration is redundant but harmless; 0003_h4_importjob depends on it for the moment. PostGIS: no-op.
"""

from django.db import migrations


def repair(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT spatial_index_enabled FROM geometry_columns "
            "WHERE f_table_name = 'assets_landasset' AND f_geometry_column = 'geom'"
        )
        row = cursor.fetchone()
        if row is None or row[0]:
            return
        cursor.execute("DROP TABLE IF EXISTS idx_assets_landasset_geom")
        cursor.execute("SELECT CreateSpatialIndex('assets_landasset', 'geom')")


class Migration(migrations.Migration):
    dependencies = [("assets", "0002_history_and_removal")]

    operations = [migrations.RunPython(repair, migrations.RunPython.noop)]
