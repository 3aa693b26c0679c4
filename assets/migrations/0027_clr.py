"""The parcel's minimum clearance in EPSG:3857 as a STORED generated column of assets_landasset and its history, so
that the polygon tiles draw the parcels that lie within a tile without ST_AsMVTGeom's clipping and validation
(assets.maps.tile_geometry, assets.maps.tiles.drawn_sql); PostgreSQL only, nothing on SpatiaLite (issue 19)."""

from django.db import migrations


def install(apps, schema_editor):
    from assets.maps import tile_geometry

    tile_geometry.install(schema_editor.connection, (tile_geometry.CLEARANCE,))


def uninstall(apps, schema_editor):
    from assets.maps import tile_geometry

    tile_geometry.uninstall(schema_editor.connection, (tile_geometry.CLEARANCE,))


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0026_pln"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
