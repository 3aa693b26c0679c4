"""The history-validity and as-of triggers again, with plans that hold whatever the planner's statistics say (each run
planned for its own rows, statement rows tested as arrays; assets.register.history_validity): the same rows written,
a 100k-parcel import into a fresh PostGIS in 52 s instead of over 8 minutes (issue 19, docs/benchmarks.md)."""

from django.db import migrations


def install(apps, schema_editor):
    from assets.register import history_validity

    history_validity.install(using=schema_editor.connection.alias, fill=False)


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0025_aso"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
