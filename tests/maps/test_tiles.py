"""Vector tiles: decoded features and attributes, filters, permissions, caching headers."""

from __future__ import annotations

import datetime as dt
import math

import mapbox_vector_tile
from django.core.cache import cache
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assets.maps import tile_version, tiles
from assets.models import Agency, LandAsset, Stage, User
from assets.register import permissions, services
from assets.register.reads import RegisterSelection
from tests.factories import load_reference, make_asset, make_user, point_inside, square, tile_features


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)
    return x, y


class TileTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.other_agency = Agency.objects.get(code="1.02.01")
        cls.lon, cls.lat = point_inside("64.71.01.1001")
        cls.a = make_asset(agency=cls.agency, geom=square(cls.lon, cls.lat, 0.0002), nama_barang="Tanah A")
        cls.b = make_asset(
            agency=cls.other_agency,
            geom=square(cls.lon + 0.0006, cls.lat, 0.0002),
            nama_barang="Tanah B",
        )
        services.certificate_create(
            asset=cls.b,
            user=None,
            stage=Stage.SERTIFIKAT_TERBIT,
            jenis_hak="HP",
            nomor="00123",
            tanggal=dt.date(2020, 1, 2),
        )
        cls.far = make_asset(agency=cls.agency, geom=square(cls.lon + 0.5, cls.lat, 0.0002), nama_barang="Far")
        cls.auditor = make_user("auditor", permissions.AUDITOR)
        cls.norole = make_user("norole", None)

    def setUp(self):
        # Each test rolls the database back (ids may repeat): forget the cached tiles of the previous one.
        cache.clear()
        self.client.force_login(self.auditor)

    def get_tile(self, z: int, query: str = "", **headers):
        x, y = tile_of(self.lon, self.lat, z)
        url = reverse("asset-tile", kwargs={"z": z, "x": x, "y": y}) + (f"?{query}" if query else "")
        return self.client.get(url, **headers)

    def decode(self, response) -> list[dict]:
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], tiles.MEDIA_TYPE)
        data = mapbox_vector_tile.decode(response.content)
        return data["assets"]["features"] if data else []

    def test_polygon_tile_carries_ids_status_and_clipped_polygons(self):
        features = self.decode(self.get_tile(17))
        by_id = {f["properties"]["id"]: f for f in features}
        self.assertEqual(set(by_id), {self.a.pk, self.b.pk})
        self.assertEqual(by_id[self.a.pk]["properties"]["s"], "belum")
        self.assertEqual(by_id[self.b.pk]["properties"]["s"], "terbit")
        self.assertNotIn("d", by_id[self.a.pk]["properties"])
        self.assertIn(by_id[self.a.pk]["geometry"]["type"], {"Polygon", "MultiPolygon"})
        ring = by_id[self.a.pk]["geometry"]["coordinates"]
        while isinstance(ring[0][0], list):
            ring = ring[0]
        for x, y in ring:
            self.assertTrue(-tiles.BUFFER <= x <= tiles.EXTENT + tiles.BUFFER and -tiles.BUFFER <= y <= 4096 + 64)

    def test_point_zoom_has_one_point_per_asset(self):
        features = self.decode(self.get_tile(tiles.POINT_ZOOM))
        self.assertEqual({f["properties"]["id"] for f in features}, {self.a.pk, self.b.pk})
        self.assertTrue(all(f["geometry"]["type"] == "Point" for f in features))

    def test_low_zoom_aggregates_count_by_status(self):
        features = self.decode(self.get_tile(10))
        self.assertEqual(sum(f["properties"]["n"] for f in features), 2)
        self.assertEqual(sum(f["properties"].get("nt", 0) for f in features), 1)
        self.assertEqual(sum(f["properties"].get("nb", 0) for f in features), 1)

    def test_dispute_is_marked(self):
        certificate = services.certificate_create(asset=self.a, user=None, stage=Stage.PERSIAPAN_BERKAS)
        services.certificate_change_stage(
            certificate=certificate, user=None, to_stage=Stage.SENGKETA, tanggal_tahap=timezone.localdate()
        )
        features = self.decode(self.get_tile(17))
        props = {f["properties"]["id"]: f["properties"] for f in features}
        self.assertEqual(props[self.a.pk]["d"], "SENGKETA")
        aggregates = self.decode(self.get_tile(10))
        self.assertEqual(sum(f["properties"].get("nd", 0) for f in aggregates), 1)

    def test_filters_are_the_register_filters(self):
        features = self.decode(self.get_tile(17, "status=terbit"))
        self.assertEqual([f["properties"]["id"] for f in features], [self.b.pk])
        features = self.decode(self.get_tile(17, f"agency={self.agency.code}"))
        self.assertEqual([f["properties"]["id"] for f in features], [self.a.pk])
        features = self.decode(self.get_tile(17, "q=Tanah+B"))
        self.assertEqual([f["properties"]["id"] for f in features], [self.b.pk])

    def test_invalid_filter_is_a_clear_400(self):
        response = self.get_tile(17, "status=nonsense")
        self.assertEqual(response.status_code, 400)
        self.assertIn(b"status", response.content)

    def test_empty_tile_and_out_of_range(self):
        response = self.client.get(reverse("asset-tile", kwargs={"z": 17, "x": 0, "y": 0}))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"")
        response = self.client.get(reverse("asset-tile", kwargs={"z": 3, "x": 8, "y": 0}))
        self.assertEqual(response.status_code, 404)

    def test_permissions(self):
        self.client.logout()
        response = self.get_tile(17)
        self.assertEqual(response.status_code, 302)  # to the login page
        self.client.force_login(self.norole)
        self.assertEqual(self.get_tile(17).status_code, 403)
        for role in (permissions.OFFICER, permissions.BPKAD, permissions.PLANNER, permissions.ADMIN):
            self.client.force_login(make_user(f"u-{role}", role, self.agency))
            self.assertEqual(len(self.decode(self.get_tile(17))), 2, role)

    def test_etag_revalidates_and_changes_when_assets_change(self):
        first = self.get_tile(17)
        etag = first["ETag"]
        self.assertIn("no-cache", first["Cache-Control"])
        self.assertIn("private", first["Cache-Control"])
        again = self.get_tile(17, HTTP_IF_NONE_MATCH=etag)
        self.assertEqual(again.status_code, 304)
        self.assertNotEqual(self.get_tile(17, "status=terbit")["ETag"], etag)
        services.asset_update(asset=self.a, user=None, data={"nama_barang": "Tanah A baru"}, geom=self.a.geom)
        changed = self.get_tile(17, HTTP_IF_NONE_MATCH=etag)
        self.assertEqual(changed.status_code, 200)
        self.assertNotEqual(changed["ETag"], etag)

    def test_low_zoom_tiles_are_cached_until_the_register_changes(self):
        first = self.decode(self.get_tile(10))
        self.assertEqual(sum(f["properties"]["n"] for f in first), 2)
        self.assertEqual(self.get_tile(10).content, self.get_tile(10).content)  # the cached copy is the same tile
        make_asset(agency=self.agency, geom=square(self.lon + 0.002, self.lat, 0.0002))
        again = self.decode(self.get_tile(10))
        self.assertEqual(sum(f["properties"]["n"] for f in again), 3)

    def test_etag_changes_at_once_on_a_write_this_process_did_not_signal(self):
        # Nothing is memoised per process: a write by another process (here: an insert that sends no Django signal)
        # changes the next ETag, and the low-zoom cache serves nothing built before it.
        for z in (17, 10):
            first = self.get_tile(z)
            self.assertEqual(self.get_tile(z, HTTP_IF_NONE_MATCH=first["ETag"]).status_code, 304)
            history = LandAsset.history.model
            row = {**history.objects.filter(id=self.a.id).values().first(), "history_id": None, "nama_barang": f"z{z}"}
            history.objects.bulk_create([history(**row)])
            changed = self.get_tile(z, HTTP_IF_NONE_MATCH=first["ETag"])
            self.assertEqual(changed.status_code, 200)
            self.assertNotEqual(changed["ETag"], first["ETag"])

    def test_postgis_builds_a_tile_and_its_version_in_one_query(self):
        if connection.vendor != "postgresql":
            self.skipTest("PostGIS only: SpatiaLite runs in-process, round trips cost nothing there")
        x, y = tile_of(self.lon, self.lat, 17)
        with CaptureQueriesContext(connection) as queries:
            version, data = tiles.versioned_tile(RegisterSelection.everything(), z=17, x=x, y=y)
        self.assertEqual(len(queries), 1)
        self.assertEqual(version, tiles.register_version())
        self.assertEqual(len(mapbox_vector_tile.decode(data)["assets"]["features"]), 2)
        with connection.cursor() as cursor:  # the tile leaves the session's setting alone
            cursor.execute("SHOW max_parallel_workers_per_gather")
            self.assertNotEqual(cursor.fetchone()[0], "0")

    def test_a_signed_in_tile_reads_the_user_with_its_roles_in_one_query(self):
        # permissions.RoleBackend: the roles ride in the user's own SELECT (ModelBackend needed a second query),
        # read anew on every request.
        user_table = User._meta.db_table
        groups_table = User.groups.through._meta.db_table
        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(len(self.decode(self.get_tile(16))), 2)
        reading_groups = [q["sql"] for q in queries if groups_table in q["sql"]]
        self.assertEqual(len(reading_groups), 1, reading_groups)
        self.assertIn(f'FROM "{user_table}"', reading_groups[0])
        self.auditor.groups.clear()  # a role taken away counts from the next request
        self.assertEqual(self.get_tile(16).status_code, 403)
        self.auditor.is_active = False
        self.auditor.save()
        self.assertEqual(self.get_tile(16).status_code, 302)  # an inactive user is signed out

    def test_a_signed_in_postgis_tile_is_one_statement_after_the_session(self):
        # assets.maps.views.asset_tile: the session names the user; one statement reads the user, their roles, the
        # register version and the tile. Nothing else touches the database (no ORM user query).
        if connection.vendor != "postgresql":
            self.skipTest("PostGIS only: SpatiaLite takes Django's usual path")
        self.get_tile(16)  # the session's first read in this test, and the connection's health check
        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(len(self.decode(self.get_tile(16))), 2)
        statements = [q["sql"] for q in queries if "django_session" not in q["sql"]]
        self.assertEqual(len(statements), 1, statements)
        self.assertIn("ST_AsMVT", statements[0])
        self.assertIn(User.groups.through._meta.db_table, statements[0])
        with CaptureQueriesContext(connection) as queries:  # a revalidation: the same statement without the tile
            self.assertEqual(self.get_tile(16, HTTP_IF_NONE_MATCH=self.get_tile(16)["ETag"]).status_code, 304)
        self.assertNotIn("ST_AsMVT", [q["sql"] for q in queries if "django_session" not in q["sql"]][-1])

    def test_a_signed_in_tile_as_of_a_date_is_the_usual_paths_in_one_statement(self):
        # views._as_of_only: a tile whose query is only a date takes the one-statement path too (PostGIS), and gives
        # the usual path's tile and ETag (a map-only parameter sends the same request down the usual path).
        services.asset_update(asset=self.a, user=None, data={"nama_barang": "Tanah A baru"}, geom=None)
        day = timezone.localdate().isoformat()
        for z in (12, 14, 16):
            with self.subTest(z=z):
                self.get_tile(z, f"as_of={day}")  # the session's first read in this subtest
                with CaptureQueriesContext(connection) as queries:
                    one = self.get_tile(z, f"as_of={day}")
                # (read now: the next request empties the connection's query log)
                statements = [q["sql"] for q in queries if "django_session" not in q["sql"]]
                if connection.vendor == "postgresql":  # a cached low-zoom tile: the user and version only
                    built = z > tiles.CACHE_MAX_ZOOM
                    self.assertEqual(len(statements), 2 if built else 1, statements)  # (rows without history?)
                    self.assertIn(User.groups.through._meta.db_table, statements[-1])
                    self.assertEqual("ST_AsMVT" in statements[-1], built)
                usual = self.get_tile(z, f"as_of={day}&basemap=none")
                self.assertEqual(one["ETag"], usual["ETag"])
                self.assertEqual(tile_features(one.content), tile_features(usual.content))
                self.assertEqual(self.get_tile(z, f"as_of={day}", HTTP_IF_NONE_MATCH=one["ETag"]).status_code, 304)
        z16 = self.decode(self.get_tile(16, f"as_of={day}"))
        self.assertEqual([f["properties"]["id"] for f in z16], [self.b.pk])  # a's geometry was taken away today
        self.assertEqual(self.get_tile(16, "as_of=2999-01-01").status_code, 400)  # the usual path's error

    def test_the_signed_in_statement_is_prepared_once_per_connection(self):
        # assets.maps.tiles._prepared_cursor: the polygon tiles' and the revalidations' statement is planned once per
        # connection (a generic plan after PostgreSQL's five custom ones), and still reads each write at once.
        if connection.vendor != "postgresql":
            self.skipTest("PostGIS only")
        for _ in range(7):
            self.assertEqual(len(self.decode(self.get_tile(16))), 2)
            self.assertEqual(self.get_tile(16, HTTP_IF_NONE_MATCH=self.get_tile(16)["ETag"]).status_code, 304)
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements WHERE NOT from_sql")
            prepared = cursor.fetchall()
        tile_plans = [plans for statement, plans in prepared if "ST_AsMVT" in statement]
        revalidation_plans = [plans for statement, plans in prepared if "ST_AsMVT" not in statement]
        self.assertEqual(len(tile_plans), 1, prepared)
        self.assertGreaterEqual(tile_plans[0], 1)
        self.assertGreaterEqual(max(revalidation_plans, default=0), 1, prepared)
        LandAsset.objects.filter(pk=self.b.pk).update(geom=None)  # a write shows in the next run of the same plan
        self.assertEqual([f["properties"]["id"] for f in self.decode(self.get_tile(16))], [self.a.pk])

    def test_the_one_statement_path_keeps_djangos_sign_in_rules(self):
        # A password changed elsewhere signs the session out (Django's session hash), as on every other page.
        self.assertEqual(len(self.decode(self.get_tile(16))), 2)
        self.auditor.set_password("a new password 123")
        self.auditor.save()
        self.assertEqual(self.get_tile(16).status_code, 302)
        # A superuser without any group reads the register (the admin role), a user with no role does not.
        boss = make_user("boss", None)
        boss.is_superuser = True
        boss.save()
        self.client.force_login(boss)
        self.assertEqual(len(self.decode(self.get_tile(16))), 2)
        self.client.force_login(self.norole)
        self.assertEqual(self.get_tile(16).status_code, 403)
        self.client.logout()
        self.assertEqual(self.get_tile(16).status_code, 302)
        # A session naming a user who no longer exists is no session.
        self.client.force_login(boss)
        boss.delete()
        self.assertEqual(self.get_tile(16).status_code, 302)

    def test_postgis_version_function_is_the_version_and_keeps_tile_statements_serial(self):
        self.assertEqual(tile_version.HISTORY, LandAsset.history.model._meta.db_table)
        if connection.vendor != "postgresql":
            self.skipTest("PostGIS only: SpatiaLite selects tile_version.version_sql() itself")
        services.asset_update(asset=self.a, user=None, data={"nama_barang": "Tanah A baru"}, geom=self.a.geom)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {tile_version.VERSION_FUNCTION}(), {tile_version.version_sql()}")
            by_function, inline = cursor.fetchone()
        self.assertEqual(by_function, inline)
        self.assertEqual(len(by_function.split("-")), 3)
        # Parallel plans made free: the tile's SELECT alone gets workers, the statement calling the function none.
        # Pages read cost nothing too: workers share only the CPU part of a scan, and earlier tests leave the table
        # dozens of pages of dead rows (rolled back), so the saving fell under the planner's 1 % fuzz (failed in CI).
        x, y = tile_of(self.lon, self.lat, 14)
        sql, params = tiles.postgis_tile_sql(None, z=14, x=x, y=y)
        with connection.cursor() as cursor:
            for setting in (
                "parallel_setup_cost",
                "parallel_tuple_cost",
                "min_parallel_table_scan_size",
                "seq_page_cost",
            ):
                cursor.execute(f"SET LOCAL {setting} = 0")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            plans = []
            for statement in (sql, f"SELECT {tile_version.VERSION_FUNCTION}(), ({sql})"):
                cursor.execute(f"EXPLAIN {statement}", params)
                plans.append(" ".join(row[0] for row in cursor.fetchall()))
        self.assertIn("Gather", plans[0])
        self.assertNotIn("Gather", plans[1])

    def test_low_zoom_tiles_stay_small(self):
        # 100 more parcels within ~1.1 km: a handful of ~600 m aggregate cells at z10, not 102 features.
        for i in range(100):
            make_asset(
                agency=self.agency, geom=square(self.lon + (i % 10) * 0.001, self.lat + (i // 10) * 0.001, 0.0002)
            )
        features = self.decode(self.get_tile(10))
        self.assertLessEqual(len(features), 9)
        self.assertEqual(sum(f["properties"]["n"] for f in features), 102)
