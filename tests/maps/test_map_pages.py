"""Map page, popup data and detail map: filters, headline numbers, escaping, no outside host."""

from __future__ import annotations

import json
import re

from django.contrib.staticfiles import finders
from django.test import TestCase
from django.urls import NoReverseMatch, reverse

from assets.models import Agency
from assets.register import permissions, place
from tests.factories import load_reference, make_asset, make_user, point_inside, square

XSS = "<img src=x onerror=alert(1)>"
# Not inside a base64 value: a script's CSP nonce once read "…//4yAQ==" (the SpatiaLite CI, a 1-in-hundreds draw).
URL_RE = re.compile(r"""(?<![A-Za-z0-9+/])(?:https?:)?//[^\s"'<>)]+""")


class MapPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        lon, lat = point_inside("64.71.01.1001")
        cls.asset = make_asset(agency=cls.agency, geom=square(lon, lat, 0.0002), nama_barang=XSS)
        cls.other = make_asset(agency=cls.agency, geom=None, nama_barang="Tanah Lain")
        cls.auditor = make_user("auditor", permissions.AUDITOR)

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.client.force_login(self.auditor)

    def test_page_references_no_outside_host_but_the_basemap(self):
        html = self.client.get(reverse("asset-map")).content.decode()
        hosts = set(URL_RE.findall(html))
        self.assertEqual(hosts, {place.basemap_url()} - {""})  # the basemap may be switched off
        for path in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
            self.assertIsNotNone(finders.find(path), path)  # every linked file is vendored
        self.assertIn("/static/vendor/leaflet/leaflet.js", html)
        self.assertIn("Leaflet.VectorGrid.bundled.min.js", html)

    def test_no_basemap_choice_and_no_basemap_setting(self):
        html = self.client.get(reverse("asset-map") + "?basemap=none").content.decode()
        self.assertRegex(html, r"var (macro_element|layer)_\w+ = L.layerGroup\(\);\s*\w+.addTo")
        with self.settings(SIPANAH_BASEMAP_URL=""):
            html = self.client.get(reverse("asset-map")).content.decode()
        self.assertEqual(set(URL_RE.findall(html)), set())

    def test_filters_reach_the_tiles_and_the_totals(self):
        response = self.client.get(reverse("asset-map") + "?status=terbit&q=x%27%3C%2Fscript%3E")
        html = response.content.decode()
        totals_url = reverse("map-totals") + "?q=x%27%3C%2Fscript%3E&status=terbit"
        self.assertIn(json.dumps(totals_url).replace("&", "\\u0026"), html)
        self.assertEqual(self.client.get(totals_url).json()["count"], "0")
        self.assertIn('"/tiles/assets/{z}/{x}/{y}.pbf?q=x%27%3C%2Fscript%3E\\u0026status=terbit"', html)
        self.assertNotIn("x'</script>", html)
        totals = self.client.get(reverse("map-totals")).json()
        self.assertEqual(
            totals, {"count": "2", "luas_kib": "2,400.00 m²", "nilai": "Rp 2,500,000,000", "certified": "0.0%"}
        )
        self.assertEqual(self.client.get(reverse("map-totals") + "?status=nonsense").status_code, 400)

    def test_download_links_carry_the_filters_when_exports_exist(self):
        html = self.client.get(reverse("asset-map") + "?status=terbit").content.decode()
        try:
            export = reverse("asset-export")
        except NoReverseMatch:  # the export view is another issue's: no dead link without it
            self.assertNotIn("format=xlsx", html)
        else:
            self.assertIn(f'href="{export}?status=terbit&amp;format=xlsx"', html)
            self.client.force_login(make_user("planner", permissions.PLANNER))  # planners do not export
            html = self.client.get(reverse("asset-map") + "?status=terbit").content.decode()
            self.assertNotIn(export, html)

    def test_invalid_filter_is_shown_not_a_traceback(self):
        response = self.client.get(reverse("asset-map") + "?status=nonsense")
        self.assertContains(response, "Some filters are not valid", status_code=400)  # the page, saying what

    def test_popup_data_is_plain_json_text(self):
        response = self.client.get(reverse("map-asset-popup", kwargs={"pk": self.asset.pk}))
        data = response.json()
        self.assertEqual(data["nama"], XSS)  # raw text; the page inserts it with textContent
        self.assertEqual(data["url"], reverse("asset-detail", kwargs={"pk": self.asset.pk}))
        self.assertEqual(data["luas_kib"], "1,200 m²")
        self.assertIsNone(data["luas_sertifikat"])
        self.assertEqual(self.client.get(reverse("map-asset-popup", kwargs={"pk": 999999})).status_code, 404)
        self.client.force_login(make_user("norole", None))
        self.assertEqual(self.client.get(reverse("map-asset-popup", kwargs={"pk": self.asset.pk})).status_code, 403)

    def test_map_and_popup_script_never_use_innerhtml_for_values(self):
        with open(finders.find("js/sipanah-map.js")) as handle:
            source = handle.read()
        self.assertIn("textContent = data.nama", source)
        self.assertNotIn("innerHTML", source)

    def test_detail_page_has_its_map_and_escapes_the_name(self):
        html = self.client.get(reverse("asset-detail", kwargs={"pk": self.asset.pk})).content.decode()
        self.assertNotIn(XSS, html)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", html)
        self.assertIn("SipanahMap.faintStyle", html)
        self.assertIn("fitBounds", html)
        self.assertEqual(set(URL_RE.findall(html)), {place.basemap_url()} - {""})
        html = self.client.get(reverse("asset-detail", kwargs={"pk": self.other.pk})).content.decode()
        self.assertNotIn("L.map(", html)

    def test_roles_without_register_access_get_no_map(self):
        self.client.force_login(make_user("norole", None))
        self.assertEqual(self.client.get(reverse("asset-map")).status_code, 403)
        self.client.logout()
        self.assertEqual(self.client.get(reverse("asset-map")).status_code, 302)
