"""The Content-Security-Policy in a real browser (Debian's headless Chromium): no page trips it, and the maps, the
geometry widget and Swagger UI still work under it."""

from __future__ import annotations

from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from assets.models import Agency
from assets.register import permissions
from tests.browser_case import BrowserTestCase
from tests.factories import load_reference, make_asset, make_user, point_inside, square

# Runs before any script of every page (CDP): collects the securitypolicyviolation events the page raises.
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
    e.sourceFile + ":" + e.lineNumber);
});
"""


class CspBrowserTests(BrowserTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})

    def setUp(self):
        super().setUp()
        cache.clear()
        load_reference()
        self.lon, self.lat = point_inside("64.71.01.1001")
        agency = Agency.objects.get(code="1.01.01")
        self.asset = make_asset(agency=agency, geom=square(self.lon, self.lat, 0.0002))
        make_asset(agency=agency, geom=square(self.lon + 0.0006, self.lat, 0.0002))
        admin = make_user("admin", permissions.ADMIN)
        admin.is_staff = admin.is_superuser = True
        admin.save()
        self.login("admin")
        self.driver.get_log("browser")  # only this test's console messages from here on

    def visit(self, path: str, ready: str) -> None:
        """Open the page, wait until the JavaScript condition ``ready`` holds, then require no CSP violation."""
        self.driver.get(self.live_server_url + path)
        self.wait.until(lambda d: d.execute_script(f"return !!({ready})"), f"{path}: {ready}")
        self.assert_no_violation(path)

    def assert_no_violation(self, path: str) -> None:
        violations = self.driver.execute_script("return window.__cspViolations")
        self.assertIsNotNone(violations, f"{path}: the violation listener did not run")
        self.assertEqual(violations, [], path)
        console = [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if "Content Security Policy" in entry["message"] or "Content-Security-Policy" in entry["message"]
        ]
        self.assertEqual(console, [], path)

    def test_pages_run_under_the_policy(self):
        # The map: parcels painted from the vector tiles, by folium's nonce-marked script.
        self.visit(reverse("asset-map"), "window.sipanahMap")
        self.driver.execute_script("window.sipanahMap.setView([arguments[0], arguments[1]], 17)", self.lat, self.lon)
        self.wait.until(lambda d: d.execute_script("return document.querySelectorAll('.leaflet-tile path').length") > 0)
        self.wait.until(lambda d: d.find_element("css selector", "[data-total=count]").text == "2")  # the totals script
        self.assert_no_violation("map, parcels painted")
        self.visit(reverse("asset-map") + f"?as_of={timezone.localdate().isoformat()}", "window.sipanahMap")
        # The asset page: its own parcel drawn on the detail map.
        self.visit(
            reverse("asset-detail", args=[self.asset.pk]),
            "window.sipanahMap && document.querySelectorAll('.leaflet-overlay-pane path').length > 0",
        )
        # The edit page and the admin change page: the OpenLayers widget started from the static script, with the
        # parcel loaded into it.
        widget = "window.sipanahParcelWidgets && window.sipanahParcelWidgets.id_geom.parts.getLength() === 1"
        self.visit(reverse("asset-update", args=[self.asset.pk]), widget)
        self.visit(reverse("admin:assets_landasset_change", args=[self.asset.pk]), widget)
        # The query page: Leaflet.draw's toolbar on the result map.
        self.visit(reverse("asset-query"), "window.sipanahQueryMap && document.querySelector('.leaflet-draw-toolbar')")
        # Swagger UI, started by its split-off script, has read the OpenAPI schema.
        self.visit(reverse("api-docs"), "document.querySelector('.swagger-ui .info .title')")
        self.visit(reverse("audit-dashboard"), "document.readyState === 'complete'")

    def test_the_watch_sees_a_blocked_inline_script(self):
        # The test above could fail: an inline script without the nonce is refused and reported.
        self.visit(reverse("home"), "document.readyState === 'complete'")
        self.driver.execute_script(
            "var s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.body.append(s);"
        )
        self.wait.until(lambda d: d.execute_script("return window.__cspViolations.length") > 0)
        self.assertIsNone(self.driver.execute_script("return window.__ran"))
        [violation] = self.driver.execute_script("return window.__cspViolations")
        self.assertTrue(violation.startswith("script-src"), violation)
