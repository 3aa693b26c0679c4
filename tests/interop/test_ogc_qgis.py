"""QGIS reads /ogc/ from a running server through its own OAPIF provider (Debian's python3-qgis, headless), given
the address with and without its final slash; and every OGC path answers both ways with 200, never a redirect."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess  # noqa: S404 - runs QGIS in a child process against the test server
import sys
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry
from django.test import TestCase

from assets.models import LandAsset
from assets.register import permissions
from tests.factories import load_reference, make_asset, make_user, point_inside, square
from tests.interop.oapif_case import PASSWORD, USER, OapifLiveCase

READER = Path(__file__).with_name("qgis_oapif.py")
HAS_QGIS = importlib.util.find_spec("qgis") is not None


class QgisOapifTests(OapifLiveCase):
    def setUp(self):
        if not HAS_QGIS:  # a missing tool is a broken environment, not a skip (scripts/setup.sh installs it)
            self.fail("QGIS's Python bindings are missing: install python3-qgis (scripts/setup.sh does)")
        super().setUp()

    def qgis(self, url: str) -> dict:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": os.environ.get("TMPDIR", "/tmp")}
        result = subprocess.run(  # noqa: S603 - our own script, the test server's address
            [sys.executable, str(READER), url, "assets", USER, PASSWORD],
            capture_output=True, text=True, timeout=180, env=env, check=False,
        )  # fmt: skip
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        return json.loads(result.stdout.strip().splitlines()[-1])

    def test_qgis_reads_every_feature_with_and_without_the_final_slash(self):
        expected = {a.kode_barang + "/" + a.nomor_register: a for a in LandAsset.objects.all()}
        for url in (f"{self.live_server_url}/ogc", f"{self.live_server_url}/ogc/"):
            with self.subTest(url=url):
                read = self.qgis(url)
                self.assertTrue(read["valid"], read["log"])
                self.assertEqual(read["count"], len(expected))
                self.assertEqual(len(read["features"]), len(expected))  # 14 features over pages of 4
                self.assertIn("nama_barang", read["fields"])
                seen = set()
                for feature in read["features"]:
                    attributes = feature["attributes"]
                    key = attributes["kode_barang"] + "/" + attributes["nomor_register"]
                    asset = expected[key]
                    seen.add(key)
                    self.assertEqual(attributes["nama_barang"], asset.nama_barang)
                    self.assertEqual(attributes["agency_code"], asset.agency.code)
                    self.assertEqual(float(attributes["luas_kib_m2"]), float(asset.luas_kib_m2))
                    if asset.geom is None:
                        self.assertIsNone(feature["wkt"], key)
                    else:
                        got = GEOSGeometry(feature["wkt"], srid=4326)
                        self.assertTrue(got.equals_exact(asset.geom, tolerance=1e-6), key)
                self.assertEqual(seen, set(expected))

    def test_a_wrong_password_is_an_invalid_layer_not_a_hang(self):
        env_url = f"{self.live_server_url}/ogc"
        result = subprocess.run(  # noqa: S603
            [sys.executable, str(READER), env_url, "assets", USER, "wrong"],
            capture_output=True, text=True, timeout=180, check=False,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )  # fmt: skip
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertFalse(json.loads(result.stdout.strip().splitlines()[-1])["valid"])


class SlashTests(TestCase):
    """Every OGC path, with and without its final slash: 200 and the same body, no redirect (QGIS does not follow
    Django's APPEND_SLASH 301)."""

    @classmethod
    def setUpTestData(cls):
        load_reference()
        lon, lat = point_inside("64.71.05.1002")
        cls.asset = make_asset(geom=square(lon, lat, 0.0003), nama_barang="Tanah Slash")
        cls.user = make_user("planner", permissions.PLANNER)

    def test_every_path_answers_with_and_without_its_final_slash(self):
        self.client.force_login(self.user)
        paths = ["/ogc", "/ogc/conformance", "/ogc/api", "/ogc/collections", "/ogc/collections/assets",
                 "/ogc/collections/kelurahan", "/ogc/collections/assets/items",
                 f"/ogc/collections/assets/items/{self.asset.pk}"]  # fmt: skip
        for path in paths:
            bodies = []
            for variant in (path, path + "/"):
                with self.subTest(path=variant):
                    response = self.client.get(variant, {"f": "json"})
                    self.assertEqual(response.status_code, 200, variant)
                    self.assertNotIn("Location", response.headers)
                    bodies.append(response.content)
            self.assertEqual(bodies[0], bodies[1], path)
        item = self.client.get(f"/ogc/collections/assets/items/{self.asset.pk}", {"f": "json"}).json()
        self.assertEqual(item["properties"]["nama_barang"], "Tanah Slash")
        self.assertEqual(self.client.get("/ogc/collections/assets/items?limit=1&f=json").json()["numberReturned"], 1)
