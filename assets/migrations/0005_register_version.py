"""The register's write counter for the tiles' ETag, kept by triggers (assets.tile_version)."""

from django.db import migrations, models


def install(apps, schema_editor):
    from assets.maps import tile_version

    tile_version.install(using=schema_editor.connection.alias)


def uninstall(apps, schema_editor):
    from assets.maps import tile_version

    tile_version.uninstall(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0004_asset_cells"),
    ]

    operations = [
        migrations.CreateModel(
            name="RegisterVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("v", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
