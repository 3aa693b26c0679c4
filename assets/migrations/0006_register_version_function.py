"""PostgreSQL: the register version as a function, which each tile statement calls (assets.tile_version)."""

from django.db import migrations


def install(apps, schema_editor):
    from assets.maps import tile_version

    tile_version.install_function(using=schema_editor.connection.alias)


def uninstall(apps, schema_editor):
    from assets.maps import tile_version

    tile_version.uninstall_function(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0005_register_version"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
