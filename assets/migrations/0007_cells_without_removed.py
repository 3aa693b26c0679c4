"""The tile cells and the unfiltered map count only assets that are not removed, as the register does everywhere
else (assets.maps.tile_cells): the triggers are installed again and every cell recounted."""

from django.db import migrations


def install(apps, schema_editor):
    from assets.maps import tile_cells

    tile_cells.install(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0006_register_version_function"),
    ]

    operations = [migrations.RunPython(install, install)]
