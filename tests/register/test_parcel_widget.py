"""The geometry widget of the asset forms says when its basemap is unavailable, and the form still works; its
texts are the template's, in the UI language. Drawing, corners, the live check: test_parcel_widget_browser.py."""

from __future__ import annotations

import html as html_module
import json
import re

from django.contrib.gis.geos import GEOSGeometry
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import translation

from assets.models import AdministrativeArea, LandAsset, User
from assets.register import geo, permissions, place
from tests.browser_case import BrowserTestCase, By
from tests.factories import load_reference, make_asset, make_user, point_inside, square

NOTE = "The basemap is not available. You can still draw and edit the parcel."


def note_tag(html: str) -> str:
    [tag] = re.findall(r"<p [^>]*data-basemap-note[^>]*>", html)
    return tag


class BasemapNoteTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.user = make_user("bpkad", permissions.BPKAD)

    def setUp(self):
        self.client.force_login(self.user)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    @override_settings(SIPANAH_BASEMAP_URL="")
    def test_no_basemap_configured_shows_the_note(self):
        html = self.client.get(reverse("asset-create")).content.decode()
        self.assertIn(NOTE, html)
        self.assertNotIn("hidden", note_tag(html))
        self.assertIn('name="geom"', html)  # the form and its geometry field are still there

    @override_settings(SIPANAH_BASEMAP_URL="")
    def test_the_admin_widget_shows_it_too(self):
        self.client.force_login(User.objects.create_superuser("root", password="pw-root"))
        html = self.client.get(reverse("admin:assets_landasset_add")).content.decode()
        self.assertNotIn("hidden", note_tag(html))

    @override_settings(SIPANAH_BASEMAP_URL="https://tile.example.org/{z}/{x}/{y}.png")
    def test_a_configured_basemap_keeps_the_note_hidden_until_its_tiles_fail(self):
        html = self.client.get(reverse("asset-create")).content.decode()
        self.assertIn(" hidden", note_tag(html))


class BasemapNoteBrowserTests(BrowserTestCase):
    """BrowserTestCase points the basemap at a URL of the test server that does not exist: every tile fails."""

    def test_failing_basemap_tiles_show_the_note(self):
        load_reference()
        make_user("bpkad", permissions.BPKAD)
        self.login("bpkad")
        self.driver.get(self.live_server_url + reverse("asset-create"))
        note = self.driver.find_element(By.CSS_SELECTOR, "[data-basemap-note]")
        self.wait.until(lambda _d: note.is_displayed())
        self.assertTrue(self.driver.find_element(By.CSS_SELECTOR, "#id_geom_map canvas").is_displayed())  # the map drew


class WidgetCoordinatesBrowserTests(BrowserTestCase):
    def test_the_field_is_lon_lat_and_an_edit_on_the_map_comes_back_in_lon_lat(self):
        # The field's text is lon/lat (text without an SRID is read as EPSG:4326); the map draws in Web Mercator.
        load_reference()
        make_user("bpkad", permissions.BPKAD)
        lon, lat = point_inside("64.71.03.1003")
        asset = make_asset(geom=square(lon, lat, 0.0003))
        self.login("bpkad")
        self.driver.get(self.live_server_url + reverse("asset-update", kwargs={"pk": asset.pk}))
        self.wait.until(lambda d: d.execute_script("return !!(window.sipanahParcelWidgets || {}).id_geom"))
        field = self.driver.find_element(By.NAME, "geom")
        self.assertAlmostEqual(GEOSGeometry(field.get_attribute("value")).centroid.x, lon, places=6)
        # Moved 20 m east on the map (map units: Web Mercator metres, 1.0002 ground metres at 1.2 deg S)
        self.driver.execute_script(
            "var w = window.sipanahParcelWidgets.id_geom; w.parts.item(0).getGeometry().translate(20, 0); w.write();"
        )
        self.driver.find_element(By.CSS_SELECTOR, "form.form [type=submit]").click()
        self.wait.until(lambda d: d.current_url.rstrip("/").endswith(f"/assets/{asset.pk}"))
        saved = LandAsset.objects.get(pk=asset.pk)
        shift_m = geo.to_metric(geo.to_shapely(saved.geom.centroid)).distance(
            geo.to_metric(geo.to_shapely(asset.geom.centroid))
        )
        self.assertAlmostEqual(shift_m, 20, delta=0.1)
        self.assertAlmostEqual(
            float(saved.luas_gis_m2), float(asset.luas_gis_m2), delta=float(asset.luas_gis_m2) * 1e-4
        )


