"""Production static files: collectstatic with the manifest storage succeeds and the pages name the hashed files."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import TestCase, override_settings
from django.urls import reverse

from assets.models import Agency
from assets.register import permissions
from tests.factories import load_reference, make_asset, make_user, point_inside, square

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "sipanah.storage.ManifestStaticFilesStorage"},  # what settings choose without debug
}
HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")


def every_extension() -> list[str]:
    """The extensions of all static files: given to whitenoise as "do not compress" so that the test hashes and
    rewrites every file as production does but skips gzip/brotli (whitenoise's own job; 40 s on this machine)."""
    extensions = set()
    for finder in finders.get_finders():
        for path, _storage in finder.list([]):
            extensions.add(Path(path).suffix.lstrip(".") or Path(path).name)
    return sorted(extensions)


class ManifestStaticFilesTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        lon, lat = point_inside("64.71.01.1001")
        cls.asset = make_asset(agency=Agency.objects.get(code="1.01.01"), geom=square(lon, lat, 0.0002))
        cls.user = make_user("bpkad", permissions.BPKAD)

    def test_collectstatic_and_hashed_names_in_the_pages(self):
        with (
            tempfile.TemporaryDirectory() as root,
            override_settings(
                STATIC_ROOT=root, STORAGES=PRODUCTION_STORAGES, WHITENOISE_SKIP_COMPRESS_EXTENSIONS=every_extension()
            ),
        ):
            call_command("collectstatic", "--noinput", verbosity=0)
            manifest = json.loads(Path(root, "staticfiles.json").read_text())["paths"]

            # Stylesheets name their images by hashed names; the scripts' source map comments (maps not shipped)
            # stay as written instead of failing collectstatic.
            leaflet_css = Path(root, manifest["vendor/leaflet/leaflet.css"]).read_text()
            layers = manifest["vendor/leaflet/images/layers.png"].rsplit("/", 1)[1]
            self.assertRegex(layers, HASHED)
            self.assertTrue(f'url("images/{layers}")' in leaflet_css, "leaflet.css names its hashed image")
            leaflet_js = Path(root, manifest["vendor/leaflet/leaflet.js"]).read_text()
            self.assertTrue(leaflet_js.endswith("//# sourceMappingURL=leaflet.js.map"), leaflet_js[-80:])
            draw_css = Path(root, manifest["vendor/leaflet-draw/leaflet.draw.css"]).read_text()
            self.assertTrue(
                re.search(r"url\(['\"]?images/spritesheet\.[0-9a-f]{12}\.png", draw_css), "leaflet.draw.css"
            )

            self.client.force_login(self.user)
            pages = {
                "map": reverse("asset-map"),
                "detail": reverse("asset-detail", args=[self.asset.pk]),
                "edit": reverse("asset-update", args=[self.asset.pk]),
                "query": reverse("asset-query"),
            }
            hashed = set(manifest.values())
            for name, url in pages.items():
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200, name)
                links = re.findall(r'(?:src|href)="/static/([^"]+)"', response.content.decode())
                self.assertTrue(links, name)
                for link in links:
                    self.assertIn(link, hashed, f"{name}: {link} is not a hashed name")
                    self.assertTrue(HASHED.search(link) and Path(root, link).is_file(), f"{name}: {link}")
            # folium's links (Leaflet, VectorGrid, the plugins) come out hashed too.
            html = self.client.get(pages["map"]).content.decode()
            for source in (
                "vendor/leaflet/leaflet.js",
                "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
                "vendor/leaflet.fullscreen/Control.FullScreen.js",
                "js/sipanah-map.js",
            ):
                self.assertIn(f'src="/static/{manifest[source]}"', html)
