"""Basemaps: the catalogue from settings (XYZ and WMS), the CSP's image hosts, each user's remembered choice, and
every map drawing boundaries and parcels with the one-line note when it has no basemap.

The browser side (tiles asked of a tile server the test starts, GetMap parameters, everything offline) is
tests/maps/test_basemap_browser.py.
"""

from __future__ import annotations

import json
import re

from django.core.exceptions import ImproperlyConfigured
from django.test import Client, SimpleTestCase, TestCase, override_settings
from django.urls import reverse

from assets.maps import builders
from assets.models import Agency, ImportJob, User
from assets.register import basemaps, permissions, place
from assets.transfer import preview
from sipanah import basemaps as config
from sipanah.security import content_security_policy
from tests.factories import load_reference, make_asset, make_user, point_inside, square

NOTE = "No basemap: boundaries and parcels are drawn from Sipanah's own data."
ORTHO = {"name": "Ortofoto 2024", "url": "https://gis.example.go.id/tiles/{z}/{x}/{y}.jpg", "attribution": "BPKAD"}
WMS = {
    "name": "GeoServer",
    "kind": "wms",
    "url": "https://geoserver.example.go.id/geoserver/wms",
    "layers": "balikpapan:ortofoto",
    "format": "image/jpeg",
    "version": "1.3.0",
}
TWO = json.dumps([ORTHO, WMS])


def parse(entries) -> tuple[dict, ...]:
    return config.catalogue(json_text=json.dumps(entries), url="", attribution="", name="")


class CatalogueTests(SimpleTestCase):
    def test_the_single_url_is_one_xyz_basemap_and_empty_is_none(self):
        [one] = config.catalogue(json_text="", url="https://t.example.org/{z}/{x}/{y}.png", attribution="©", name="OSM")
        self.assertEqual((one["key"], one["kind"], one["name"], one["attribution"]), ("osm", "xyz", "OSM", "©"))
        self.assertEqual(config.catalogue(json_text="", url="", attribution="", name="x"), ())

    def test_a_json_list_names_xyz_and_wms_basemaps(self):
        ortho, wms = parse([ORTHO, WMS])
        self.assertEqual((ortho["key"], ortho["kind"]), ("ortofoto-2024", "xyz"))
        self.assertEqual(
            (wms["key"], wms["kind"], wms["layers"], wms["format"], wms["version"]),
            ("geoserver", "wms", "balikpapan:ortofoto", "image/jpeg", "1.3.0"),
        )

    def test_a_wrong_entry_is_refused_naming_it(self):
        cases = [
            ("[{", "SIPANAH_BASEMAPS must be a JSON list"),
            ('{"name": "x"}', "must be a JSON list of basemaps, got dict"),
            (json.dumps([ORTHO, {**WMS, "layers": ""}]), "SIPANAH_BASEMAPS[1]: a WMS needs 'layers'"),
            (json.dumps([{**WMS, "version": "1.0"}]), "'version' must be 1.1.1 or 1.3.0"),
            (json.dumps([{**ORTHO, "url": "https://x.org/tiles"}]), "needs {z}, {x} and {y}"),
            (json.dumps([{**ORTHO, "kind": "wmts"}]), "'kind' must be xyz or wms"),
            (json.dumps([{**ORTHO, "colour": "red"}]), "unknown field(s) colour"),
            (json.dumps([{**ORTHO, "key": "none"}]), "'key' must be"),
            (json.dumps([ORTHO, ORTHO]), "two basemaps have the key 'ortofoto-2024'"),
            (json.dumps([{"url": ORTHO["url"]}]), "SIPANAH_BASEMAPS[0]: 'name' is required"),
        ]
        for text, message in cases:
            with self.subTest(text), self.assertRaisesMessage(ImproperlyConfigured, message):
                config.catalogue(json_text=text, url="", attribution="", name="")

    def test_the_policy_allows_the_hosts_of_every_basemap_and_nothing_else(self):
        directives = content_security_policy(ORTHO["url"], WMS["url"], "/own/{z}/{x}/{y}.png")["DIRECTIVES"]
        self.assertEqual(
            directives["img-src"],
            ["'self'", "data:", "blob:", "https://gis.example.go.id", "https://geoserver.example.go.id"],
        )
        for directive in ("script-src", "connect-src", "default-src", "style-src", "font-src"):
            self.assertNotIn("https://geoserver.example.go.id", directives[directive])


