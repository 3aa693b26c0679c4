"""REST API /api/v1/: authentication, roles, every filter, totals and 400s for bad query input."""

from __future__ import annotations

import base64
import json

from django.test import TestCase
from rest_framework.authtoken.models import Token

from assets.register import permissions
from tests.api_fixtures import build_register, metres_between, offset_point
from tests.factories import load_reference, make_user

URL = "/api/v1/assets/"
AGG = "/api/v1/assets/aggregate/"


class ApiTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.assets = build_register()
        cls.planner = make_user("planner", permissions.PLANNER)

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.client.force_login(self.planner)

    def names(self, **params) -> set[str]:
        response = self.client.get(URL, params)
        self.assertEqual(response.status_code, 200, response.content)
        data = response.json()
        self.assertEqual(data["type"], "FeatureCollection")
        keys = {asset.pk: key for key, asset in self.assets.items()}
        return {keys[f["id"]] for f in data["features"]}

    def bad(self, param: str, value: str, *fragments: str, url: str = URL) -> None:
        response = self.client.get(url, {param: value})
        self.assertEqual(response.status_code, 400, response.content)
        body = response.json()
        self.assertIn(param, body, body)
        message = " ".join(body[param])
        for fragment in fragments:
            self.assertIn(fragment, message)


class AuthenticationTests(ApiTestCase):
    def test_anonymous_clients_get_401_not_a_login_redirect(self):
        self.client.logout()
        for url in (URL, AGG, f"{URL}{self.assets['kota'].pk}/", "/api/v1/schema/"):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 401, url)
            self.assertIn("Basic", response["WWW-Authenticate"])

    def test_docs_page_is_for_signed_in_users_and_self_hosted(self):
        response = self.client.get("/api/v1/docs/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn("/static/drf_spectacular_sidecar/swagger-ui-dist/", html)
        self.assertNotIn("cdn.jsdelivr", html)
        self.assertNotIn("unpkg", html)
        self.client.logout()
        self.assertEqual(self.client.get("/api/v1/docs/").status_code, 302)

    def test_user_without_a_role_is_refused(self):
        self.client.force_login(make_user("nobody", None))
        self.assertEqual(self.client.get(URL).status_code, 403)

    def test_every_role_reads(self):
        for role in (permissions.OFFICER, permissions.BPKAD, permissions.AUDITOR, permissions.ADMIN):
            self.client.force_login(make_user(f"u-{role}", role))
            self.assertEqual(len(self.client.get(URL).json()["features"]), 4, role)

    def test_token_authentication_and_revocation(self):
        self.client.logout()
        token = Token.objects.create(user=self.planner)
        response = self.client.get(URL, HTTP_AUTHORIZATION=f"Token {token.key}")
        self.assertEqual(response.status_code, 200)
        token.delete()  # revoked
        self.assertEqual(self.client.get(URL, HTTP_AUTHORIZATION=f"Token {token.key}").status_code, 401)

    def test_basic_authentication(self):
        self.client.logout()
        good = base64.b64encode(b"planner:pw-planner").decode()
        wrong = base64.b64encode(b"planner:nope").decode()
        self.assertEqual(self.client.get(URL, HTTP_AUTHORIZATION=f"Basic {good}").status_code, 200)
        self.assertEqual(self.client.get(URL, HTTP_AUTHORIZATION=f"Basic {wrong}").status_code, 401)

    def test_read_only(self):
        self.assertEqual(self.client.post(URL, {}, content_type="application/json").status_code, 405)
        pk = self.assets["kota"].pk
        self.assertEqual(self.client.delete(f"{URL}{pk}/").status_code, 405)


class OutputTests(ApiTestCase):
    def test_feature_has_geometry_in_crs84_and_properties(self):
        kota = self.assets["kota"]
        response = self.client.get(f"{URL}{kota.pk}/")
        feature = response.json()
        self.assertEqual(feature["type"], "Feature")
        self.assertEqual(feature["geometry"]["type"], "MultiPolygon")
        ring = feature["geometry"]["coordinates"][0][0]
        expected = kota.geom.coords[0][0]
        for (x, y), (ex, ey) in zip(ring, expected, strict=True):
            self.assertAlmostEqual(x, ex, places=6)
            self.assertAlmostEqual(y, ey, places=6)
        props = feature["properties"]
        self.assertEqual(props["agency_code"], "1.01.01")
        self.assertEqual(props["kelurahan_code"], "64.71.06.1003")
        self.assertEqual(props["kecamatan_code"], "64.71.06")
        self.assertEqual(props["status_sertifikat"], "terbit")
        self.assertEqual(props["luas_kib_m2"], 500.0)

    def test_list_writes_each_feature_as_the_serializer_does(self):
        # Lists are written by geojson_out (SQL on PostGIS); single assets by the DRF serializer.
        listed = {f["id"]: f for f in self.client.get(URL).json()["features"]}
        self.assertEqual(len(listed), 4)
        for asset in self.assets.values():
            single = self.client.get(f"{URL}{asset.pk}/").json()
            self.assertEqual(listed[asset.pk]["properties"], single["properties"], asset)
            self.assertEqual(listed[asset.pk]["geometry"], single["geometry"], asset)

    def test_unplotted_asset_has_null_geometry(self):
        feature = self.client.get(f"{URL}{self.assets['unplotted'].pk}/").json()
        self.assertIsNone(feature["geometry"])

    def test_pagination(self):
        data = self.client.get(URL, {"page_size": 3}).json()
        self.assertEqual(data["count"], 4)
        self.assertEqual(len(data["features"]), 3)
        self.assertIn("page=2", data["next"])
        second = self.client.get(data["next"]).json()
        self.assertEqual(len(second["features"]), 1)
        self.assertIsNone(second["next"])
        self.assertNotIn("page=", second["previous"])
        ids = [f["id"] for f in data["features"] + second["features"]]
        self.assertEqual(ids, sorted(a.pk for a in self.assets.values()))
        self.assertEqual(self.client.get(URL, {"page": 3, "page_size": 3}).status_code, 404)
        self.assertEqual(self.client.get(URL, {"page": "zero"}).status_code, 404)
        empty = self.client.get(URL, {"bbox": "100,10,101,11"}).json()
        self.assertEqual((empty["count"], empty["features"], empty["next"]), (0, [], None))


class RegisterFilterTests(ApiTestCase):
    def test_status(self):
        self.assertEqual(self.names(status="terbit"), {"kota"})
        self.assertEqual(self.names(status=["proses", "belum"]), {"timur", "barat", "unplotted"})

    def test_stage(self):
        self.assertEqual(self.names(tahap="PENGUKURAN"), {"timur"})

    def test_agency(self):
        self.assertEqual(self.names(agency="1.01.01"), {"kota", "barat"})

    def test_kecamatan_and_kelurahan_codes(self):
        self.assertEqual(self.names(kecamatan="64.71.01"), {"timur"})
        self.assertEqual(self.names(kelurahan="64.71.02.1004"), {"barat"})

    def test_jenis_hak(self):
        self.assertEqual(self.names(jenis_hak="HP"), {"kota"})
        self.assertEqual(self.names(jenis_hak="HPL"), {"timur"})

    def test_year_range(self):
        self.assertEqual(self.names(tahun_min=2005, tahun_max=2015), {"kota", "timur"})
        self.assertEqual(self.names(tahun_max=2000), {"unplotted"})

    def test_area_range(self):
        self.assertEqual(self.names(luas_min=800, luas_max=5000), {"timur", "unplotted"})
        self.assertEqual(self.names(luas_min=10000), {"barat"})

    def test_filters_combine(self):
        self.assertEqual(self.names(agency="1.01.01", tahun_min=2010), {"barat"})

    def test_invalid_register_filter_values_are_400(self):
        self.bad("status", "dunno", "dunno")
        self.bad("agency", "9.99.99")
        self.bad("tahun_min", "last year")


class SpatialFilterTests(ApiTestCase):
    def test_bbox(self):
        x0, y0, x1, y1 = self.assets["kota"].geom.extent
        self.assertEqual(self.names(bbox=f"{x0 - 0.001},{y0 - 0.001},{x1 + 0.001},{y1 + 0.001}"), {"kota"})
        self.assertEqual(self.names(bbox="116.5,-1.5,117.5,-0.9"), {"kota", "timur", "barat"})
        self.assertEqual(self.names(bbox="100,10,101,11"), set())

    def test_intersects_geojson_polygon(self):
        x, y = self.assets["timur"].geom.centroid.coords
        polygon = {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y]]]}
        self.assertEqual(self.names(intersects=json.dumps(polygon)), {"timur"})
        line = {"type": "LineString", "coordinates": [[x - 0.01, y], [x + 0.01, y]]}
        self.assertEqual(self.names(intersects=json.dumps(line)), {"timur"})

    def test_within_distance_of_a_point_in_metres(self):
        kota = self.assets["kota"]
        x, y = kota.geom.centroid.coords
        lon, lat = offset_point(x, y, 400, 0)
        gap = metres_between(kota, lon, lat)
        self.assertGreater(gap, 300)  # the parcel's edge is ~345 m away: metres, not degrees
        self.assertEqual(self.names(point=f"{lon},{lat}", distance=gap + 2), {"kota"})
        self.assertEqual(self.names(point=f"{lon},{lat}", distance=gap - 2), set())

    def test_corridor_along_a_line(self):
        barat = self.assets["barat"]
        x, y = barat.geom.centroid.coords
        start, end = offset_point(x, y, -1000, 150), offset_point(x, y, 1000, 150)
        line = json.dumps({"type": "LineString", "coordinates": [list(start), list(end)]})
        gap = metres_between(barat, *offset_point(x, y, 0, 150))
        self.assertEqual(self.names(corridor=line, buffer=gap + 2), {"barat"})
        self.assertEqual(self.names(corridor=line, buffer=gap - 2), set())

    def test_area_code_is_spatial(self):
        self.assertEqual(self.names(area="64.71.06"), {"kota"})
        self.assertEqual(self.names(area="64.71.02.1004"), {"barat"})

    def test_spatial_and_register_filters_combine(self):
        self.assertEqual(self.names(bbox="116.5,-1.5,117.5,-0.9", agency="1.02.01"), {"timur"})

    def test_bad_spatial_input_is_400_naming_the_problem(self):
        self.bad("intersects", "{not json", "not valid JSON")
        self.bad("intersects", '{"type": "Polygon"}', "coordinates")
        self.bad("intersects", '{"type": "Polygon", "coordinates": [[[1, 2], [3]]]}', "malformed")
        bowtie = {
            "type": "Polygon",
            "coordinates": [[[116.8, -1.2], [116.9, -1.3], [116.9, -1.2], [116.8, -1.3], [116.8, -1.2]]],
        }
        self.bad("intersects", json.dumps(bowtie), "Self-intersection")
        self.bad("intersects", '{"type": "Point", "coordinates": [500, 0]}', "outside longitude")
        self.bad("intersects", '{"type": "GeometryCollection", "geometries": []}', "not supported")
        self.bad("bbox", "1,2,3", "4 numbers")
        self.bad("bbox", "116,-1,200,0", "outside longitude")
        self.bad("bbox", "117,-1,116,0", "minimum corner")
        self.bad("bbox", "a,b,c,d", "not a number")
        self.bad("point", "116.8", "lon,lat")
        self.bad("area", "99.99", "no kecamatan or kelurahan")
        # A '%' typed by the user once broke django-filter's message formatting (found by
        # tests/interop/test_api_schema.py).
        self.bad("area", "%", "no kecamatan or kelurahan has the code %")
        self.bad("intersects", "%(x)s", "not valid JSON")
        self.bad("distance", "5%", "not a number")
        for absurd in ("0", "-5", "1e9", "nan"):
            response = self.client.get(URL, {"point": "116.8,-1.2", "distance": absurd})
            self.assertEqual(response.status_code, 400, absurd)
            self.assertIn("distance", response.json())
        response = self.client.get(URL, {"point": "116.8,-1.2"})
        self.assertIn("distance is missing", " ".join(response.json()["distance"]))
        response = self.client.get(URL, {"corridor": '{"type": "Polygon", "coordinates": []}', "buffer": "10"})
        self.assertEqual(response.status_code, 400)

    def test_unknown_filter_is_400(self):
        self.bad("colour", "red", "Unknown parameter 'colour'")
        self.bad("in_bbox", "1,2,3,4", "Unknown parameter")
        self.bad("colour", "red", "Unknown parameter", url=AGG)


