"""The certificate status and stage of each asset as spans of time, and the register totals as of any date (each
asset's pieces and the day totals), kept by the history-validity triggers (assets.register.history_validity,
assets.register.asof_totals): the as-of reads join one span per asset, and the as-of totals sum a few rows per group
(issue 19)."""

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
        ("assets", "0024_til"),
    ]

    operations = [
        migrations.CreateModel(
            name="AsOfPiece",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("agency_id", models.BigIntegerField()),
                ("kecamatan_id", models.BigIntegerField(default=0)),
                ("kelurahan_id", models.BigIntegerField(default=0)),
                ("status_sertifikat", models.CharField(max_length=8)),
                ("tahap_sertifikat", models.CharField(max_length=24)),
                ("plotting_status", models.CharField(max_length=16)),
                ("removed", models.BooleanField(default=False)),
                ("n", models.IntegerField(default=0)),
                ("located", models.IntegerField(default=0)),
                ("luas_kib_c", models.BigIntegerField(default=0)),
                ("luas_gis_c", models.BigIntegerField(default=0)),
                ("nilai", models.BigIntegerField(default=0)),
                ("asset_id", models.BigIntegerField(db_index=True)),
                ("valid_from", models.DateTimeField()),
                ("valid_until", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "abstract": False,
            },
        ),
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
        migrations.CreateModel(
            name="AsOfTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("agency_id", models.BigIntegerField()),
                ("kecamatan_id", models.BigIntegerField(default=0)),
                ("kelurahan_id", models.BigIntegerField(default=0)),
                ("status_sertifikat", models.CharField(max_length=8)),
                ("tahap_sertifikat", models.CharField(max_length=24)),
                ("plotting_status", models.CharField(max_length=16)),
                ("removed", models.BooleanField(default=False)),
                ("n", models.IntegerField(default=0)),
                ("located", models.IntegerField(default=0)),
                ("luas_kib_c", models.BigIntegerField(default=0)),
                ("luas_gis_c", models.BigIntegerField(default=0)),
                ("nilai", models.BigIntegerField(default=0)),
                ("day", models.DateField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "day",
                            "agency_id",
                            "kecamatan_id",
                            "kelurahan_id",
                            "status_sertifikat",
                            "tahap_sertifikat",
                            "plotting_status",
                            "removed",
                        ),
                        name="assets_asoftotal_group",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