class WidgetTextsTests(TestCase):
    """The tools are labelled in the UI language: Indonesian by default, English on request."""

    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.user = make_user("bpkad", permissions.BPKAD)

    def setUp(self):
        self.client.force_login(self.user)

    def test_tools_in_english_and_indonesian(self):
        english = self.client.get(reverse("asset-create"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        for label in ("Draw a part", "Draw a hole", "Edit corners", "Undo", "Delete part", "Clear all"):
            self.assertIn(f">{label}</button>", english)
        # Indonesian by default: the labels are the catalogue's (locale/id; this branch's strings reach it through the
        # lead's merge of its translations, so the expected text is read from the catalogue, not written here).
        indonesian = self.client.get(reverse("asset-create")).content.decode()
        self.assertIn('<html lang="id">', indonesian)
        with translation.override("id"):
            for label in ("Draw a part", "Draw a hole", "Edit corners", "Undo", "Delete part", "Clear all"):
                self.assertIn(f">{translation.gettext(label)}</button>", indonesian)

    def test_the_options_name_the_endpoints_and_the_city_systems(self):
        asset = make_asset(geom=square(116.83, -1.25))
        html = self.client.get(reverse("asset-update", kwargs={"pk": asset.pk}), HTTP_ACCEPT_LANGUAGE="en").content
        options = json.loads(
            re.search(rb'<script id="id_geom_options" type="application/json">(.*?)</script>', html)[1]
        )
        self.assertEqual(options["boundaries_url"], reverse("map-boundaries"))
        self.assertEqual(options["tiles_url"], "/tiles/assets/{z}/{x}/{y}.pbf")
        self.assertEqual(options["asset"], asset.pk)  # left out of its own overlaps
        self.assertEqual(options["center"], [place.city().center[1], place.city().center[0]])
        crs = re.findall(rb'<option value="(\d+)">', html.split(b"data-crs")[1].split(b"</select>")[0])
        self.assertEqual(crs, [b"23837", b"23880", b"32750", b"4326"])
        # the field's value is the stored parcel as GeoJSON in lon/lat
        value = re.search(rb'<textarea id="id_geom" class="pw-value" name="geom" hidden>(.*?)</textarea>', html, re.S)[
            1
        ]
        self.assertTrue(GEOSGeometry(html_module.unescape(value.decode())).equals_exact(asset.geom, 1e-9))

    def test_the_boundaries_of_the_map_page_as_geojson(self):
        data = self.client.get(reverse("map-boundaries")).json()
        levels = {f["properties"]["level"] for f in data["features"]}
        self.assertEqual(levels, {"kecamatan", "kelurahan"})
        self.assertEqual(len(data["features"]), 6 + 34)
        self.client.logout()
        self.assertEqual(self.client.get(reverse("map-boundaries")).status_code, 302)  # signed-in users only

    def test_the_admin_of_a_boundary_uses_the_widget_without_the_parcel_check(self):
        self.client.force_login(User.objects.create_superuser("root", password="pw-root"))
        area = AdministrativeArea.objects.get(code="64.71.01.1001")
        html = self.client.get(
            reverse("admin:assets_administrativearea_change", args=[area.pk]), HTTP_ACCEPT_LANGUAGE="en"
        ).content
        options = json.loads(
            re.search(rb'<script id="id_geom_options" type="application/json">(.*?)</script>', html)[1]
        )
        self.assertIsNone(options["check_url"])  # a boundary is not a parcel: no overlaps, no neighbouring parcels
        self.assertIsNone(options["tiles_url"])
        self.assertNotIn(b"data-corners", html)
        self.assertIn(b">Draw a part</button>", html)

    def test_the_boundaries_payload_is_small(self):
        body = self.client.get(reverse("map-boundaries")).content
        self.assertLess(len(body), 200_000)  # 55 kB: simplified (0.0003 deg) and rounded to 5 decimals, as on /map/
