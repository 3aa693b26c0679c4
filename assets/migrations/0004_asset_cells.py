"""Per-cell asset counts for the low-zoom vector tiles, kept by triggers (assets.tile_cells)."""

from django.db import migrations, models


def install(apps, schema_editor):
    from assets.maps import tile_cells

    tile_cells.install(using=schema_editor.connection.alias)


def uninstall(apps, schema_editor):
    from assets.maps import tile_cells

    tile_cells.uninstall(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0003_h4_importjob"),
    ]

    operations = [
        migrations.CreateModel(
            name="AssetCell",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("x17", models.IntegerField()),
                ("y17", models.IntegerField()),
                ("n", models.IntegerField(default=0)),
                ("nb", models.IntegerField(default=0)),
                ("np", models.IntegerField(default=0)),
                ("nt", models.IntegerField(default=0)),
                ("nd", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("x17", "y17"), name="assets_assetcell_xy")],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
