"""The certificate status and stage of each asset as spans of time, kept by the history-validity triggers
(assets.register.history_validity): the as-of reads join one span per asset instead of deriving the status from
every certificate history row (issue 19)."""

from django.db import migrations, models


def install(apps, schema_editor):
    from assets.register import history_validity

    history_validity.install(using=schema_editor.connection.alias)


def uninstall(apps, schema_editor):
    from assets.register import history_validity

    history_validity.uninstall(using=schema_editor.connection.alias)
    history_validity.install(using=schema_editor.connection.alias, fill=False, spans=False)  # 0020's triggers


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0021_field"),
    ]

    operations = [
        migrations.CreateModel(
            name="CertificateStatusSpan",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("asset_id", models.BigIntegerField(db_index=True)),
                ("valid_from", models.DateTimeField()),
                ("valid_until", models.DateTimeField(blank=True, null=True)),
                ("status_code", models.SmallIntegerField()),
                ("stage_rank", models.SmallIntegerField()),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