class ChoiceTests(TestCase):
    def setUp(self):
        self.user = make_user("auditor", permissions.AUDITOR)

    @override_settings(SIPANAH_BASEMAPS=TWO)
    def test_the_first_basemap_until_the_user_chooses(self):
        self.assertEqual(basemaps.basemap_for(self.user).key, "ortofoto-2024")
        basemaps.remember(self.user, "geoserver")
        user = User.objects.get(pk=self.user.pk)
        self.assertEqual(user.map_basemap, "geoserver")
        wms = basemaps.basemap_for(user)
        self.assertEqual((wms.kind, wms.url, wms.wms_params()["layers"]), ("wms", WMS["url"], "balikpapan:ortofoto"))
        basemaps.remember(user, basemaps.NONE)
        self.assertIsNone(basemaps.basemap_for(User.objects.get(pk=self.user.pk)))
        with self.assertRaisesMessage(ValueError, "There is no basemap 'osm'."):
            basemaps.remember(user, "osm")

    def test_a_choice_no_longer_configured_falls_back_to_the_first(self):
        with self.settings(SIPANAH_BASEMAPS=TWO):
            basemaps.remember(self.user, "geoserver")
        with self.settings(SIPANAH_BASEMAPS=json.dumps([ORTHO])):
            self.assertEqual(basemaps.choice_of(self.user), "ortofoto-2024")
        with self.settings(SIPANAH_BASEMAPS="", SIPANAH_BASEMAP_URL=""):
            self.assertEqual(basemaps.choice_of(self.user), basemaps.NONE)
            self.assertIsNone(basemaps.basemap_for(self.user))

    def test_the_parcel_widget_draws_the_users_basemap(self):
        from assets.register.forms import AssetForm

        def widget_basemap() -> dict | None:
            html = str(AssetForm(user=self.user)["geom"])
            found = re.search(r'<script id="id_geom_options" type="application/json">(.*?)</script>', html, re.S)
            return json.loads(found.group(1))["basemap"]

        with self.settings(SIPANAH_BASEMAPS=TWO):
            basemaps.remember(self.user, "geoserver")
            self.assertEqual((widget_basemap()["kind"], widget_basemap()["layers"]), ("wms", WMS["layers"]))
            basemaps.remember(self.user, "ortofoto-2024")
            self.assertEqual(widget_basemap()["url"], ORTHO["url"])
            basemaps.remember(self.user, basemaps.NONE)
            self.assertIsNone(widget_basemap())

    def test_place_names_the_first_xyz_basemap(self):
        with self.settings(SIPANAH_BASEMAPS=json.dumps([WMS, ORTHO])):
            self.assertEqual(place.basemap_url(), ORTHO["url"])
            self.assertEqual(place.city().basemap_attribution, "BPKAD")
        with self.settings(SIPANAH_BASEMAPS=json.dumps([WMS])):
            self.assertEqual(place.basemap_url(), "")
        with self.settings(SIPANAH_BASEMAPS="", SIPANAH_BASEMAP_URL="/own/{z}/{x}/{y}.png"):
            self.assertEqual(place.city().basemap_url, "/own/{z}/{x}/{y}.png")

    @override_settings(SIPANAH_BASEMAPS=TWO)
    def test_the_endpoint_takes_a_post_with_csrf_only(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.user)
        url = reverse("map-basemap")
        self.assertEqual(client.get(url).status_code, 405)
        self.assertEqual(client.post(url, {"basemap": "none"}).status_code, 403)  # no CSRF token
        client.get(reverse("asset-map"))  # sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        response = client.post(url, {"basemap": "geoserver"}, HTTP_X_CSRFTOKEN=token)
        self.assertEqual(response.json(), {"basemap": "geoserver"})
        self.assertEqual(User.objects.get(pk=self.user.pk).map_basemap, "geoserver")
        response = client.post(url, {"basemap": "<b>x</b>"}, HTTP_X_CSRFTOKEN=token)
        self.assertEqual(response.status_code, 400)
        self.assertIn("'<b>x</b>'", response.json()["error"])  # named (JSON, not HTML), in the user's language
        self.assertEqual(User.objects.get(pk=self.user.pk).map_basemap, "geoserver")

    def test_signed_out_is_sent_to_sign_in(self):
        response = Client().post(reverse("map-basemap"), {"basemap": "none"})
        self.assertEqual(response.status_code, 302)


