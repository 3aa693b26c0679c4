"""No page scrolls sideways on a phone: at 390 CSS pixels (a common phone's width, mobile emulation in Debian's
headless Chromium) every HTML page of every role fits its width; wide tables scroll inside their own box.

Set SIPANAH_SCREENSHOTS=/some/folder to keep a screenshot of each page (to look at them)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from tests.a11y.walk import BROWSER_ROLES, THIRD_PARTY_PREFIXES, Page, WalkObjects
from tests.browser_case import BrowserTestCase
from tests.factories import temp_media_root

WIDTH, HEIGHT = 390, 844
# What sticks out, for the message: the widest elements that reach past the right edge.
OVERFLOW = """
const w = screen.width, out = [];
for (const el of document.body.querySelectorAll("*")) {
  const r = el.getBoundingClientRect();
  if (r.right > w + 1 && r.width > 0) {
    let inside = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (/(auto|scroll|hidden|clip)/.test(s.overflowX)) { inside = true; break; }
    }
    if (!inside) out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
      " right=" + Math.round(r.right));
  }
}
return out.slice(0, 6);
"""


class PhoneWidthTests(BrowserTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": True},
        )

    @classmethod
    def tearDownClass(cls):
        cls.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        temp_media_root(self.addCleanup)
        self.objects = WalkObjects.create()
        self.addCleanup(cache.clear)  # the walk fills the process-wide cache (OGC extents, tiles): leave none behind
        self.shots = Path(os.environ["SIPANAH_SCREENSHOTS"]) if os.environ.get("SIPANAH_SCREENSHOTS") else None

    def sign_in(self, role: str) -> None:
        """Sign in and read the pages in Bahasa Indonesia, the default language, whose words are the longer."""
        self.driver.delete_all_cookies()
        if role != "anonymous":
            self.login(role)
        else:
            self.driver.get(self.live_server_url + "/accounts/login/")
        self.driver.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME, "value": "id", "path": "/"})

    def overflow(self, page: Page) -> str | None:
        self.driver.get(self.live_server_url + page.url)
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        # A phone widens its layout viewport to fit a page that is too wide (innerWidth grows past the screen): both
        # the page and the viewport must stay within the screen's 390 px.
        screen, inner, scroll = self.driver.execute_script(
            "return [screen.width, window.innerWidth, document.documentElement.scrollWidth]"
        )
        self.assertEqual(screen, WIDTH, "the phone emulation did not apply")
        self.assertEqual(self.driver.find_element("tag name", "html").get_attribute("lang"), "id", page.url)
        if self.shots:
            self.shots.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9]+", "_", f"{page.role}{page.url}").strip("_")
            self.driver.save_screenshot(str(self.shots / f"{name}.png"))
        if max(scroll, inner) <= WIDTH:
            return None
        return f"{page.role} {page.url}: {max(scroll, inner)} px wide: {self.driver.execute_script(OVERFLOW)}"

    def test_no_page_of_any_role_scrolls_sideways_at_390_px(self):
        pages = [
            page
            for page in self.objects.anonymous_pages() + self.objects.pages(BROWSER_ROLES)
            if not page.url.startswith(THIRD_PARTY_PREFIXES)
        ]
        self.assertGreater(len(pages), 40, "the walk found too few pages")
        wide: list[str] = []
        role = None
        for page in pages:
            if page.role != role:
                role = page.role
                self.sign_in(role)
            problem = self.overflow(page)
            if problem:
                wide.append(problem)
        self.assertEqual(wide, [], f"{len(wide)} pages scroll sideways:\n" + "\n".join(wide))
