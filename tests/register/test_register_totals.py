"""Register totals from the maintained groups (assets.register.aggregates): exact after every kind of write, and the
same numbers as the live SQL for every selection they answer."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from unittest import mock

from django.db import connection
from django.http import QueryDict
from django.test import TestCase, TransactionTestCase

from assets.models import Agency, AsOfTotal, CertificateStatus, LandAsset, RegisterTotal, Stage
from assets.register import aggregates, selectors, services
from assets.register.reads import RegisterSelection
from assets.transfer.importing import run as importing_run
from assets.transfer.importing.run import run_import
from tests.factories import five_parcel_geojson, load_reference, make_asset, point_inside, square

COLUMNS = aggregates.KEY_COLUMNS + aggregates.SUMS


def stored() -> dict[tuple, tuple]:
    return {
        tuple(row[: len(aggregates.KEYS)]): tuple(row[len(aggregates.KEYS) :])
        for row in RegisterTotal.objects.values_list(*COLUMNS)
    }


def recount() -> dict[tuple, tuple]:
    """The groups as install() counts them from scratch."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE totals_check (agency_id bigint, kecamatan_id bigint, kelurahan_id bigint, "
            "status_sertifikat varchar(8), tahap_sertifikat varchar(24), plotting_status varchar(16), removed boolean, "
            "n integer, located integer, luas_kib_c bigint, luas_gis_c bigint, nilai bigint)"
        )
        cursor.execute(aggregates.fill_sql(connection.vendor == "postgresql", table="totals_check"))
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM totals_check")  # noqa: S608 - module constants
        counted = {tuple(r[: len(aggregates.KEYS)]): tuple(r[len(aggregates.KEYS) :]) for r in cursor.fetchall()}
        cursor.execute("DROP TABLE totals_check")
    return {k[:-1] + (bool(k[-1]),): v for k, v in counted.items()}


SELECTIONS = [
    {},
    {"status": "terbit"},
    {"status": ["belum", "proses"]},
    {"agency": "1.01.01"},
    {"kecamatan": "64.71.05"},
    {"kelurahan": "64.71.01.1001"},
    {"plotting": "unknown"},
    {"removed": "include"},
    {"removed": "only"},
    {"tahap": "SENGKETA"},
    {"agency": "1.01.01", "status": "belum", "q": ""},  # an empty parameter filters nothing
]


class RegisterTotalTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.other = Agency.objects.exclude(pk=cls.agency.pk).order_by("code").first()
        cls.lon, cls.lat = point_inside("64.71.01.1001")
        cls.far = point_inside("64.71.05.1002")

    def assert_exact(self):
        self.assertEqual(stored(), recount())
        self.assertTrue(all(v[0] > 0 for v in stored().values()), "empty groups are deleted")
        for params in SELECTIONS:
            query = QueryDict(mutable=True)
            for key, value in params.items():
                query.setlist(key, value if isinstance(value, list) else [value])
            selection = RegisterSelection.from_params(query)
            groups = selection.groups()
            self.assertIsNotNone(groups, params)
            live = selectors.register_totals_by_status(selection.queryset())
            self.assertEqual(aggregates.totals_by_status(groups), live, params)
            self.assertEqual(selection.aggregate(), _live_aggregate(selection), params)

    def test_writes_keep_the_groups_equal_to_a_recount(self):
        assets = [
            make_asset(
                agency=self.agency if i % 2 else self.other,
                geom=square(self.lon + i * 0.0003, self.lat, 0.0001),
                luas_kib_m2=Decimal("1200.10") + i,
                nilai_perolehan=Decimal(1_000_000 * (i + 1)),
            )
            for i in range(8)
        ]
        make_asset(agency=self.agency, geom=None)  # unlocated: counted, not located
        self.assertEqual(sum(v[0] for v in stored().values()), 9)
        self.assert_exact()

        moved, certified, removed, deleted = assets[0], assets[1], assets[2], assets[3]
        services.asset_update(asset=moved, user=None, data={}, geom=square(*self.far, 0.0001))  # another kelurahan
        self.assertEqual(LandAsset.objects.get(pk=moved.pk).kelurahan.code, "64.71.05.1002")
        certified.status_sertifikat = CertificateStatus.TERBIT
        certified.tahap_sertifikat = Stage.SERTIFIKAT_TERBIT
        certified.save()
        services.asset_remove(asset=removed, user=None, sk_nomor="SK-1", tanggal=dt.date(2024, 5, 6))
        deleted.delete()
        self.assert_exact()
        self.assertEqual(RegisterSelection.everything().totals().count, 7)

        with connection.cursor() as cursor:  # raw SQL, no Django, no history
            cursor.execute(
                "UPDATE assets_landasset SET nilai_perolehan = nilai_perolehan + 7, luas_kib_m2 = 10.05, "
                "agency_id = %s WHERE id = %s",
                [self.agency.pk, assets[4].pk],
            )
            cursor.execute("UPDATE assets_landasset SET geom = NULL, plotting_status = 'unknown' WHERE id = %s",
                           [assets[5].pk])  # fmt: skip
            cursor.execute("DELETE FROM assets_landasset WHERE id = %s", [assets[6].pk])
        self.assert_exact()
        services.asset_restore(asset=removed, user=None, reason="salah input")
        self.assert_exact()

    def test_an_edit_of_other_columns_writes_no_group(self):
        asset = make_asset(agency=self.agency, geom=square(self.lon, self.lat, 0.0001))
        before = list(RegisterTotal.objects.values_list("id", *COLUMNS))
        LandAsset.objects.filter(pk=asset.pk).update(nama_barang="Tanah lain", keterangan="catatan")
        self.assertEqual(list(RegisterTotal.objects.values_list("id", *COLUMNS)), before)

    def test_filters_beyond_the_dimensions_read_the_assets(self):
        for params in ({"q": "kantor"}, {"tahun_min": "2000"}, {"jenis_hak": "HP"}, {"luas_min": "0"}):
            self.assertIsNone(RegisterSelection.from_params(params).groups(), params)
        self.assertIsNone(RegisterSelection.from_params({"as_of": "2024-01-01", "q": "kantor"}).groups())
        # as of a date, the day totals up to that day (assets.register.asof_totals; tests/register/test_as_of_sql.py)
        self.assertIs(RegisterSelection.from_params({"as_of": "2024-01-01"}).groups().model, AsOfTotal)

    def test_the_list_reads_its_totals_from_the_groups(self):
        for i in range(3):
            make_asset(agency=self.agency, geom=square(self.lon + i * 0.0003, self.lat, 0.0001))
        selection = RegisterSelection.from_params({"agency": "1.01.01"})
        self.assertIsNotNone(selection.groups())
        with self.assertNumQueries(3):  # the agency of the filter, the groups, the page: nothing counts the rows
            page, totals = selection.page(1)
            rows = list(page.object_list)
        self.assertEqual((len(rows), totals.count, page.paginator.count), (3, 3, 3))


def _live_aggregate(selection: RegisterSelection) -> dict:
    from assets.register import reads

    return reads._live_aggregate(selection.queryset(), None)


class ImportTotalTests(TransactionTestCase):
    """The importer's COPY path (one executemany INSERT on SQLite) and a flush keep the groups exact."""

    def test_an_import_is_counted(self):
        load_reference()
        tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        path = five_parcel_geojson(tmp)
        # an import of at least ANALYZE_AFTER_ROWS rows refreshes the planner's statistics (PostgreSQL; the real call)
        with (
            mock.patch.object(importing_run, "ANALYZE_AFTER_ROWS", 5),
            mock.patch.object(importing_run, "refresh_statistics", wraps=importing_run.refresh_statistics) as refresh,
        ):
            report = run_import(path)
        self.assertTrue(report.committed, report.errors)
        refresh.assert_called_once_with()
        self.assertEqual(stored(), recount())
        totals = RegisterSelection.everything().totals()
        self.assertEqual((totals.count, totals.located, totals.luas_kib_m2), (5, 3, Decimal("6002.50")))
        self._fixture_teardown()  # the flush TransactionTestCase does after each test
        self.assertEqual(RegisterTotal.objects.count(), 0)

    def test_triggers_come_back_after_a_sqlite_table_rebuild(self):
        if connection.vendor != "sqlite":
            self.skipTest("SQLite only: Django rebuilds tables there (dropping their triggers)")
        aggregates.uninstall()
        self.assertTrue(aggregates.ensure_triggers())
        self.assertFalse(aggregates.ensure_triggers())
