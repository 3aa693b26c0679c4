"""Content-Security-Policy: on every response, strict for scripts, and every page's inline code carries the nonce.

The browser side (no violation fires, the maps still paint) is tests/deploy/test_csp_browser.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, TestCase
from django.urls import reverse

from assets.maps import builders
from assets.models import Agency
from assets.register import permissions, place
from sipanah.security import basemap_source, content_security_policy
from tests.factories import load_reference, make_asset, make_user, point_inside, square

JS_TYPES = {"", "text/javascript", "application/javascript", "module"}  # the types a browser executes


def parse_policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class _Scripts(HTMLParser):
    """Inline <script> elements (with their type and nonce), inline event handlers and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.js_urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes:
            self.inline.append(attributes)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.js_urls.append(f"<{tag} {name}={value}>")


def scan(html: str) -> _Scripts:
    parser = _Scripts()
    parser.feed(html)
    return parser


class PolicyTests(SimpleTestCase):
    def test_basemap_host_becomes_an_image_source(self):
        self.assertEqual(
            basemap_source("https://tile.openstreetmap.org/{z}/{x}/{y}.png"), "https://tile.openstreetmap.org"
        )
        self.assertEqual(basemap_source("https://{s}.tile.example.org/{z}/{x}/{y}.png"), "https://*.tile.example.org")
        self.assertEqual(basemap_source("http://tiles.local:8080/osm/{z}/{x}/{y}.png"), "http://tiles.local:8080")
        self.assertIsNone(basemap_source(""))  # no basemap
        self.assertIsNone(basemap_source("/tiles/{z}/{x}/{y}.png"))  # this server: 'self'
        with self.assertRaisesMessage(ImproperlyConfigured, "SIPANAH_BASEMAP_URL"):
            basemap_source("https://tiles.{s}.example.org/{z}/{x}/{y}.png")
        with self.assertRaisesMessage(ImproperlyConfigured, "http(s)"):
            basemap_source("ftp://example.org/{z}/{x}/{y}.png")

    def test_policy_is_strict_for_scripts(self):
        directives = content_security_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png")["DIRECTIVES"]
        self.assertIn("https://*.tile.example.org", directives["img-src"])
        self.assertNotIn("https://*.tile.example.org", directives["script-src"] + directives["connect-src"])
        for directive in ("script-src", "default-src", "connect-src"):
            self.assertFalse({"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(directives[directive]), directive)
        self.assertEqual(content_security_policy("")["DIRECTIVES"]["img-src"], ["'self'", "data:", "blob:"])

    def test_with_nonce_marks_inline_scripts_only(self):
        markup = '<script src="/static/a.js"></script><script>x()</script><SCRIPT type="module">y()</SCRIPT><scripts>'
        marked = builders.with_nonce(markup, "abc123+/=")
        self.assertEqual(
            marked,
            '<script src="/static/a.js"></script><script nonce="abc123+/=">x()</script>'
            '<script nonce="abc123+/=" type="module">y()</SCRIPT><scripts>',
        )
        with self.assertRaises(ValueError):
            builders.with_nonce(markup, '"><script>alert(1)</script>')

    def test_templates_have_no_inline_event_handlers_or_unmarked_scripts(self):
        # Pages not rendered below are covered too: every template of the project, as written.
        for path in sorted((Path(settings.BASE_DIR) / "assets" / "templates").rglob("*.html")):
            text = path.read_text()
            found = scan(text)
            self.assertEqual(found.handlers, [], path)
            self.assertEqual(found.js_urls, [], path)
            for attributes in found.inline:
                if attributes.get("type", "") in JS_TYPES:
                    self.assertEqual(attributes.get("nonce"), "{{ request.csp_nonce }}", path)


class PageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        lon, lat = point_inside("64.71.01.1001")
        cls.asset = make_asset(
            agency=cls.agency, geom=square(lon, lat, 0.0002), nama_barang="<script>alert(1)</script>"
        )
        cls.admin = make_user("admin", permissions.ADMIN)
        cls.admin.is_staff = cls.admin.is_superuser = True
        cls.admin.save()
        cls.shape = urlencode({"intersects": square(lon, lat, 0.001)[0].json})

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def pages(self) -> list[str]:
        pk = self.asset.pk
        return [
            reverse("home"),
            reverse("asset-list"),
            reverse("asset-detail", args=[pk]),
            reverse("asset-update", args=[pk]),
            reverse("asset-create"),
            reverse("certificate-create", args=[pk]),
            reverse("asset-map"),
            reverse("asset-map") + "?as_of=2026-01-01",
            reverse("asset-query"),
            reverse("asset-query") + "?" + self.shape,  # with results: the map of the assets found
            reverse("audit-findings"),
            reverse("audit-finding", args=["overlaps"]),
            reverse("audit-finding", args=["overlaps"]) + "?as_of=not-a-date",  # the bad-request page
            reverse("audit-dashboard"),
            reverse("audit-log"),
            reverse("asset-remove", args=[pk]),
            reverse("import-list"),
            reverse("admin:index"),
            reverse("admin:assets_landasset_changelist"),
            reverse("admin:assets_landasset_change", args=[pk]),
            reverse("admin:assets_landasset_add"),
            reverse("api-docs"),
            reverse("ogc-landing") + "?f=html",
            "/no-such-page/",
        ]

    def assert_strict_policy(self, response, url: str) -> dict[str, list[str]]:
        self.assertIn("Content-Security-Policy", response, url)
        policy = parse_policy(response["Content-Security-Policy"])
        self.assertNotIn("'unsafe-inline'", policy["script-src"], url)
        self.assertNotIn("'unsafe-eval'", policy["script-src"], url)
        self.assertEqual(policy["object-src"], ["'none'"], url)
        self.assertEqual(policy["frame-ancestors"], ["'none'"], url)
        self.assertEqual(policy["base-uri"], ["'self'"], url)
        self.assertEqual(policy["form-action"], ["'self'"], url)
        return policy

    def test_every_inline_script_carries_the_nonce_of_its_response(self):
        self.client.force_login(self.admin)
        for url in self.pages():
            with self.subTest(url=url):
                response = self.client.get(url)
                self.assertIn(response.status_code, (200, 400, 404), url)
                self.assertTrue(response["Content-Type"].startswith("text/html"), url)
                policy = self.assert_strict_policy(response, url)
                found = scan(response.content.decode())
                self.assertEqual(found.handlers, [], url)
                self.assertEqual(found.js_urls, [], url)
                code = [a for a in found.inline if a.get("type", "") in JS_TYPES]
                nonces = {a.get("nonce") for a in code}
                if code:
                    [nonce] = nonces  # one nonce per response, on every inline script
                    self.assertIn(f"'nonce-{nonce}'", policy["script-src"], url)
                self.assertNotIn("alert(1)</script>", response.content.decode(), url)  # the asset's name is escaped

    def test_map_pages_mark_folium_scripts(self):
        self.client.force_login(self.admin)
        for url in (reverse("asset-map"), reverse("asset-detail", args=[self.asset.pk])):
            response = self.client.get(url)
            nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
            html = response.content.decode()
            self.assertIn(f'<script nonce="{nonce}">', html)
            self.assertIn("L.map(", html)
            self.assertEqual(
                len(re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)(?![^>]*application/json)", html)), 0
            )
        # A new nonce for every response.
        first, second = (self.client.get(reverse("asset-map"))["Content-Security-Policy"] for _ in range(2))
        self.assertNotEqual(first, second)

    def test_header_on_json_script_anonymous_and_error_responses(self):
        self.client.force_login(self.admin)
        for url in ("/api/v1/assets/", reverse("api-docs") + "?script", "/no-such-page/"):
            with self.subTest(url=url):
                self.assert_strict_policy(self.client.get(url), url)
        script = self.client.get(reverse("api-docs") + "?script")  # Swagger UI's start-up code, as a file of its own
        self.assertEqual(script["Content-Type"], "application/javascript")
        self.assertIn("SwaggerUIBundle", script.content.decode())
        self.client.logout()
        for url in (reverse("login"), "/api/v1/assets/", reverse("healthz"), "/no-such-page/"):
            with self.subTest(url=url):
                response = self.client.get(url)
                policy = self.assert_strict_policy(response, url)
                self.assertEqual(policy["default-src"], ["'self'"], url)

    def test_edit_widget_starts_from_a_static_script(self):
        self.client.force_login(self.admin)
        for url in (
            reverse("asset-update", args=[self.asset.pk]),
            reverse("admin:assets_landasset_change", args=[self.asset.pk]),
        ):
            html = self.client.get(url).content.decode()
            self.assertIn("js/sipanah-parcel-widget.js", html, url)
            self.assertNotIn("OLMapWidget.js", html, url)  # Sipanah's own widget, not GeoDjango's script
            options = json.loads(
                re.search(r'<script id="id_geom_options" type="application/json">(.*?)</script>', html).group(1)
            )
            self.assertEqual(options["id"], "id_geom")
            self.assertEqual(options["zoom"], place.city().zoom)
            self.assertEqual((options["basemap"] or {}).get("url", ""), place.basemap_url())
        script = Path(finders.find("js/sipanah-parcel-widget.js")).read_text()
        self.assertIn("new ol.Map(", script)
        self.assertNotIn("innerHTML", script)  # server values go in as text
