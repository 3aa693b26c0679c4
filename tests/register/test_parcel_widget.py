"""The geometry widget of the asset forms says when its basemap is unavailable, and the form still works."""

from __future__ import annotations

import re

from django.contrib.gis.geos import GEOSGeometry
from django.test import TestCase, override_settings
from django.urls import reverse

from assets.models import LandAsset, User
from assets.register import geo, permissions
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
        self.assertTrue(self.driver.find_element(By.CSS_SELECTOR, ".dj_map canvas").is_displayed())  # the map drew


class WidgetCoordinatesBrowserTests(BrowserTestCase):
    def test_the_field_is_lon_lat_and_an_edit_on_the_map_comes_back_in_lon_lat(self):
        # The field's text is lon/lat (text without an SRID is read as EPSG:4326); the map draws in Web Mercator.
        load_reference()
        make_user("bpkad", permissions.BPKAD)
        lon, lat = point_inside("64.71.03.1003")
        asset = make_asset(geom=square(lon, lat, 0.0003))
        self.login("bpkad")
        self.driver.get(self.live_server_url + reverse("asset-update", kwargs={"pk": asset.pk}))
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".dj_map canvas"))
        field = self.driver.find_element(By.NAME, "geom")
        self.assertAlmostEqual(GEOSGeometry(field.get_attribute("value")).centroid.x, lon, places=6)
        # Moved 20 m east on the map (map units: Web Mercator metres, 1.0002 ground metres at 1.2 deg S)
        self.driver.execute_script(
            "geodjango_geom.featureOverlay.getSource().getFeatures()[0].getGeometry().translate(20, 0);"
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
