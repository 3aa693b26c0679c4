"""The parcel geometry in EPSG:3857 as a STORED generated column of assets_landasset, for the polygon tiles
(assets.maps.tile_geometry); PostgreSQL only, nothing on SpatiaLite (issue 19)."""

from django.db import migrations


def install(apps, schema_editor):
    from assets.maps import tile_geometry

    tile_geometry.install(schema_editor.connection, (tile_geometry.COLUMN,))


def uninstall(apps, schema_editor):
    from assets.maps import tile_geometry

    tile_geometry.uninstall(schema_editor.connection, (tile_geometry.COLUMN,))


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0023_imp"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
