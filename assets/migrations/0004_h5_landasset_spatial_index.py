"""Re-enable the SpatiaLite spatial index of assets_landasset.geom.

Django's SQLite schema editor rebuilds a table when fields are added (0002 did), and on SpatiaLite the
rebuilt table keeps its idx_assets_landasset_geom R*Tree but loses the triggers that fill it
(geometry_columns.spatial_index_enabled = 0): the index stays empty. The overlap finding joins through
that R*Tree, so it is rebuilt here. PostGIS is not affected (its GiST index survives ALTER TABLE).
A later migration that rebuilds the table must run this repair again (assets.audit.repair_spatialite_index).
"""

from django.db import migrations


def repair(apps, schema_editor):
    from assets.audit import repair_spatialite_index

    repair_spatialite_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("assets", "0002_history_and_removal")]

    operations = [migrations.RunPython(repair, migrations.RunPython.noop)]
