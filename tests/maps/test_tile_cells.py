"""Per-cell counts of the low-zoom tiles (assets.tile_cells) and the ETag's write counter (assets.tile_version)."""

from __future__ import annotations

import datetime as dt
import math

import mapbox_vector_tile
from django.core.cache import cache
from django.db import connection
from django.test import TestCase, TransactionTestCase
from django.urls import reverse

from assets.maps import tile_cells, tile_version, tiles
from assets.models import Agency, AssetCell, CertificateStatus, LandAsset
from assets.register import permissions, services
from assets.register.reads import RegisterSelection
from tests.factories import load_reference, make_asset, make_user, point_inside, square


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    lat_r = math.radians(lat)
    return int((lon + 180.0) / 360.0 * n), int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)


def features(data: bytes) -> list[tuple]:
    decoded = mapbox_vector_tile.decode(data) if data else {}
    found = decoded.get("assets", {}).get("features", [])
    return sorted((tuple(f["geometry"]["coordinates"]), tuple(sorted(f["properties"].items()))) for f in found)


def recount() -> dict[tuple[int, int], tuple]:
    """The cells as install() counts them from scratch."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE cells_check (x17 integer, y17 integer, n integer, nb integer, np integer, "
            "nt integer, nd integer)"
        )
        for sql in tile_cells._fill(connection.vendor == "postgresql")[1:]:
            cursor.execute(sql.replace(f"INSERT INTO {tile_cells.TABLE} ", "INSERT INTO cells_check "))
        cursor.execute("SELECT x17, y17, n, nb, np, nt, nd FROM cells_check")
        counted = {(r[0], r[1]): tuple(r[2:]) for r in cursor.fetchall()}
        cursor.execute("DROP TABLE cells_check")
    return counted


class CellCountTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.lon, cls.lat = point_inside("64.71.01.1001")

    def setUp(self):
        cache.clear()

    def cells(self) -> dict[tuple[int, int], tuple]:
        return {(c.x17, c.y17): (c.n, c.nb, c.np, c.nt, c.nd) for c in AssetCell.objects.all()}

    def assert_tiles_match_live_counts(self):
        for z in range(8, tiles.POINT_ZOOM):
            x, y = tile_of(self.lon, self.lat, z)
            from_cells = tiles.versioned_tile(RegisterSelection.everything(), z=z, x=x, y=y)[1]
            filtered = RegisterSelection.from_params({"removed": ""})  # the same assets, counted from the parcels
            counted = tiles.versioned_tile(filtered, z=z, x=x, y=y)[1]
            self.assertEqual(features(from_cells), features(counted), z)

    def test_writes_keep_the_cells_equal_to_a_recount(self):
        assets = [
            make_asset(agency=self.agency, geom=square(self.lon + i * 0.0031, self.lat + (i % 3) * 0.0029, 0.0002))
            for i in range(12)
        ]
        make_asset(agency=self.agency, geom=None)  # no location: in no cell
        self.assertEqual(sum(c[0] for c in self.cells().values()), 12)
        self.assertEqual(self.cells(), recount())
        self.assert_tiles_match_live_counts()

        moved, disputed, removed = assets[0], assets[1], assets[2]
        services.asset_update(asset=moved, user=None, data={}, geom=square(self.lon + 0.05, self.lat, 0.0002))
        disputed.bermasalah = True
        disputed.status_sertifikat = CertificateStatus.PROSES
        disputed.save()
        removed.delete()
        LandAsset.objects.filter(pk=assets[3].pk).update(geom=None)  # writes that bypass Django are counted too
        self.assertEqual(sum(c[0] for c in self.cells().values()), 10)
        self.assertEqual(self.cells(), recount())
        self.assertTrue(all(c[0] > 0 for c in self.cells().values()), "empty cells are deleted")
        self.assert_tiles_match_live_counts()

        # A removal (penghapusan) takes the asset off the map as it takes it out of the register; a restore brings
        # it back.
        written_off = assets[4]
        services.asset_remove(asset=written_off, user=None, sk_nomor="SK-9", tanggal=dt.date(2024, 5, 6))
        self.assertEqual(sum(c[0] for c in self.cells().values()), 9)
        self.assertEqual(self.cells(), recount())
        self.assert_tiles_match_live_counts()
        services.asset_restore(asset=written_off, user=None, reason="salah input")
        self.assertEqual(sum(c[0] for c in self.cells().values()), 10)
        self.assert_tiles_match_live_counts()

    def test_an_edit_that_moves_no_count_leaves_the_cells_alone(self):
        # Most edits (value, notes) change no cell: they must not write (and so lock) a cell row.
        asset = make_asset(agency=self.agency, geom=square(self.lon, self.lat, 0.0002))
        unlocated = make_asset(agency=self.agency, geom=None)

        def cell_writes(update: dict) -> int:
            if connection.vendor == "postgresql":  # a written row gets a new xmin
                query = f"SELECT xmin::text FROM {tile_cells.TABLE} ORDER BY x17, y17"  # noqa: S608 - a constant
                with connection.cursor() as cursor:
                    cursor.execute(query)
                    before = cursor.fetchall()
                    LandAsset.objects.filter(pk=asset.pk).update(**update)
                    cursor.execute(query)
                    return sum(a != b for a, b in zip(before, cursor.fetchall(), strict=True))
            # SQLite counts every row its triggers write in total_changes (the register version, SpatiaLite's
            # own bookkeeping too): the cells' share is what the same update of an unlocated asset does not write.
            raw = connection.connection

            def changes(pk: int) -> int:
                before = raw.total_changes
                LandAsset.objects.filter(pk=pk).update(**update)
                return raw.total_changes - before

            return changes(asset.pk) - changes(unlocated.pk)

        self.assertEqual(cell_writes({"nama_barang": "Tanah lain", "keterangan": "catatan"}), 0)
        self.assertGreater(cell_writes({"bermasalah": True}), 0)
        self.assertEqual(self.cells(), recount())

    def test_the_map_serves_the_cells_and_their_changes(self):
        self.client.force_login(make_user("auditor", permissions.AUDITOR))
        make_asset(agency=self.agency, geom=square(self.lon, self.lat, 0.0002))
        x, y = tile_of(self.lon, self.lat, 10)
        url = reverse("asset-tile", kwargs={"z": 10, "x": x, "y": y})
        first = self.client.get(url)
        self.assertEqual(
            [f[1] for f in features(first.content)], [(("n", 1), ("nb", 1), ("nd", 0), ("np", 0), ("nt", 0))]
        )
        make_asset(agency=self.agency, geom=square(self.lon + 0.0001, self.lat, 0.0001))
        again = self.client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        self.assertEqual(again.status_code, 200)
        self.assertEqual(sum(dict(f[1])["n"] for f in features(again.content)), 2)


class CellFlushTests(TransactionTestCase):
    """What the browser tests do between tests: flush every table. No negative or stale cell may survive it."""

    def test_flush_leaves_no_cells_and_counting_starts_again(self):
        load_reference()
        agency = Agency.objects.get(code="1.01.01")
        lon, lat = point_inside("64.71.01.1001")
        make_asset(agency=agency, geom=square(lon, lat, 0.0002))
        self.assertEqual(AssetCell.objects.count(), 1)
        self._fixture_teardown()  # the flush TransactionTestCase does after each test
        self.assertEqual(AssetCell.objects.count(), 0)

    def test_triggers_come_back_after_a_sqlite_table_rebuild(self):
        if connection.vendor != "sqlite":
            self.skipTest("SQLite only: Django rebuilds tables there (dropping their triggers); PostgreSQL alters them")
        tile_cells.uninstall()
        tile_version.uninstall()
        self.assertTrue(tile_cells.ensure_triggers())
        self.assertFalse(tile_cells.ensure_triggers())
        self.assertTrue(tile_version.ensure_triggers())
        self.assertFalse(tile_version.ensure_triggers())


class WriteCounterTests(TransactionTestCase):
    """The ETag's write counter (assets.tile_version): committed writes of any kind, in commit order."""

    def setUp(self):
        cache.clear()
        load_reference()
        agency = Agency.objects.get(code="1.01.01")
        self.lon, self.lat = point_inside("64.71.01.1001")
        # Far apart: different tile cells, so two writers do not wait for each other at a cell's row.
        self.a = make_asset(agency=agency, geom=square(self.lon, self.lat, 0.0002))
        self.b = make_asset(agency=agency, geom=square(self.lon + 0.2, self.lat, 0.0002))
        self.client.force_login(make_user("auditor", permissions.AUDITOR))

    def etag(self) -> str:
        x, y = tile_of(self.lon, self.lat, 17)
        return self.client.get(reverse("asset-tile", kwargs={"z": 17, "x": x, "y": y}))["ETag"]

    def test_a_raw_sql_write_changes_the_etag(self):
        before = self.etag()
        with connection.cursor() as cursor:  # no history row, no new asset, no Django signal
            cursor.execute("UPDATE assets_landasset SET status_sertifikat = 'terbit' WHERE id = %s", [self.a.pk])
        self.assertNotEqual(self.etag(), before)

    def test_writers_committing_out_of_id_order_both_change_the_etag(self):
        if connection.vendor != "postgresql":
            self.skipTest("PostGIS only: SQLite has one writer at a time, so it commits in the order of its ids")
        import psycopg

        settings = connection.settings_dict
        dsn = {"host": settings["HOST"], "port": settings["PORT"] or 5432, "user": settings["USER"]}
        first, second = (psycopg.connect(dbname=settings["NAME"], password=settings["PASSWORD"], **dsn) for _ in "ab")
        try:
            history = LandAsset.history.model._meta.db_table
            copy_row = (
                f"INSERT INTO {history} (id, kode_barang, nomor_register, nama_barang, alamat, tahun_perolehan, "  # noqa: S608
                "asal_usul, nilai_perolehan, penggunaan, luas_kib_m2, keterangan, plotting_status, status_sertifikat, "
                "tahap_sertifikat, bermasalah, version, created_at, agency_id, kecamatan_id, kelurahan_id, "
                "removal_note, "
                "removal_sk_nomor, history_date, history_type, history_change_reason, geom) "
                "SELECT id, kode_barang, nomor_register, nama_barang, alamat, tahun_perolehan, asal_usul, "
                "nilai_perolehan, penggunaan, luas_kib_m2, keterangan, plotting_status, status_sertifikat, "
                "tahap_sertifikat, bermasalah, version, created_at, agency_id, kecamatan_id, kelurahan_id, "
                "removal_note, "
                "removal_sk_nomor, now(), '~', 'test', geom FROM assets_landasset WHERE id = %s"
            )
            for writer in (first, second):  # a row both writers needed would make the second wait: fail, not hang
                writer.execute("SET lock_timeout = '30s'")
            # As a service write: a history row (its id handed out now; every column a service copies, so that the
            # as-of totals do not move and the two writers share no row) and the asset row.
            first.execute(copy_row, [self.a.pk])  # the lower history id...
            first.execute("UPDATE assets_landasset SET nama_barang = 'first' WHERE id = %s", [self.a.pk])
            second.execute(copy_row, [self.b.pk])  # ...the higher one, committed first
            second.execute("UPDATE assets_landasset SET nama_barang = 'second' WHERE id = %s", [self.b.pk])
            second.commit()
            between = self.etag()
            first.commit()  # the newest history id stays the second's: only the counter moves
            self.assertNotEqual(self.etag(), between)
        finally:
            first.close()
            second.close()
