import django.db.models.deletion
from django.db import migrations, models

# PostgreSQL's second index on the live NIBAR, for LIKE 'prefix%' (Django makes it beside the unique index of a
# CharField): no query of Sipanah matches a NIBAR by prefix (equality uses the unique index; the search is a substring
# match, which no btree serves). SQLite has no such index.
LIKE_INDEX = "assets_landasset_nibar_3136f689_like"


def drop_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LIKE_INDEX}")


def create_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {LIKE_INDEX} ON assets_landasset (nibar varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    """The index review of issue 19 (docs/benchmarks.md, "Index review"): indexes no query uses, dropped."""

    dependencies = [
        ("assets", "0021_field"),
    ]

    operations = [
        migrations.RunPython(drop_like_index, create_like_index),
        migrations.RemoveIndex(
            model_name="certificate",
            name="assets_cert_nib_811916_idx",
        ),
        migrations.AlterField(
            model_name="historicallandasset",
            name="nibar",
            field=models.CharField(blank=True, max_length=32, null=True, verbose_name="NIBAR"),
        ),
        migrations.AlterField(
            model_name="landasset",
            name="agency",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assets",
                to="assets.agency",
                verbose_name="agency",
            ),
        ),
    ]
