"""The OGC API – Features collections ``disputes`` and ``utilisations``: read by GDAL's OAPIF driver from a running
server, with the drawn parts as geometry; the JSON items page too."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from assets.encumbrance import services
from assets.encumbrance.models import CaseKind
from assets.models import LandAsset
from tests.encumbrance.helpers import TODAY, lease, part_of
from tests.interop import test_ogc_gdal as gdal  # the module, so that its tests are not collected here again
from tests.interop.oapif_case import OapifLiveCase


class EncumbranceOgcTests(OapifLiveCase):
    def setUp(self):
        super().setUp()
        assets = list(LandAsset.objects.filter(geom__isnull=False).order_by("pk")[:3])
        self.case = services.case_open(user=None, assets=[assets[0]], kind=CaseKind.OKUPASI, title="Okupasi",
                                       geom=part_of(assets[0]))  # fmt: skip
        closed = services.case_open(user=None, assets=[assets[1]], kind=CaseKind.KLAIM, title="Klaim")
        services.case_move(case=closed, user=None, to_stage="DIHENTIKAN", date=TODAY, note="Dicabut")
        self.lease = lease(assets[2], geom=part_of(assets[2], 0.6))
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-oapif-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    run_gdal = gdal.GdalOapifTests.run_gdal

    def test_gdal_reads_the_collections(self):
        self.assertIsNotNone(gdal.OGR2OGR, "ogr2ogr not found: install gdal-bin")
        for layer, expected in (("disputes", self.case), ("utilisations", self.lease)):
            out = self.tmp / f"{layer}.geojson"
            result = self.run_gdal(gdal.OGR2OGR, "-f", "GeoJSON", str(out), f"OAPIF:{self.live_server_url}/ogc/", layer)
            self.assertEqual(result.returncode, 0, result.stderr)
            features = json.loads(out.read_text())["features"]
            self.assertEqual(len(features), 1, layer)  # the closed case is not published
            self.assertEqual(features[0]["geometry"]["type"], "MultiPolygon")
            self.assertAlmostEqual(features[0]["properties"]["area_m2"], float(expected.area_m2), places=2)

    def test_items_page(self):
        self.client.force_login(self.user)
        data = self.client.get("/ogc/collections/disputes/items", {"f": "json"}).json()
        self.assertEqual(data["numberMatched"], 1)
        self.assertEqual(data["features"][0]["properties"]["kind"], "OKUPASI")
        # as of a date before the case was recorded: none (tests/encumbrance/test_as_of.py goes across changes)
        before = self.client.get("/ogc/collections/disputes/items", {"f": "json", "as_of": "2020-01-01"}).json()
        self.assertEqual(before["numberMatched"], 0)
        bad = self.client.get("/ogc/collections/disputes/items", {"f": "json", "as_of": "2020-13-01"})
        self.assertEqual(bad.status_code, 400)
