"""The planners' query page /query/: shapes, areas, corridors, totals, area inside, bad input, offline assets."""

from __future__ import annotations

import json
import re

from django.test import TestCase

from assets.register import permissions
from tests.api_fixtures import build_register, metres_between, offset_point
from tests.factories import load_reference, make_user


class QueryPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.assets = build_register()
        cls.planner = make_user("planner", permissions.PLANNER)

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.client.force_login(self.planner)

    def rows(self, response) -> list[str]:
        table = re.search(r'<table class="table" id="query-results">(.*?)</table>', response.content.decode(), re.S)
        self.assertIsNotNone(table, "no result table")
        return re.findall(r"<td>(Tanah [^<]+)</td>", table.group(1))

    def test_anonymous_is_sent_to_login_and_a_user_without_role_refused(self):
        self.client.logout()
        response = self.client.get("/query/")
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith("/accounts/login/"))
        self.client.force_login(make_user("nobody", None))
        self.assertEqual(self.client.get("/query/").status_code, 403)

    def test_empty_page_has_the_drawing_tools_served_locally(self):
        response = self.client.get("/query/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn("/static/vendor/leaflet-draw/leaflet.draw.js", html)
        self.assertIn("/static/vendor/leaflet/leaflet.js", html)
        self.assertIn("SipanahQuery.attach(", html)
        for src in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html):
            self.assertTrue(src.startswith("/static/"), src)
        self.assertNotIn('id="query-results"', html)

    def test_drawn_polygon(self):
        x, y = self.assets["timur"].geom.centroid.coords
        polygon = {
            "type": "Polygon",
            "coordinates": [[[x - 0.01, y - 0.01], [x + 0.01, y - 0.01], [x, y + 0.01], [x - 0.01, y - 0.01]]],
        }
        response = self.client.get("/query/", {"intersects": json.dumps(polygon)})
        self.assertEqual(self.rows(response), ["Tanah Puskesmas Manggar"])
        self.assertContains(response, '<dd id="total-count">1</dd>', html=False)

    def test_picked_kecamatan_and_kelurahan(self):
        self.assertEqual(self.rows(self.client.get("/query/", {"area": "64.71.06"})), ["Tanah Kantor Walikota"])
        self.assertEqual(self.rows(self.client.get("/query/", {"area": "64.71.02.1004"})), ["Tanah SDN Kariangau"])

    def test_circle_is_a_point_and_a_radius_in_metres(self):
        kota = self.assets["kota"]
        x, y = kota.geom.centroid.coords
        lon, lat = offset_point(x, y, 0, 500)
        gap = metres_between(kota, lon, lat)
        near = self.client.get("/query/", {"point": f"{lon},{lat}", "distance": gap + 2})
        self.assertEqual(self.rows(near), ["Tanah Kantor Walikota"])
        far = self.client.get("/query/", {"point": f"{lon},{lat}", "distance": gap - 2})
        self.assertEqual(self.rows(far), [])

    def test_road_corridor_with_buffer(self):
        barat = self.assets["barat"]
        x, y = barat.geom.centroid.coords
        line = {
            "type": "LineString",
            "coordinates": [list(offset_point(x, y, 0, -800)), list(offset_point(x, y, 0, 800))],
        }
        response = self.client.get("/query/", {"corridor": json.dumps(line), "buffer": "20"})
        self.assertEqual(self.rows(response), ["Tanah SDN Kariangau"])

    def test_area_inside_the_shape_and_totals(self):
        kota = self.assets["kota"]
        x0, y0, x1, y1 = kota.geom.extent
        xm = (x0 + x1) / 2
        polygon = {
            "type": "Polygon",
            "coordinates": [
                [
                    [x0 - 0.01, y0 - 0.01],
                    [xm, y0 - 0.01],
                    [xm, y1 + 0.01],
                    [x0 - 0.01, y1 + 0.01],
                    [x0 - 0.01, y0 - 0.01],
                ]
            ],
        }
        response = self.client.get("/query/", {"intersects": json.dumps(polygon)})
        inside = float(
            re.search(r'<dd id="total-inside">([\d,.]+)</dd>', response.content.decode()).group(1).replace(",", "")
        )
        self.assertAlmostEqual(inside, float(kota.luas_gis_m2) / 2, delta=float(kota.luas_gis_m2) * 0.005)
        self.assertContains(response, "By agency")
        self.assertContains(response, kota.agency.name)

    def test_register_filters_narrow_the_query(self):
        response = self.client.get("/query/", {"bbox": "116.5,-1.5,117.5,-0.9", "agency": "1.02.01"})
        self.assertEqual(self.rows(response), ["Tanah Puskesmas Manggar"])

    def test_bad_shape_is_reported_on_the_page(self):
        bowtie = {
            "type": "Polygon",
            "coordinates": [[[116.8, -1.2], [116.9, -1.3], [116.9, -1.2], [116.8, -1.3], [116.8, -1.2]]],
        }
        response = self.client.get("/query/", {"intersects": json.dumps(bowtie)})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "The query is not valid")
        self.assertContains(response, "Self-intersection")
        self.assertNotContains(response, 'id="query-results"')
        response = self.client.get(
            "/query/", {"corridor": json.dumps({"type": "LineString", "coordinates": [[116.8, -1.2], [116.81, -1.2]]})}
        )
        self.assertContains(response, "buffer is missing")


class QueryExportTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.assets = build_register()
        cls.auditor = make_user("auditor", permissions.AUDITOR)
        cls.planner = make_user("planner", permissions.PLANNER)
        cls.officer = make_user("officer", permissions.OFFICER)

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def test_export_holds_exactly_the_query_result(self):
        self.client.force_login(self.auditor)
        page = self.client.get("/query/", {"bbox": "116.5,-1.5,117.5,-0.9", "agency": "1.01.01"})
        self.assertContains(page, "/query/export/?bbox=")
        response = self.client.get(
            "/query/export/", {"bbox": "116.5,-1.5,117.5,-0.9", "agency": "1.01.01", "format": "geojson"}
        )
        self.assertEqual(response.status_code, 200)
        data = json.loads(b"".join(response.streaming_content))
        names = sorted(f["properties"]["nama_barang"] for f in data["features"])
        self.assertEqual(names, ["Tanah Kantor Walikota", "Tanah SDN Kariangau"])

    def test_export_refuses_bad_input_and_roles_without_export(self):
        self.client.force_login(self.auditor)
        self.assertEqual(self.client.get("/query/export/", {"area": "64.71.06", "format": "doc"}).status_code, 400)
        self.assertEqual(self.client.get("/query/export/", {"format": "geojson"}).status_code, 400)  # no shape
        self.assertEqual(self.client.get("/query/export/", {"bbox": "1,2", "format": "csv"}).status_code, 400)
        self.client.force_login(self.officer)
        self.assertNotContains(self.client.get("/query/", {"area": "64.71.06"}), "/query/export/")
        self.assertEqual(self.client.get("/query/export/", {"area": "64.71.06"}).status_code, 403)

    def test_planners_export_their_query_result(self):
        self.client.force_login(self.planner)
        self.assertContains(self.client.get("/query/", {"area": "64.71.06"}), "/query/export/")
        response = self.client.get("/query/export/", {"area": "64.71.06", "format": "csv"})
        self.assertEqual(response.status_code, 200)