def switch_config(html: str) -> dict:
    """The config of SipanahMap.basemaps(...) in a page (builders.BasemapSwitch)."""
    [found] = re.findall(r"SipanahMap\.basemaps\([^{]*\{[^}]*\}, [\w]+, (\{.*?\})\);", html, re.S)
    return json.loads(found)


class PageTests(TestCase):
    """Every map of every page: boundaries, parcels, the basemap the user chose, the note when there is none."""

    def setUp(self):
        load_reference()
        self.agency = Agency.objects.get(code="1.01.01")
        lon, lat = point_inside("64.71.01.1001")
        self.asset = make_asset(agency=self.agency, geom=square(lon, lat, 0.0003))
        self.user = make_user("bpkad", permissions.BPKAD)
        self.client.force_login(self.user)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        x0, y0, x1, y1 = self.asset.geom.extent
        self.pages = {
            "map": reverse("asset-map"),
            "detail": reverse("asset-detail", kwargs={"pk": self.asset.pk}),
            "query": reverse("asset-query") + f"?bbox={x0 - 0.001},{y0 - 0.001},{x1 + 0.001},{y1 + 0.001}",
        }

    def get(self, name: str, suffix: str = "") -> str:
        response = self.client.get(self.pages[name] + suffix)
        self.assertEqual(response.status_code, 200, name)
        return response.content.decode()

    def assert_context_layers(self, html: str, name: str) -> None:
        self.assertIn("Kecamatan boundaries", html, name)
        self.assertIn("Kelurahan boundaries", html, name)
        self.assertIn(builders.tile_url("").split("{z}")[0], html, name)  # the register's parcels

    @override_settings(SIPANAH_BASEMAPS="", SIPANAH_BASEMAP_URL="")
    def test_without_a_basemap_every_map_draws_boundaries_parcels_and_the_note(self):
        for name in self.pages:
            html = self.get(name)
            self.assert_context_layers(html, name)
            self.assertNotIn("L.tileLayer(", html, name)
            self.assertNotIn("L.tileLayer.wms(", html, name)
            config = switch_config(html)
            self.assertEqual((config["current"], config["note"]), ("none", NOTE), name)

    @override_settings(SIPANAH_BASEMAPS=TWO)
    def test_the_remembered_choice_is_drawn_on_every_map(self):
        for name in self.pages:
            html = self.get(name)
            self.assert_context_layers(html, name)
            self.assertIn('L.tileLayer(\n                "https://gis.example.go.id/tiles/{z}/{x}/{y}.jpg"', html)
            self.assertIn('"layers": "balikpapan:ortofoto"', html)
            self.assertIn('"version": "1.3.0"', html)
            self.assertEqual(switch_config(html)["current"], "ortofoto-2024", name)
        basemaps.remember(self.user, basemaps.NONE)
        for name in self.pages:
            self.assertEqual(switch_config(self.get(name))["current"], "none", name)
        # ?basemap=none for one page (the map's checkbox): shown, and the page's script stores it as the choice
        basemaps.remember(self.user, "geoserver")
        config = switch_config(self.get("map", "?basemap=none"))
        self.assertEqual((config["current"], config["stored"]), ("none", "geoserver"))
        self.assertEqual(config["saveUrl"], reverse("map-basemap"))
        self.assertEqual(switch_config(self.get("map", "?basemap=nonsense"))["current"], "geoserver")

    def test_import_preview_and_audit_maps_draw_boundaries_and_say_there_is_no_basemap(self):
        lon, lat = point_inside("64.71.01.1001")
        feature = {"label": "row 2", "geometry": json.loads(square(lon, lat, 0.0003).json)}
        svg = preview.preview_svg({"preview": [feature]})
        self.assertIn('class="kelurahan"', svg)
        self.assertIn('class="kecamatan"', svg)
        self.assertIn("row 2</title>", svg)
        job = ImportJob.objects.create(
            user=self.user, original_name="parcels.geojson", status=ImportJob.Status.PREVIEWED,
            report={"preview": [feature]},
        )  # fmt: skip
        page = self.client.get(reverse("import-detail", args=[job.pk])).content.decode()
        self.assertIn('class="kecamatan"', page)
        self.assertIn(NOTE[:50], page)
        page = self.client.get(reverse("audit-findings")).content.decode()
        self.assertIn('class="kelurahan"', page)
        self.assertIn(NOTE[:50], page)
