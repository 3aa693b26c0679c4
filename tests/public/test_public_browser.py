"""Cek Tanah in a real browser (Debian's headless Chromium): a click on the map answers, a report is sent with the
place picked on the map, and no request leaves the server."""

from __future__ import annotations

import re

from django.core.cache import cache
from django.urls import reverse
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from assets.public.models import PublicReport
from tests.browser_case import BrowserTestCase
from tests.factories import load_reference, make_asset, point_inside, square


class PublicBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        cache.clear()
        load_reference()
        self.lon, self.lat = point_inside("64.71.01.1001")
        make_asset(geom=square(self.lon, self.lat), nama_barang="Tanah Rahasia Browser")

    def _open_at_parcel(self, url: str) -> None:
        self.driver.get(self.live_server_url + url)
        self.driver.add_cookie({"name": "django_language", "value": "en"})
        self.driver.get(self.live_server_url + url)
        self.wait.until(lambda d: d.execute_script("return !!window.sipanahMap"))
        self.driver.execute_script(f"window.sipanahMap.setView([{self.lat}, {self.lon}], 17, {{animate: false}});")

    def _click_map_centre(self) -> None:
        frame = self.driver.find_element(By.CSS_SELECTOR, ".map-frame .folium-map")
        ActionChains(self.driver).move_to_element(frame).click().perform()

    def _only_local_requests(self) -> None:
        urls = self.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        outside = [u for u in urls if not u.startswith(self.live_server_url)]
        self.assertEqual(outside, [])

    def test_a_click_on_city_land_answers_yes(self):
        self._open_at_parcel(reverse("public-home"))
        self._click_map_centre()
        panel = self.driver.find_element(By.ID, "public-answer")
        self.wait.until(lambda d: "Yes" in panel.text or "No" in panel.text)
        self.assertIn("Yes: this place touches land registered to the city.", panel.text)
        self.assertNotIn("Tanah Rahasia Browser", self.driver.page_source)
        self._only_local_requests()

    def test_a_report_with_the_place_picked_on_the_map(self):
        self._open_at_parcel(reverse("public-report", args=["okupasi"]))
        self._click_map_centre()
        self.wait.until(lambda d: d.find_element(By.ID, "id_lon").get_attribute("value"))
        form = self.driver.find_element(By.CSS_SELECTOR, "form.filters")
        form.find_element(By.NAME, "description").send_keys("Pagar baru di lahan kosong")
        form.find_element(By.NAME, "contact_name").send_keys("Rina")
        form.find_element(By.NAME, "contact_email").send_keys("rina@example.org")
        a, b = map(int, re.search(r"(\d+) plus (\d+)", form.text).groups())
        form.find_element(By.NAME, "answer").send_keys(str(a + b))
        self._only_local_requests()
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait.until(lambda d: "/publik/laporan/" in d.current_url)
        report = PublicReport.objects.get()
        self.assertAlmostEqual(report.location.x, self.lon, places=3)
        self.assertAlmostEqual(report.location.y, self.lat, places=3)
        self.assertIn("Received", self.driver.find_element(By.TAG_NAME, "main").text)
