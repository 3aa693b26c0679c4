"""Trigram indexes for the register's text search on PostGIS (assets.register.filters.SEARCH_TEXT); nothing on
SpatiaLite. pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database owner may create it."""

from django.db import migrations

# Frozen copy of assets.register.filters.SEARCH_TEXT (the index serves only this exact expression).
SEARCH_TEXT = (
    "upper(coalesce(nama_barang, '') || ' ' || coalesce(kode_barang, '') || ' ' || coalesce(nomor_register, '')"
    " || ' ' || coalesce(nibar, ''))"
)

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS landasset_search_trgm ON assets_landasset USING gin (({SEARCH_TEXT}) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS certificate_nib_trgm ON assets_certificate USING gin ((upper(nib::text)) gin_trgm_ops)",
    "ANALYZE assets_landasset",  # the planner's statistics of the new expression (else it guesses a few rows)
    "ANALYZE assets_certificate",
]
BACKWARD = ["DROP INDEX IF EXISTS landasset_search_trgm", "DROP INDEX IF EXISTS certificate_nib_trgm"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("assets", "0021_field")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
