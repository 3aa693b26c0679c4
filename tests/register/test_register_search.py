"""The register's text search (``q=``): the same assets as the plain test of every column, row by row, whatever the
text; on PostGIS through the trigram indexes of migration 0022 (bench/page_cpu.py: 0.86 s -> a few ms of PostgreSQL
CPU per selective search at 1M parcels)."""

from __future__ import annotations

from unittest import mock, skipUnless

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.test import TestCase
from django.utils import timezone

from assets.models import Agency, Certificate, LandAsset
from assets.register import filters
from assets.register.reads import RegisterSelection
from tests.factories import load_reference, make_asset

TEXTS = [
    "Tanah",
    "tanah",
    "SEKOLAH",
    "kantor lurah",
    "1.3.1.01.01.01.002",
    "1.3.1.01",
    "3.1",  # inside a kode, not its start: no match by kode
    "000777",
    "777",  # a register number matches only whole
    "64710",
    "6471000000123",  # a certificate's NIB
    "0000012",
    "50%",  # LIKE's wildcards are searched as text
    "a_b",
    "100%_",
    "\\",
    "Rumah Dinas 1.3",  # across two columns: no match
    "nothing like this",
    "ü",
]


def reference(value: str) -> set[int]:
    """The search as the plain per-row test of every column (what filter_text did before the indexes)."""
    nib = Certificate.objects.filter(asset=OuterRef("id"), nib__icontains=value)
    rows = LandAsset.objects.filter(removed_at__isnull=True).filter(
        Q(nama_barang__icontains=value)
        | Q(kode_barang__startswith=value)
        | Q(nomor_register=value)
        | Q(nibar__icontains=value)
        | Exists(nib)
    )
    return set(rows.values_list("id", flat=True))


class RegisterSearchTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        agency = Agency.objects.get(code="1.01.01")
        names = [
            "Tanah Sekolah SDN 012",
            "Tanah Kantor Lurah Gunung Samarinda",
            "Rumah Dinas",
            "Tanah 50% milik bersama",
            "Lahan a_b",
            "Lahan axb",
            "Tanah 100%_ sisa",
            "Jalan \\ lingkungan",
            "Tanah Müller",
            "TANAH PASAR",
        ]
        for i, name in enumerate(names):
            asset = make_asset(
                agency=agency,
                nama_barang=name,
                kode_barang="1.3.1.01.01.01.002" if i % 2 else "1.3.1.01.01.01.001",
                nomor_register=f"{777 + i:06d}",
                nibar=f"64710{i + 120:07d}" if i % 3 else None,
            )
            if i in (2, 5):
                Certificate.objects.create(asset=asset, jenis_hak="HP", nib=f"647100000012{i}")
        removed = make_asset(agency=agency, nama_barang="Tanah Sekolah dihapus")
        LandAsset.objects.filter(pk=removed.pk).update(removed_at="2025-01-01")

    def test_the_search_finds_what_the_plain_test_of_every_column_finds(self):
        found_any = 0
        for value in TEXTS:
            with self.subTest(value=value):
                selection = RegisterSelection.from_params({"q": value})
                found = set(selection.queryset().values_list("id", flat=True))
                self.assertEqual(found, reference(value))
                self.assertEqual(selection.totals().count, len(found))
                found_any += bool(found)
        self.assertGreater(found_any, 10)  # the texts above do find assets: the comparison is not of empty sets

    def test_a_search_over_many_certificates_reads_them_in_a_subquery(self):
        asset = LandAsset.objects.filter(nama_barang="Rumah Dinas").get()
        with mock.patch.object(filters, "NIB_IDS", 0):  # every matching certificate is "many"
            found = set(RegisterSelection.from_params({"q": "6471"}).queryset().values_list("id", flat=True))
        self.assertIn(asset.id, found)
        self.assertEqual(found, reference("6471"))

    def test_the_search_as_of_a_date_still_tests_the_history_rows(self):
        today = RegisterSelection.from_params({"q": "Sekolah", "as_of": timezone.localdate().isoformat()})
        # the history rows hold every asset as written (the removal above was raw SQL, so not in the history)
        self.assertEqual(today.totals().count, LandAsset.objects.filter(nama_barang__icontains="sekolah").count())
        self.assertEqual(today.totals().count, 2)

    @skipUnless(connection.vendor == "postgresql", "the trigram indexes exist on PostGIS only")
    def test_postgis_reads_a_selective_search_through_the_trigram_indexes(self):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # a 12-row table: the plan a large register gets
            qs = RegisterSelection.from_params({"q": "Sekolah"}).queryset().order_by().values("id")
            sql, params = qs.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            certificates = Certificate.objects.filter(nib__icontains="0012").order_by().values("asset_id")
            sql, params = certificates.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            nib_plan = "\n".join(row[0] for row in cursor.fetchall())
        self.assertIn("landasset_search_trgm", plan)
        self.assertIn("certificate_nib_trgm", nib_plan)
