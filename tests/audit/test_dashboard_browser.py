"""The audit dashboard in headless Chromium at a desktop (1280 px) and a phone (390 px) width: nothing wider than
its container, no sideways page scroll, chart labels inside their charts, focusable scroll regions and map areas,
and the PNG download drawn from the chart's SVG."""

from __future__ import annotations

import base64
import datetime as dt
import struct
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from assets.models import Agency
from assets.register import permissions
from tests.browser_case import BrowserTestCase
from tests.factories import load_reference, make_asset, make_user, point_inside, square

# Every element of the main content whose right edge passes its parent's (1 px of rounding allowed), unless the
# parent scrolls (a table in its scroll box); SVG shapes and labels are measured against their <svg>, which clips
# whatever passes its edges (a clipped label).
OVERFLOW_JS = """
const main = document.getElementById("main");
const out = [];
const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
  (el.getAttribute("class") ? "." + el.getAttribute("class").trim().split(/\\s+/).join(".") : "") +
  (el.textContent ? " «" + el.textContent.trim().slice(0, 40) + "»" : "");
for (const el of main.querySelectorAll("*")) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (el.closest(".visually-hidden")) continue;
  const box = el.ownerSVGElement || el.parentElement;
  if (!box) continue;
  const style = getComputedStyle(box);
  if (!el.ownerSVGElement && ["auto", "scroll"].includes(style.overflowX)) continue;
  const b = box.getBoundingClientRect();
  if (r.right > b.right + 1 || (el.ownerSVGElement && r.left < b.left - 1)) {
    out.push(describe(el) + " " + Math.round(r.left) + ".." + Math.round(r.right) + " in " +
             describe(box).slice(0, 60) + " " + Math.round(b.left) + ".." + Math.round(b.right));
  }
}
return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, overflow: out.slice(0, 20),
        count: out.length};
"""

PNG_JS = """
const done = arguments[arguments.length - 1];
const button = document.querySelector("button[data-png]");
SipanahCharts.png(button.dataset.png).then((blob) => {
  const reader = new FileReader();
  reader.onload = () => done({type: blob.type, data: reader.result, hidden: button.hidden});
  reader.readAsDataURL(blob);
}).catch((e) => done({error: String(e)}));
"""


class DashboardBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        load_reference()
        agencies = list(Agency.objects.order_by("code"))
        long_name = agencies[0]
        long_name.name = "Badan Pengelolaan Keuangan, Pendapatan dan Aset Daerah Kota Balikpapan"
        long_name.save()
        codes = ["64.71.05.1002", "64.71.01.1001", "64.71.03.1003", "64.71.06.1001", "64.71.02.1001"]
        for i in range(40):  # acquisition years over 60 years: the chart groups them in periods
            lon, lat = point_inside(codes[i % len(codes)])
            year = 1965 + (i * 3) % 61
            make_asset(
                agency=agencies[i % len(agencies)],
                geom=square(lon + (i // len(codes)) * 0.0004, lat, 0.00015),
                tahun_perolehan=year,
                tanggal_perolehan=dt.date(year, 1, 2),
            )
        make_asset(agency=agencies[1], geom=None, tahun_perolehan=2001, tanggal_perolehan=dt.date(2001, 1, 2))
        make_user("auditor", permissions.AUDITOR)
        self.login("auditor")

    def open_dashboard(self, width: int) -> None:
        self.driver.set_window_size(width, 900)
        self.driver.get(self.live_server_url + reverse("audit-dashboard"))
        self.wait.until(lambda d: d.execute_script("return document.readyState === 'complete'"))
        self.driver.execute_script("document.querySelectorAll('details').forEach((d) => { d.open = true; })")

    def test_nothing_overflows_at_desktop_and_phone_width(self):
        shots = Path(settings.BASE_DIR) / "var" / "screenshots"  # var/ is ignored by git: look at them there
        shots.mkdir(parents=True, exist_ok=True)
        for width in (1280, 390):
            with self.subTest(width=width):
                self.open_dashboard(width)
                height = self.driver.execute_script("return document.documentElement.scrollHeight")
                self.driver.set_window_size(width, min(height + 100, 8000))
                shot = shots / f"dashboard-{width}.png"
                self.driver.save_screenshot(str(shot))
                self.assertGreater(shot.stat().st_size, 10_000, shot)
                result = self.driver.execute_script(OVERFLOW_JS)
                self.assertLessEqual(result["scrollWidth"], result["innerWidth"], "the page scrolls sideways")
                self.assertEqual(result["overflow"], [], f"{result['count']} elements overflow; screenshot {shot}")
                # The chart drawn for the box's width is the one shown: wide on the desktop, narrow on a phone.
                shown = self.driver.execute_script(
                    "return [...document.querySelectorAll('.chart-variant')].filter((e) => e.offsetParent)"
                    ".map((e) => e.className)"
                )
                variant = "chart-variant--wide" if width == 1280 else "chart-variant--narrow"
                self.assertEqual(len(shown), 8)  # 6 register charts, pemanfaatan revenue and open cases
                self.assertTrue(all(variant in c for c in shown), shown)
        # The check itself sees a block wider than its panel and a chart label cut off at the chart's edge.
        self.driver.execute_script(
            "const panel = document.querySelector('.dash-chart');"
            "panel.insertAdjacentHTML('beforeend', '<div id=\"too-wide\" style=\"width: 2000px\">x</div>');"
            "const svg = document.querySelector('.chart-variant--narrow svg');"
            "const t = document.createElementNS('http://www.w3.org/2000/svg', 'text');"
            "t.setAttribute('x', '-40'); t.setAttribute('y', '30'); t.textContent = 'Cut label';"
            "t.id = 'cut-label'; svg.appendChild(t);"
        )
        overflow = "\n".join(self.driver.execute_script(OVERFLOW_JS)["overflow"])
        self.assertIn("div#too-wide", overflow)
        self.assertIn("text#cut-label", overflow)

    def test_scroll_regions_and_map_areas_take_the_keyboard_focus(self):
        self.open_dashboard(1280)
        focused = self.driver.execute_script(
            "const out = [];"
            "for (const el of [...document.querySelectorAll('.table-wrap'), "
            "                  document.querySelector('.chart-variant--wide .choropleth a')]) {"
            "  el.focus(); out.push(document.activeElement === el); }"
            "return out;"
        )
        self.assertGreaterEqual(len(focused), 9)
        self.assertTrue(all(focused), focused)

    def test_png_download_is_drawn_from_the_chart_svg(self):
        self.open_dashboard(1280)
        result = self.driver.execute_async_script(PNG_JS)
        self.assertNotIn("error", result)
        self.assertFalse(result["hidden"])  # the script shows the PNG buttons
        self.assertEqual(result["type"], "image/png")
        png = base64.b64decode(result["data"].split(",", 1)[1])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", png[16:24])
        self.assertEqual(width, 2 * 600)  # the SVG's width, drawn at twice its size
        self.assertGreater(height, 200)
