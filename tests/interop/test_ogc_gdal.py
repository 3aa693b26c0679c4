"""GDAL's OAPIF driver reads /ogc/ from a running server: ogrinfo, and ogr2ogr through every page."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess  # noqa: S404 - runs GDAL's own command-line tools against the test server
import tempfile
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry
from rest_framework.authtoken.models import Token

from assets.models import LandAsset
from tests.factories import point_inside, square
from tests.interop.oapif_case import OapifLiveCase

OGRINFO = shutil.which("ogrinfo")
OGR2OGR = shutil.which("ogr2ogr")


class GdalOapifTests(OapifLiveCase):
    def setUp(self):
        if not (OGRINFO and OGR2OGR):  # a missing tool is a broken environment, not a skip
            self.fail("ogrinfo/ogr2ogr not found: install gdal-bin (scripts/setup.sh does)")
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-oapif-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def run_gdal(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        full_env = {
            **os.environ,
            "GDAL_HTTP_USERPWD": "gis:pw-gis",
            "GDAL_HTTP_TIMEOUT": "60",
            "CPL_VSIL_CURL_USE_CACHE": "NO",
            "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
            **(env or {}),
        }
        return subprocess.run(args, capture_output=True, text=True, timeout=120, env=full_env, check=False)  # noqa: S603

    def test_ogrinfo_lists_the_collections_and_counts_the_assets(self):
        url = f"OAPIF:{self.live_server_url}/ogc/"
        listing = self.run_gdal(OGRINFO, "-ro", "-so", url)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        for layer in ("assets", "kecamatan", "kelurahan"):
            self.assertRegex(listing.stdout, rf"\b{layer}\b")
        summary = self.run_gdal(OGRINFO, "-ro", "-so", url, "assets")
        self.assertEqual(summary.returncode, 0, summary.stderr)
        count = int(re.search(r"Feature Count: (\d+)", summary.stdout).group(1))
        self.assertEqual(count, LandAsset.objects.count())
        self.assertIn("kode_barang", summary.stdout)

    def test_ogr2ogr_reads_every_page_and_matches_the_database(self):
        out = self.tmp / "assets.geojson"
        result = self.run_gdal(
            OGR2OGR, "-f", "GeoJSON", str(out), f"OAPIF:{self.live_server_url}/ogc/", "assets", "-oo", "PAGE_SIZE=4"
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        features = json.loads(out.read_text())["features"]
        self.assertEqual(len(features), LandAsset.objects.count())  # 14 assets over 4 pages of 4
        by_name = {f["properties"]["nama_barang"] for f in features}
        self.assertEqual(by_name, set(LandAsset.objects.values_list("nama_barang", flat=True)))
        db = {a.kode_barang + "/" + a.nomor_register: a.geom for a in LandAsset.objects.all()}
        for feature in features:
            key = feature["properties"]["kode_barang"] + "/" + feature["properties"]["nomor_register"]
            expected = db[key]
            if expected is None:
                self.assertIsNone(feature["geometry"], key)
                continue
            got = GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
            self.assertTrue(got.equals_exact(expected, tolerance=1e-6), key)

    def test_bbox_from_gdal_spatial_filter(self):
        lon, lat = point_inside("64.71.06.1003")
        result = self.run_gdal(
            OGRINFO, "-ro", "-al", "-so", "-spat", str(lon - 0.01), str(lat - 0.01), str(lon + 0.01), str(lat + 0.01),
            f"OAPIF:{self.live_server_url}/ogc/collections/assets",
        )  # fmt: skip
        self.assertEqual(result.returncode, 0, result.stderr)
        count = int(re.search(r"Feature Count: (\d+)", result.stdout).group(1))
        self.assertEqual(count, LandAsset.objects.filter(geom__intersects=square(lon, lat, 0.01)).count())
        self.assertGreater(count, 0)

    def test_token_header_and_no_credentials(self):
        token = Token.objects.create(user=self.user)
        url = f"OAPIF:{self.live_server_url}/ogc/"
        headers = {"GDAL_HTTP_USERPWD": "", "GDAL_HTTP_HEADERS": f"Authorization: Token {token.key}"}
        self.assertEqual(self.run_gdal(OGRINFO, "-ro", "-so", url, env=headers).returncode, 0)
        anonymous = self.run_gdal(OGRINFO, "-ro", "-so", url, env={"GDAL_HTTP_USERPWD": ""})
        self.assertNotEqual(anonymous.returncode, 0)
        self.assertIn("401", anonymous.stderr)
