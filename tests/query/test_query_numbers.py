"""The query page prints its numbers in the active language (assets.lib.formats): 149.433,00 in Indonesian,
149,433.00 in English, never a mix such as 149,433,00."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.test import TestCase

from assets.register import permissions
from tests.factories import load_reference, make_asset, make_user, point_inside, square

KELURAHAN = "64.71.05.1002"


class QueryNumberTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        lon, lat = point_inside(KELURAHAN)
        make_asset(
            geom=square(lon, lat, 0.0002),
            luas_kib_m2=Decimal("149433.00"),
            nilai_perolehan=Decimal("2608698717"),
            tahun_perolehan=2010,
            tanggal_perolehan=dt.date(2010, 5, 17),
        )
        cls.planner = make_user("planner", permissions.PLANNER)

    def page(self, language: str) -> str:
        self.client.force_login(self.planner)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
        response = self.client.get("/query/", {"area": KELURAHAN})
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def totals(self, html: str) -> dict[str, str]:
        section = re.search(r'<dl class="totals">(.*?)</dl>', html, re.S).group(1)
        return dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", section))

    def test_indonesian(self):
        html = self.page("id")
        values = list(self.totals(html).values())
        self.assertIn("149.433,00", values)
        self.assertIn("2.608.698.717", values)
        self.assertNotIn("149,433,00", html)
        self.assertNotIn("149,433", html)

    def test_english(self):
        html = self.page("en")
        totals = self.totals(html)
        self.assertEqual(totals["KIB area (m²)"], "149,433.00")
        self.assertEqual(totals["Acquisition value (Rp)"], "2,608,698,717")
        self.assertNotIn("149.433", html)
        # The table of results: the same helper, right-aligned numbers.
        self.assertRegex(html, r'<td class="num">[\d,]+\.\d\d</td><td class="num">[\d,]+\.\d\d</td>')
        # Its tables scroll inside their own boxes (not the page, at 390 px), which take the keyboard focus.
        self.assertEqual(len(re.findall(r'class="table-wrap[^"]*" tabindex="0" role="region" aria-label', html)), 3)
