"""The map in a real browser (Debian's headless Chromium): parcels painted, nothing fetched from outside, no XSS."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.core.cache import cache
from django.urls import reverse
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from assets.models import Agency
from assets.register import permissions
from tests.browser_case import BrowserTestCase
from tests.factories import load_reference, make_asset, make_user, point_inside, square

XSS = "<img src=x onerror=alert(1)>"


class MapBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        cache.clear()
        load_reference()
        self.agency = Agency.objects.get(code="1.01.01")
        self.lon, self.lat = point_inside("64.71.01.1001")
        self.user = make_user("auditor", permissions.AUDITOR)

    def open_map_at_parcels(self, path: str) -> None:
        self.driver.get(self.live_server_url + path)
        self.wait.until(lambda d: d.execute_script("return !!window.sipanahMap"))
        self.driver.execute_script("window.sipanahMap.setView([arguments[0], arguments[1]], 17)", self.lat, self.lon)
        self.wait.until(lambda d: d.execute_script("return window.sipanahMap.getZoom()") == 17)
        self.wait.until(lambda d: self.painted_parcels() > 0)

    def painted_parcels(self) -> int:
        return self.driver.execute_script("return document.querySelectorAll('.leaflet-tile path').length")

    def outside_requests(self) -> set[str]:
        own = urlsplit(self.live_server_url).netloc
        urls = set()
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.add(message["params"]["request"]["url"])
        urls |= set(self.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"))
        return {u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).netloc != own}

    def assert_no_alert(self) -> None:
        with self.assertRaises(NoAlertPresentException):
            self.driver.switch_to.alert.text  # noqa: B018 - raises when no dialog is open

    def test_map_paints_parcels_and_nothing_leaves_the_server(self):
        for i in range(3):
            make_asset(agency=self.agency, geom=square(self.lon + i * 0.0006, self.lat, 0.0002))
        self.login("auditor")
        self.driver.get_log("performance")  # start counting from the map page
        self.open_map_at_parcels(reverse("asset-map"))
        self.wait.until(lambda d: self.painted_parcels() >= 3)
        # the basemap failed: the map switched to "no basemap" and says so
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".map-note"))
        self.assertEqual(self.outside_requests(), set())
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-total=count]").text == "3")
        self.assertIn("Leaflet", self.driver.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text)
        self.assertTrue(self.driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-scale"))
        self.assertTrue(self.driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers"))
        self.assertTrue(self.driver.find_elements(By.CSS_SELECTOR, ".map-legend"))

    def test_xss_name_stays_text_on_map_popup_and_detail_page(self):
        asset = make_asset(agency=self.agency, geom=square(self.lon, self.lat, 0.0004), nama_barang=XSS)
        self.login("auditor")
        self.open_map_at_parcels(reverse("asset-map") + "?basemap=none")
        self.assert_no_alert()
        self.driver.find_element(By.CSS_SELECTOR, ".leaflet-tile path.leaflet-interactive").click()
        title = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".map-popup strong"))
        self.wait.until(lambda d: title.is_displayed())  # the popup fades in
        self.assertEqual(title.get_attribute("textContent"), XSS)
        self.assertFalse(self.driver.find_elements(By.CSS_SELECTOR, ".map-popup img"))
        self.assert_no_alert()
        self.driver.find_element(By.CSS_SELECTOR, ".map-popup a").click()
        self.wait.until(lambda d: d.current_url.endswith(reverse("asset-detail", kwargs={"pk": asset.pk})))
        self.wait.until(
            lambda d: d.execute_script("return window.sipanahMapStats && window.sipanahMapStats.painted") > 0
        )
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "h1").text, XSS)
        self.assert_no_alert()
