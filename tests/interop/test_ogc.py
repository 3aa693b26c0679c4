"""OGC API – Features Part 1 at /ogc/: resources, paging, bbox, datetime, 400s, HTML, authentication."""

from __future__ import annotations

import base64
import datetime as dt

from django.test import TestCase

from assets.models import AdministrativeArea
from assets.register import permissions, services
from tests.api_fixtures import build_register
from tests.factories import load_reference, make_user

ITEMS = "/ogc/collections/assets/items"


class OgcTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.assets = build_register()
        cls.auditor = make_user("auditor", permissions.AUDITOR)

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.client.force_login(self.auditor)

    def get_json(self, url: str, params: dict | None = None, status: int = 200) -> dict:
        response = self.client.get(url, params or {})
        self.assertEqual(response.status_code, status, response.content[:500])
        return response.json()

    def ids(self, **params) -> set[str]:
        keys = {asset.pk: key for key, asset in self.assets.items()}
        data = self.get_json(ITEMS, params)
        return {keys[f["id"]] for f in data["features"]}


class ResourceTests(OgcTestCase):
    def test_landing_page_links(self):
        data = self.get_json("/ogc/")
        rels = {link["rel"]: link["href"] for link in data["links"]}
        self.assertTrue(rels["service-desc"].endswith("/ogc/api"))
        self.assertTrue(rels["conformance"].endswith("/ogc/conformance"))
        self.assertTrue(rels["data"].endswith("/ogc/collections"))
        self.assertTrue(rels["self"].endswith("/ogc/?f=json"))

    def test_conformance(self):
        conforms = self.get_json("/ogc/conformance")["conformsTo"]
        for cls in ("core", "geojson", "html", "oas30"):
            self.assertIn(f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{cls}", conforms)

    def test_api_definition_is_openapi_3(self):
        response = self.client.get("/ogc/api")
        self.assertEqual(response.status_code, 200)
        self.assertIn("application/vnd.oai.openapi+json", response["Content-Type"])
        doc = response.json()
        self.assertTrue(doc["openapi"].startswith("3.0"))
        limit = next(
            p for p in doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"] if p["name"] == "limit"
        )
        self.assertEqual((limit["schema"]["default"], limit["schema"]["maximum"]), (10, 10_000))

    def test_collections(self):
        data = self.get_json("/ogc/collections")
        self.assertEqual(
            [c["id"] for c in data["collections"]], ["assets", "kecamatan", "kelurahan", "disputes", "utilisations"]
        )
        assets = data["collections"][0]
        self.assertEqual(assets["crs"], ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"])
        xmin, ymin, xmax, ymax = assets["extent"]["spatial"]["bbox"][0]
        self.assertTrue(116 < xmin < xmax < 118 and -2 < ymin < ymax < 0)
        self.assertEqual(assets["extent"]["temporal"]["interval"], [["1999-12-31T00:00:00Z", "2015-07-09T00:00:00Z"]])
        self.assertIn("items", {link["rel"] for link in assets["links"]})
        self.assertEqual(self.get_json("/ogc/collections/kelurahan")["id"], "kelurahan")
        self.get_json("/ogc/collections/roads", status=404)

    def test_boundary_collections(self):
        data = self.get_json("/ogc/collections/kecamatan/items", {"limit": 100})
        self.assertEqual(data["numberMatched"], AdministrativeArea.objects.filter(level="kecamatan").count())
        self.assertEqual(data["numberMatched"], 6)
        data = self.get_json("/ogc/collections/kelurahan/items", {"limit": 100})
        self.assertEqual(data["numberReturned"], AdministrativeArea.objects.filter(level="kelurahan").count())
        self.assertIn("kecamatan_code", data["features"][0]["properties"])

    def test_single_feature(self):
        kota = self.assets["kota"]
        feature = self.get_json(f"{ITEMS}/{kota.pk}")
        self.assertEqual(feature["id"], kota.pk)
        self.assertEqual(feature["properties"]["kode_barang"], kota.kode_barang)
        x, y = feature["geometry"]["coordinates"][0][0][0]
        ex, ey = kota.geom.coords[0][0][0]
        self.assertAlmostEqual(x, ex, places=6)  # CRS84: longitude first
        self.assertAlmostEqual(y, ey, places=6)
        self.assertEqual(self.client.get(f"{ITEMS}/999999").status_code, 404)
        self.assertEqual(self.client.get(f"{ITEMS}/abc").status_code, 404)


class ItemsTests(OgcTestCase):
    def test_default_limit_and_paging_links(self):
        data = self.get_json(ITEMS)
        self.assertEqual((data["numberMatched"], data["numberReturned"]), (4, 4))
        self.assertNotIn("next", {link["rel"] for link in data["links"]})

        page1 = self.get_json(ITEMS, {"limit": 3})
        self.assertEqual((page1["numberMatched"], page1["numberReturned"]), (4, 3))
        links = {link["rel"]: link["href"] for link in page1["links"]}
        self.assertNotIn("prev", links)
        page2 = self.client.get(links["next"]).json()
        self.assertEqual(page2["numberReturned"], 1)
        links2 = {link["rel"]: link["href"] for link in page2["links"]}
        self.assertNotIn("next", links2)
        self.assertIn("offset=0", links2["prev"])
        ids = [f["id"] for f in page1["features"] + page2["features"]]
        self.assertEqual(ids, sorted(a.pk for a in self.assets.values()))
        beyond = self.get_json(ITEMS, {"offset": 10})
        self.assertEqual((beyond["features"], beyond["numberMatched"], beyond["numberReturned"]), ([], 4, 0))
        empty = self.get_json(ITEMS, {"bbox": "100,10,101,11"})
        self.assertEqual((empty["features"], empty["numberMatched"]), ([], 0))

    def test_items_properties_have_json_types_on_every_database(self):
        # PostGIS writes the features in SQL, SpatiaLite in Python: the output must be the same.
        kota = self.assets["kota"]
        feature = next(f for f in self.get_json(ITEMS)["features"] if f["id"] == kota.pk)
        self.assertEqual(feature["type"], "Feature")
        self.assertEqual(
            feature["properties"],
            {
                "kode_barang": kota.kode_barang,
                "nomor_register": kota.nomor_register,
                "nama_barang": "Tanah Kantor Walikota",
                "agency_code": "1.01.01",
                "kelurahan_code": "64.71.06.1003",
                "kecamatan_code": "64.71.06",
                "tanggal_perolehan": "2005-03-01",
                "tahun_perolehan": 2005,
                "nilai_perolehan": 1000000.0,
                "luas_kib_m2": 500.0,
                "luas_gis_m2": float(kota.luas_gis_m2),
                "plotting_status": kota.plotting_status,
                "status_sertifikat": "terbit",
                "tahap_sertifikat": "SERTIFIKAT_TERBIT",
                "bermasalah": False,
            },
        )
        self.assertEqual(feature["geometry"]["type"], "MultiPolygon")
        unplotted = next(f for f in self.get_json(ITEMS)["features"] if f["id"] == self.assets["unplotted"].pk)
        self.assertIsNone(unplotted["geometry"])
        self.assertIsNone(unplotted["properties"]["kelurahan_code"])
        self.assertIsNone(unplotted["properties"]["luas_gis_m2"])

    def test_removed_assets_leave_the_collection_and_stay_in_the_api_on_request(self):
        services.asset_remove(asset=self.assets["barat"], user=None, sk_nomor="SK 1/2024", tanggal=dt.date(2024, 1, 2))
        self.assertEqual(self.ids(), {"kota", "timur", "unplotted"})
        self.assertEqual(self.client.get(f"{ITEMS}/{self.assets['barat'].pk}").status_code, 404)
        api = self.client.get("/api/v1/assets/", {"removed": "only"}).json()
        self.assertEqual([f["id"] for f in api["features"]], [self.assets["barat"].pk])

    def test_default_limit_is_10(self):
        data = self.get_json("/ogc/collections/kelurahan/items")
        self.assertEqual(data["numberReturned"], 10)
        self.assertGreater(data["numberMatched"], 10)

    def test_bbox(self):
        self.assertEqual(self.ids(bbox="116.5,-1.5,117.5,-0.9"), {"kota", "timur", "barat"})
        x0, y0, x1, y1 = self.assets["timur"].geom.extent
        self.assertEqual(self.ids(bbox=f"{x0},{y0},{x1},{y1}"), {"timur"})
        self.assertEqual(self.ids(bbox=f"{x0},{y0},0,{x1},{y1},10"), {"timur"})  # 6 numbers: heights ignored

    def test_datetime_on_the_acquisition_date(self):
        self.assertEqual(self.ids(datetime="2005-03-01"), {"kota"})
        self.assertEqual(self.ids(datetime="2005-03-01T00:00:00Z"), {"kota"})
        self.assertEqual(self.ids(datetime="2000-01-01/2020-01-01"), {"kota", "timur"})
        self.assertEqual(self.ids(datetime="../2005-12-31"), {"kota", "unplotted"})
        self.assertEqual(self.ids(datetime="2010-01-01/.."), {"timur"})  # barat has no date

    def test_invalid_parameters_are_400(self):
        cases = [
            ({"limit": "0"}, "limit"),
            ({"limit": "10001"}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"offset": "-1"}, "offset"),
            ({"bbox": "1,2,3"}, "bbox"),
            ({"bbox": "0,0,0,91"}, "bbox"),
            ({"datetime": "yesterday"}, "datetime"),
            ({"datetime": "2005-03-01T00:00:00"}, "datetime"),  # no time zone
            ({"datetime": "2010-01-01/2005-01-01"}, "datetime"),
            ({"datetime": "../.."}, "datetime"),
            ({"f": "xml"}, "f must be"),
            ({"sortby": "id"}, "sortby"),
        ]
        for params, fragment in cases:
            with self.subTest(params=params):
                data = self.get_json(ITEMS, params, status=400)
                self.assertEqual(data["code"], "InvalidParameterValue")
                self.assertIn(fragment, data["description"])
        self.get_json("/ogc/collections/kecamatan/items", {"datetime": "2005-01-01"}, status=400)
        self.get_json("/ogc/", {"bbox": "1,2,3,4"}, status=400)

    def test_html(self):
        response = self.client.get(ITEMS, {"f": "html"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Tanah Kantor Walikota")
        self.assertContains(response, self.assets["kota"].kode_barang)
        browser = self.client.get("/ogc/collections", HTTP_ACCEPT="text/html,application/xhtml+xml")
        self.assertEqual(browser["Content-Type"].split(";")[0], "text/html")
        self.assertContains(browser, "Kelurahan")
        self.assertEqual(self.client.get(ITEMS)["Content-Type"], "application/geo+json")


class OgcAuthTests(OgcTestCase):
    def test_anonymous_gets_401_with_basic_challenge(self):
        self.client.logout()
        for url in ("/ogc/", "/ogc/collections", ITEMS, "/ogc/api"):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 401, url)
            self.assertTrue(response["WWW-Authenticate"].startswith("Basic"))

    def test_basic_auth_and_token(self):
        from rest_framework.authtoken.models import Token

        self.client.logout()
        basic = base64.b64encode(b"auditor:pw-auditor").decode()
        self.assertEqual(self.client.get(ITEMS, HTTP_AUTHORIZATION=f"Basic {basic}").status_code, 200)
        token = Token.objects.create(user=self.auditor)
        self.assertEqual(self.client.get(ITEMS, HTTP_AUTHORIZATION=f"Token {token.key}").status_code, 200)

    def test_user_without_role_is_refused(self):
        self.client.force_login(make_user("nobody", None))
        self.assertEqual(self.client.get(ITEMS).status_code, 403)
