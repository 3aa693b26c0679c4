"""The REST API (/api/v1/assets/, aggregate) and OGC items as of a date: the values then, not today's."""

from __future__ import annotations

from django.test import TestCase

from tests.audit.test_audit_history import AsOfLife

URL = "/api/v1/assets/"
AGG = "/api/v1/assets/aggregate/"
ITEMS = "/ogc/collections/assets/items"


class AsOfApiTests(AsOfLife, TestCase):
    def setUp(self):
        self.client.force_login(self.auditor)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def get(self, url: str, **params) -> dict:
        response = self.client.get(url, params)
        self.assertEqual(response.status_code, 200, response.content[:500])
        return response.json()

    def test_list_as_of_before_the_edit_has_the_old_values_and_geometry(self):
        data = self.get(URL, as_of="2024-12-31")
        self.assertEqual(data["count"], 1)
        [feature] = data["features"]
        self.assertEqual(feature["id"], self.asset.id)
        props = feature["properties"]
        self.assertEqual(props["nama_barang"], "Nama Lama")
        self.assertEqual((props["status_sertifikat"], props["tahap_sertifikat"]), ("proses", "PENGUKURAN"))
        self.assertIsNone(props["removed_at"])
        self.assertAlmostEqual(feature["geometry"]["coordinates"][0][0][0][0], self.old_geom.coords[0][0][0][0], 6)
        self.assertEqual(self.get(URL, as_of="2025-06-30")["features"][0]["properties"]["nama_barang"], "Nama Baru")
        # Removed by then; and today it is removed too.
        self.assertEqual(self.get(URL, as_of="2025-12-31")["count"], 0)
        self.assertEqual(self.get(URL)["count"], 0)

    def test_list_filters_apply_as_of(self):
        self.assertEqual(self.get(URL, as_of="2024-12-31", status="proses")["count"], 1)
        self.assertEqual(self.get(URL, as_of="2024-12-31", status="terbit")["count"], 0)
        x0, y0, x1, y1 = self.old_geom.extent
        self.assertEqual(self.get(URL, as_of="2024-12-31", bbox=f"{x0},{y0},{x1},{y1}")["count"], 1)
        # The old geometry lies west of the new one: a box around the new one misses it.
        nx0, ny0, nx1, ny1 = self.new_geom.extent
        box = f"{x1 + 0.0001},{ny0},{nx1},{ny1}"
        self.assertEqual(self.get(URL, as_of="2024-12-31", bbox=box)["count"], 0)
        self.assertEqual(self.get(URL, as_of="2025-06-30", bbox=box)["count"], 1)

    def test_aggregate_as_of(self):
        totals = self.get(AGG, as_of="2024-12-31")
        self.assertEqual(totals["count"], 1)
        self.assertEqual(totals["luas_kib_m2"], 1000.0)
        self.assertEqual(totals["by_status"]["proses"], 1)
        self.assertEqual(totals["by_agency"][0]["agency_code"], self.asset.agency.code)
        self.assertEqual(self.get(AGG, as_of="2025-06-30")["by_status"]["terbit"], 1)
        self.assertEqual(self.get(AGG, as_of="2025-12-31")["count"], 0)
        x0, y0, x1, y1 = self.old_geom.extent
        inside = self.get(AGG, as_of="2024-12-31", bbox=f"{x0},{y0},{x1},{y1}")
        self.assertGreater(inside["area_inside_m2"], 0)

    def test_bad_as_of_is_a_400_naming_it(self):
        for value in ("31-12-2024", "", "2999-01-01"):
            response = self.client.get(URL, {"as_of": value})
            self.assertEqual(response.status_code, 400, response.content)
            self.assertIn("as_of", response.json())
        response = self.client.get(AGG, {"as_of": "2024-12-31", "nonsense": "1"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("nonsense", response.json())
        response = self.client.get(f"{URL}{self.asset.id}/", {"as_of": "2024-12-31"})
        self.assertEqual(response.status_code, 400)  # a single asset is today's: as_of is refused, not ignored

    def test_schema_documents_as_of(self):
        response = self.client.get("/api/v1/schema/", {"format": "json"})
        self.assertEqual(response.status_code, 200)
        params = response.json()["paths"]["/api/v1/assets/"]["get"]["parameters"]
        self.assertIn("as_of", [p["name"] for p in params])
        ogc = self.client.get("/ogc/api", {"f": "json"}).json()
        names = [p["name"] for p in ogc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]]
        self.assertIn("as_of", names)

    def test_ogc_items_as_of(self):
        data = self.get(ITEMS, as_of="2024-12-31", f="json")
        self.assertEqual(data["numberMatched"], 1)
        self.assertEqual(data["features"][0]["properties"]["nama_barang"], "Nama Lama")
        self.assertTrue(any("as_of=2024-12-31" in link["href"] for link in data["links"]))
        later = self.get(ITEMS, as_of="2025-06-30", f="json")
        self.assertEqual(later["features"][0]["properties"]["nama_barang"], "Nama Baru")
        self.assertEqual(self.get(ITEMS, as_of="2025-12-31", f="json")["numberMatched"], 0)
        # datetime stays the acquisition date, applied to the as-of rows.
        acquired = self.asset.tanggal_perolehan  # 2010-05-17 (tests.factories.make_asset)
        after = f"{acquired.year + 1}-01-01/.."
        self.assertEqual(self.get(ITEMS, as_of="2024-12-31", datetime=after, f="json")["numberMatched"], 0)
        self.assertEqual(
            self.get(ITEMS, as_of="2024-12-31", datetime=acquired.isoformat(), f="json")["numberMatched"], 1
        )
        html = self.client.get(ITEMS, {"as_of": "2024-12-31", "f": "html"})
        self.assertContains(html, "Nama Lama")
        bad = self.client.get(ITEMS, {"as_of": "yesterday", "f": "json"})
        self.assertEqual(bad.status_code, 400)
        self.assertIn("as_of must be a date", bad.json()["description"])
        other = self.client.get("/ogc/collections/kecamatan/items", {"as_of": "2024-12-31", "f": "json"})
        self.assertEqual(other.status_code, 400)