class AggregateTests(ApiTestCase):
    def test_totals_for_the_same_filters(self):
        data = self.client.get(AGG).json()
        self.assertEqual(data["count"], 4)
        self.assertEqual(data["luas_kib_m2"], 500 + 5000 + 12000 + 800)
        self.assertEqual(data["nilai_perolehan"], 10_000_000)
        self.assertEqual(data["by_status"], {"belum": 2, "proses": 1, "terbit": 1})
        by_agency = {row["agency_code"]: row for row in data["by_agency"]}
        self.assertEqual(by_agency["1.01.01"]["count"], 2)
        self.assertEqual(by_agency["1.02.01"]["luas_kib_m2"], 5800)
        self.assertIsNone(data["area_inside_m2"])

        filtered = self.client.get(AGG, {"agency": "1.01.01", "status": "terbit"}).json()
        self.assertEqual(filtered["count"], 1)
        self.assertEqual(filtered["nilai_perolehan"], 1_000_000)

    def test_area_inside_a_shape_is_geodesic(self):
        kota = self.assets["kota"]
        x0, y0, x1, y1 = kota.geom.extent
        xm = (x0 + x1) / 2
        # The western half of the parcel.
        data = self.client.get(AGG, {"bbox": f"{x0 - 0.01},{y0 - 0.01},{xm},{y1 + 0.01}"}).json()
        self.assertEqual(data["count"], 1)
        self.assertAlmostEqual(
            data["area_inside_m2"], float(kota.luas_gis_m2) / 2, delta=float(kota.luas_gis_m2) * 0.005
        )
        self.assertGreater(data["query_area_m2"], data["area_inside_m2"])

    def test_bad_input_is_400(self):
        self.bad("bbox", "1,2", "4 numbers", url=AGG)
