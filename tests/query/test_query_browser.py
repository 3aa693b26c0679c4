"""The query page in a real browser (Debian's headless Chromium): a shape drawn with Leaflet.draw runs the query."""

from __future__ import annotations

from django.urls import reverse
from selenium.webdriver.common.by import By

from assets.register import permissions
from tests.api_fixtures import build_register
from tests.browser_case import BrowserTestCase
from tests.factories import load_reference, make_user


class QueryBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        load_reference()
        self.assets = build_register()
        make_user("planner", permissions.PLANNER)
        self.login("planner")

    def draw(self, layer_js: str, layer_type: str) -> None:
        self.driver.get(self.live_server_url + reverse("asset-query"))
        self.wait.until(lambda d: d.execute_script("return !!(window.sipanahQueryMap && L.Control.Draw)"))
        self.driver.execute_script(
            f"var layer = {layer_js};"
            f"window.sipanahQueryMap.fire(L.Draw.Event.CREATED, {{layer: layer, layerType: '{layer_type}'}});"
        )
        self.wait.until(lambda d: d.find_elements(By.ID, "query-results"))

    def result_names(self) -> list[str]:
        cells = self.driver.find_elements(By.CSS_SELECTOR, "#query-results tbody tr td:nth-child(3)")
        return [c.text for c in cells]

    def test_drawn_rectangle_and_circle_run_the_query(self):
        x0, y0, x1, y1 = self.assets["timur"].geom.extent
        self.draw(f"L.rectangle([[{y0 - 0.001}, {x0 - 0.001}], [{y1 + 0.001}, {x1 + 0.001}]])", "rectangle")
        self.assertEqual(self.result_names(), ["Tanah Puskesmas Manggar"])
        self.assertIn("intersects=", self.driver.current_url)
        self.assertEqual(self.driver.find_element(By.ID, "total-count").text, "1")

        x, y = self.assets["kota"].geom.centroid.coords
        self.draw(f"L.circle([{y}, {x}], {{radius: 100}})", "circle")
        self.assertEqual(self.result_names(), ["Tanah Kantor Walikota"])
        self.assertIn("distance=100.00", self.driver.current_url)

    def test_line_needs_a_width_then_runs_as_a_corridor(self):
        x, y = self.assets["barat"].geom.centroid.coords
        self.driver.get(self.live_server_url + reverse("asset-query"))
        self.wait.until(lambda d: d.execute_script("return !!(window.sipanahQueryMap && L.Control.Draw)"))
        self.driver.find_element(By.ID, "q-buffer").send_keys("30")
        self.driver.execute_script(
            f"var layer = L.polyline([[{y - 0.01}, {x}], [{y + 0.01}, {x}]]);"
            "window.sipanahQueryMap.fire(L.Draw.Event.CREATED, {layer: layer, layerType: 'polyline'});"
        )
        self.wait.until(lambda d: d.find_elements(By.ID, "query-results"))
        self.assertEqual(self.result_names(), ["Tanah SDN Kariangau"])
        self.assertIn("corridor=", self.driver.current_url)
