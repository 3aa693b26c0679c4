"""QGIS reads /ogc/ from a running server through its own OAPIF provider (Debian's python3-qgis, headless), given
the address with and without its final slash; and every OGC path answers both ways with 200, never a redirect."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess  # noqa: S404 - runs QGIS in a child process against the test server
import sys
import tempfile
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
        if not HAS_QGIS:
            if os.environ.get("CI"):  # in CI a missing QGIS is a broken set-up, not a skip
                self.fail("QGIS's Python bindings are missing: install python3-qgis (scripts/setup.sh does)")
            self.skipTest("Debian's python3-qgis is not installed here: `make setup` installs it")
        super().setUp()
        runtime = tempfile.mkdtemp(prefix="sipanah-qgis-")  # Qt wants a private runtime folder (0700)
        self.addCleanup(shutil.rmtree, runtime, ignore_errors=True)
        self.env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": runtime}

    def qgis(self, url: str, password: str = PASSWORD) -> dict:
        result = subprocess.run(  # noqa: S603 - our own script, the test server's address
            [sys.executable, str(READER), url, "assets", USER, password],
            capture_output=True, text=True, timeout=180, env=self.env, check=False,
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

    def test_a_wrong_password_is_an_invalid_layer(self):
        read = self.qgis(f"{self.live_server_url}/ogc", password="wrong")
        self.assertFalse(read["valid"])
        self.assertTrue(any("401" in line or "uthenticat" in line for line in read["log"]), read["log"])


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
                    # the same body, but for the response's own time (a second may pass between the two)
                    bodies.append(re.sub(rb'"timeStamp":\s*"[^"]*"', b'"timeStamp": ""', response.content))
            self.assertEqual(bodies[0], bodies[1], path)
        item = self.client.get(f"/ogc/collections/assets/items/{self.asset.pk}", {"f": "json"}).json()
        self.assertEqual(item["properties"]["nama_barang"], "Tanah Slash")
        self.assertEqual(self.client.get("/ogc/collections/assets/items?limit=1&f=json").json()["numberReturned"], 1)
