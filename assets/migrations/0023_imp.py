"""The index review of issue 19 (docs/benchmarks.md, "Index review"): indexes no query uses on the import's tables,
dropped. Each change to the model state is applied to the database as a DROP INDEX, never as Django's SQLite table
rebuild (which would drop the tables' triggers and trip SpatiaLite's geometry metadata)."""

import django.db.models.deletion
from django.db import migrations, models

# (index, its definition for the reverse; None: an index SQLite has too, made the same way there)
DROPPED = [
    # the live agency_id: (agency_id, status_sertifikat) and (agency_id, kode_barang, nomor_register) lead with it
    ("assets_landasset_agency_id_97b8f8ca", "ON assets_landasset (agency_id)", None),
    # PostgreSQL's second index on the live NIBAR, for LIKE 'prefix%' (Django makes it beside a CharField's unique
    # index): no query matches a NIBAR by prefix (equality takes the unique index; the search is a substring match)
    ("assets_landasset_nibar_3136f689_like", "ON assets_landasset (nibar varchar_pattern_ops)", "postgresql"),
    # the history's NIBAR: never looked up by value
    ("assets_historicallandasset_nibar_aa955de3", "ON assets_historicallandasset (nibar)", None),
    (
        "assets_historicallandasset_nibar_aa955de3_like",
        "ON assets_historicallandasset (nibar varchar_pattern_ops)",
        "postgresql",
    ),  # fmt: skip
]


def drop(apps, schema_editor):
    for name, _definition, vendor in DROPPED:
        if vendor in (None, schema_editor.connection.vendor):
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def create(apps, schema_editor):
    for name, definition, vendor in DROPPED:
        if vendor in (None, schema_editor.connection.vendor):
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0022_lod"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, create)],
            state_operations=[
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
            ],
        ),
        # the certificates' NIB: searched by substring only (icontains), which no btree serves
        migrations.RemoveIndex(
            model_name="certificate",
            name="assets_cert_nib_811916_idx",
        ),
    ]
