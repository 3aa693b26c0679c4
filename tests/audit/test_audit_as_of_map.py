"""The map as of a date: tiles (polygon, point and aggregate zooms), ETag, headline numbers and the banner."""

from __future__ import annotations

import mapbox_vector_tile
from django.core.cache import cache
from django.test import TestCase
from django.urls import reverse

from assets.maps import tiles
from tests.audit.test_audit_history import AsOfLife
from tests.maps.test_tiles import tile_of


def tile_px(lon: float, z: int, x: int) -> float:
    return ((lon + 180.0) / 360.0 * (1 << z) - x) * tiles.EXTENT


class AsOfMapTests(AsOfLife, TestCase):
    def setUp(self):
        cache.clear()
        self.client.force_login(self.auditor)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def tile(self, z: int, query: str, lon: float | None = None):
        lon = self.old_geom.centroid.x if lon is None else lon
        x, y = tile_of(lon, self.old_geom.centroid.y, z)
        response = self.client.get(reverse("asset-tile", kwargs={"z": z, "x": x, "y": y}) + f"?{query}")
        self.assertEqual(response.status_code, 200, response.content[:300])
        self.assertEqual(response["Content-Type"], tiles.MEDIA_TYPE)
        data = mapbox_vector_tile.decode(response.content)
        return (data["assets"]["features"] if data else []), x, response

    def polygon_centre_px(self, feature: dict) -> float:
        ring = feature["geometry"]["coordinates"][0]
        if feature["geometry"]["type"] == "MultiPolygon":
            ring = ring[0]
        xs = [p[0] for p in ring]
        return (min(xs) + max(xs)) / 2

    def test_polygon_tile_before_the_edit_shows_the_old_parcel_and_status(self):
        features, x, _r = self.tile(17, "as_of=2024-12-31")
        [feature] = features
        self.assertEqual(feature["properties"]["id"], self.asset.id)
        self.assertEqual(feature["properties"]["s"], "proses")
        expected = tile_px(self.old_geom.centroid.x, 17, x)
        self.assertAlmostEqual(self.polygon_centre_px(feature), expected, delta=3)

    def test_polygon_tile_after_the_edit_shows_the_moved_parcel(self):
        features, x, _r = self.tile(17, "as_of=2025-06-30", lon=self.new_geom.centroid.x)
        [feature] = [f for f in features if f["properties"]["id"] == self.asset.id]
        self.assertEqual(feature["properties"]["s"], "terbit")
        expected = tile_px(self.new_geom.centroid.x, 17, x)
        self.assertAlmostEqual(self.polygon_centre_px(feature), expected, delta=3)

    def test_removed_and_not_yet_created_assets_are_absent(self):
        self.assertEqual(self.tile(17, "as_of=2025-12-31")[0], [])
        self.assertEqual(self.tile(17, "as_of=2024-05-31")[0], [])
        self.assertEqual(len(self.tile(17, "as_of=2025-12-31&removed=include", lon=self.new_geom.centroid.x)[0]), 1)

    def test_point_and_aggregate_zooms_as_of(self):
        [point] = self.tile(tiles.POINT_ZOOM, "as_of=2024-12-31")[0]
        self.assertEqual((point["properties"]["id"], point["properties"]["s"]), (self.asset.id, "proses"))
        [cell] = self.tile(10, "as_of=2024-12-31")[0]
        self.assertEqual((cell["properties"]["n"], cell["properties"]["np"]), (1, 1))
        self.assertEqual(self.tile(10, "as_of=2024-05-31")[0], [])
        # Filters apply to the status as of the date.
        self.assertEqual(self.tile(10, "as_of=2024-12-31&status=terbit")[0], [])

    def test_etag_depends_on_as_of_and_bad_dates_are_400(self):
        first = self.tile(17, "as_of=2024-12-31")[2]["ETag"]
        second = self.tile(17, "as_of=2025-06-30")[2]["ETag"]
        self.assertNotEqual(first, second)
        x, y = tile_of(self.old_geom.centroid.x, self.old_geom.centroid.y, 17)
        url = reverse("asset-tile", kwargs={"z": 17, "x": x, "y": y})
        self.assertEqual(self.client.get(url + "?as_of=2024-12-31", HTTP_IF_NONE_MATCH=first).status_code, 304)
        bad = self.client.get(url + "?as_of=12/31/2024")
        self.assertContains(bad, "as_of must be a date written YYYY-MM-DD", status_code=400)

    def test_totals_and_page_follow_as_of(self):
        totals = self.client.get(reverse("map-totals"), {"as_of": "2024-12-31"}).json()
        self.assertEqual(totals["count"], "1")
        self.assertEqual(self.client.get(reverse("map-totals"), {"as_of": "2025-12-31"}).json()["count"], "0")
        self.assertEqual(self.client.get(reverse("map-totals"), {"as_of": "nope"}).status_code, 400)
        page = self.client.get(reverse("asset-map"), {"as_of": "2024-12-31"})
        self.assertContains(page, "rebuilt from the change history")
        self.assertContains(page, "as_of=2024-12-31")  # the tile URL and the totals URL carry it
        self.assertNotContains(self.client.get(reverse("asset-map")), "rebuilt from the change history")
        self.assertEqual(self.client.get(reverse("asset-map"), {"as_of": "2024-31-12"}).status_code, 400)

    def test_popup_shows_the_asset_as_of_the_map_date(self):
        url = reverse("map-asset-popup", kwargs={"pk": self.asset.id})
        before = self.client.get(url, {"as_of": "2024-12-31"}).json()
        self.assertEqual((before["id"], before["nama"], before["status"]), (self.asset.id, "Nama Lama", "In process"))
        after = self.client.get(url, {"as_of": "2025-06-30"}).json()
        self.assertEqual((after["nama"], after["status"]), ("Nama Baru", "Certified"))
        self.assertEqual(self.client.get(url, {"as_of": "2024-05-31"}).status_code, 404)  # not yet created
        self.assertEqual(self.client.get(url, {"as_of": "31-12-2024"}).status_code, 400)
        page = self.client.get(reverse("asset-map"), {"as_of": "2024-12-31"})
        self.assertContains(page, "/map/assets/0/popup/?as_of=2024-12-31")  # its popups ask for the same date
