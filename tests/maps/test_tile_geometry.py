"""The parcel geometry in EPSG:3857 that PostgreSQL keeps for the polygon tiles (assets.maps.tile_geometry): it
follows every kind of write, and SpatiaLite has no such column."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import mapbox_vector_tile
from django.db import DatabaseError, connection, transaction
from django.test import TestCase, TransactionTestCase

from assets.maps import tile_geometry, tiles
from assets.models import Agency, LandAsset
from assets.register import services
from assets.register.reads import RegisterSelection
from assets.transfer.importing.run import run_import
from tests.factories import five_parcel_geojson, load_reference, make_asset, point_inside, square
from tests.maps.test_tile_cells import tile_of


def stale_rows(table: str = tile_geometry.TABLE) -> list[int]:
    """Ids of the rows whose stored copy is not exactly ST_Transform(geom, 3857) now (NULL with NULL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE ST_AsEWKB({tile_geometry.COLUMN}) "  # noqa: S608 - constants
            "IS DISTINCT FROM ST_AsEWKB(ST_Transform(geom, 3857)) ORDER BY id"
        )
        return [row[0] for row in cursor.fetchall()]


def stored_count(table: str = tile_geometry.TABLE) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count({tile_geometry.COLUMN}) FROM {table}")  # noqa: S608 - constants
        return cursor.fetchone()[0]


def has_column(table: str) -> bool:
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, table)
    return tile_geometry.COLUMN in {c.name for c in columns}


class TileGeometryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.lon, cls.lat = point_inside("64.71.01.1001")

    def setUp(self):
        if connection.vendor != "postgresql":
            self.skipTest("PostgreSQL only (SpatiaLite draws its tiles from geom in Python)")

    def test_the_copy_follows_every_kind_of_write(self):
        assets = [make_asset(agency=self.agency, geom=square(self.lon + i * 0.003, self.lat, 0.0002)) for i in range(6)]
        unlocated = make_asset(agency=self.agency, geom=None)
        self.assertEqual((stale_rows(), stored_count()), ([], 6))

        services.asset_update(asset=assets[0], user=None, data={}, geom=square(self.lon, self.lat + 0.01, 0.0003))
        assets[1].geom = square(self.lon + 0.02, self.lat, 0.0001)
        assets[1].save()  # a plain ORM save
        LandAsset.objects.filter(pk=assets[2].pk).update(geom=square(self.lon - 0.01, self.lat, 0.0002))
        LandAsset.objects.filter(pk=unlocated.pk).update(geom=square(self.lon, self.lat - 0.01, 0.0002))
        LandAsset.objects.filter(pk=assets[3].pk).update(geom=None)  # no location: no copy
        with connection.cursor() as cursor:  # raw SQL, bypassing Django
            cursor.execute(
                "UPDATE assets_landasset SET geom = ST_Multi(ST_Translate(geom, 0.001, 0.002)) WHERE id = %s",
                [assets[4].pk],
            )
        LandAsset.objects.filter(pk=assets[5].pk).update(nama_barang="Tanah lain")  # other columns: unchanged copy
        self.assertEqual(stale_rows(), [])
        self.assertEqual(stored_count(), 6)
        self.assertEqual(tile_geometry.HISTORY, LandAsset.history.model._meta.db_table)
        self.assertEqual(stale_rows(tile_geometry.HISTORY), [])  # the history rows the writes added (as-of tiles)
        self.assertGreater(stored_count(tile_geometry.HISTORY), 6)
        moved = LandAsset.objects.get(pk=assets[4].pk).geom
        self.assertAlmostEqual(moved.extent[0], assets[4].geom.extent[0] + 0.001, places=9)

        with self.assertRaises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            # nothing may write it but PostgreSQL
            cursor.execute(f"UPDATE assets_landasset SET {tile_geometry.COLUMN} = NULL WHERE id = %s", [assets[0].pk])  # noqa: S608

    def test_polygon_tiles_draw_the_current_geometry(self):
        asset = make_asset(agency=self.agency, geom=square(self.lon, self.lat, 0.0002))
        z = 17
        x, y = tile_of(self.lon, self.lat, z)

        def shapes() -> list:
            data = tiles.versioned_tile(RegisterSelection.everything(), z=z, x=x, y=y)[1]
            found = mapbox_vector_tile.decode(data)["assets"]["features"] if data else []
            return [f["geometry"]["coordinates"] for f in found if f["properties"]["id"] == asset.pk]

        before = shapes()
        self.assertEqual(len(before), 1)
        with connection.cursor() as cursor:  # a raw write moves the drawn shape too
            cursor.execute(
                "UPDATE assets_landasset SET geom = ST_Multi(ST_Translate(geom, 0.0001, 0)) WHERE id = %s", [asset.pk]
            )
        after = shapes()
        self.assertEqual(len(after), 1)
        self.assertNotEqual(before, after)


class TileGeometryImportTests(TransactionTestCase):
    def setUp(self):
        load_reference()

    def test_an_import_writes_the_copy(self):
        if connection.vendor != "postgresql":
            self.assertFalse(has_column(tile_geometry.TABLE) or has_column(tile_geometry.HISTORY), "not on SpatiaLite")
            return
        self.assertTrue(has_column(tile_geometry.TABLE) and has_column(tile_geometry.HISTORY))
        tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        path = five_parcel_geojson(tmp)
        report = run_import(path)  # the importer's COPY
        self.assertTrue(report.committed, report.errors)
        self.assertEqual(LandAsset.objects.count(), 5)
        self.assertEqual((stale_rows(), stored_count()), ([], 3))
        self.assertEqual((stale_rows(tile_geometry.HISTORY), stored_count(tile_geometry.HISTORY)), ([], 3))
