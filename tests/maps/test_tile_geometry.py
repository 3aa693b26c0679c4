"""The parcel geometry in EPSG:3857 that PostgreSQL keeps for the polygon tiles (assets.maps.tile_geometry): it
follows every kind of write, and SpatiaLite has no such column."""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import mapbox_vector_tile
import shapely
from django.contrib.gis.geos import MultiPolygon, Polygon
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


class PostgisTileCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.lon, cls.lat = point_inside("64.71.01.1001")

    def setUp(self):
        if connection.vendor != "postgresql":
            self.skipTest("PostgreSQL only (SpatiaLite draws its tiles from geom in Python)")


class TileGeometryTests(PostgisTileCase):
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


def reference_tile(z: int, x: int, y: int) -> dict[int, shapely.Geometry]:
    """The parcels of the live register's tile as ST_AsMVTGeom alone draws them (clipped and validated by wagyu)."""
    sql = """SELECT ST_AsMVT(t, 'assets', 4096, 'geom') FROM (
               SELECT id, ST_AsMVTGeom(geom_3857, ST_TileEnvelope(%s, %s, %s), 4096, 64, true) AS geom
               FROM assets_landasset WHERE geom && ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)
             ) t"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [z, x, y, z, x, y])
        return decoded(bytes(cursor.fetchone()[0] or b""))


def decoded(data: bytes) -> dict[int, shapely.Geometry]:
    found = mapbox_vector_tile.decode(data)["assets"]["features"] if data else []
    return {f["properties"]["id"]: shapely.geometry.shape(f["geometry"]) for f in found}


class DrawnParcelTests(PostgisTileCase):
    """Polygon tiles draw the parcels that lie within them and keep a clearance of √2 tile units by transforming and
    rounding their vertices (assets.maps.tiles.drawn_sql), the rest through ST_AsMVTGeom: the same shapes."""

    def polygon(self, *rings: list[tuple[float, float]]) -> Polygon:
        """A polygon from rings of (east, north) offsets in metres from the test's point."""
        metre = 1 / 111_320
        return Polygon(*[[(self.lon + e * metre, self.lat + n * metre) for e, n in ring] for ring in rings])

    def test_the_shapes_are_those_of_st_asmvtgeom(self):
        square_ring = [(0, 0), (40, 0), (40, 30), (0, 30), (0, 0)]
        shapes = {
            "square": [square_ring],
            "many vertices": [
                [(60 + 20 * math.cos(a / 20 * math.pi), 20 * math.sin(a / 20 * math.pi)) for a in range(40)] + [(80, 0)]
            ],  # fmt: skip
            "hole": [[(0, 50), (50, 50), (50, 90), (0, 90), (0, 50)], [(10, 60), (20, 60), (20, 70), (10, 60)]],
            # a spike 5 cm from the bottom edge: its clearance is below a unit at every polygon zoom, rounding would
            # make it touch the edge: ST_AsMVTGeom draws it
            "sliver": [[(100, 0), (160, 0), (160, 40), (130, 0.05), (100, 40), (100, 0)]],
            "collinear": [[(0, 100), (20, 100), (40, 100), (40, 120), (0, 120), (0, 100)]],
        }
        assets = {
            name: make_asset(agency=self.agency, geom=MultiPolygon(self.polygon(*rings), srid=4326))
            for name, rings in shapes.items()
        }
        two_parts = MultiPolygon(self.polygon([(200, 0), (210, 0), (210, 10), (200, 0)]),
                                 self.polygon([(215, 0), (225, 0), (225, 10), (215, 0)]), srid=4326)  # fmt: skip
        assets["two parts"] = make_asset(agency=self.agency, geom=two_parts)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, {tile_geometry.CLEARANCE} FROM assets_landasset")  # noqa: S608 - constants
            clearance = dict(cursor.fetchall())
        self.assertLess(clearance[assets["sliver"].pk], 0.06)
        self.assertGreater(clearance[assets["square"].pk], 9.9)
        drawn_fast: dict[int, set[int]] = {}  # zoom: parcels drawn without ST_AsMVTGeom in some tile
        for z in range(tiles.POLYGON_MIN_ZOOM, 21):
            # the point's tile and its neighbours: parcels within a tile and parcels across its edges (clipped)
            x0, y0 = tile_of(self.lon + 100 / 111_320, self.lat + 50 / 111_320, z)
            for x, y in ((x0, y0), (x0 + 1, y0), (x0, y0 - 1), (x0 - 1, y0 + 1)):
                sql, params = tiles.postgis_tile_sql(None, z=z, x=x, y=y)
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    ours = decoded(bytes(cursor.fetchone()[0] or b""))
                    threshold, *envelope = tiles.drawn_params(z, x, y, tiles.EXTENT)[:4]
                    cursor.execute(  # the parcels drawn_sql's CASE sends to the transform and rounding
                        f"SELECT id FROM assets_landasset WHERE {tile_geometry.CLEARANCE} > %s AND "  # noqa: S608
                        f"{tile_geometry.COLUMN} @ ST_TileEnvelope(%s, %s, %s, margin => %s)",
                        [threshold, *envelope, tiles.BUFFER / tiles.EXTENT],
                    )
                    drawn_fast.setdefault(z, set()).update(row[0] for row in cursor.fetchall())
                reference = reference_tile(z, x, y)
                self.assertEqual(set(ours), set(reference), (z, x, y))
                for pk, shape in ours.items():
                    self.assertTrue(shape.is_valid, (z, x, y, pk))
                    self.assertTrue(shape.equals(reference[pk]), (z, x, y, pk, shape.wkt, reference[pk].wkt))
        # At z15 (0.3 m a unit) rounding could make the sliver's spike touch its edge: ST_AsMVTGeom draws it; at
        # z20 (1 cm a unit) it could not, and its clearance lets it through. Every other parcel is drawn without
        # ST_AsMVTGeom in a tile that holds it.
        self.assertNotIn(assets["sliver"].pk, drawn_fast[15])
        self.assertGreater(
            clearance[assets["sliver"].pk], tiles.drawn_params(20, *tile_of(self.lon, self.lat, 20), 4096)[0]
        )
        self.assertEqual(drawn_fast[15], {a.pk for name, a in assets.items() if name != "sliver"})


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
