"""Basemaps in a real browser (Debian's headless Chromium) against a tile server the test starts on 127.0.0.1.

- An XYZ basemap: its tiles are asked of that server and drawn.
- A WMS basemap (the city's GeoServer): GetMap requests arrive with the configured parameters.
- The server stopped: every map (/map/, an asset's page, /query/, an import's preview, the audit findings) still
  draws parcels and boundaries and says in one line that there is no basemap, and no request leaves 127.0.0.1.
- "No basemap" chosen on /map/ is remembered: the asset page asks the tile server for nothing.

With SIPANAH_SCREENSHOT_DIR set, the offline test saves a screenshot of each map there (docs/img/maps-offline-*).
"""

from __future__ import annotations

import json
import os
import re
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from django.core.cache import cache
from django.urls import reverse
from selenium.webdriver.common.by import By

from assets.models import Agency, ImportJob, User
from assets.register import permissions
from sipanah.security import content_security_policy
from tests.browser_case import BrowserTestCase
from tests.factories import load_reference, make_asset, make_user, point_inside, square

NOTE = "No basemap: boundaries and parcels are drawn from Sipanah's own data."
LOOPBACK = {"127.0.0.1", "localhost"}


def png(width: int = 256, height: int = 256, rgb: tuple[int, int, int] = (200, 230, 201)) -> bytes:
    """A plain one-colour PNG (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class TileServer:
    """XYZ tiles at /xyz/{z}/{x}/{y}.png and a WMS at /wms on 127.0.0.1, recording every request it gets."""

    TILE = png()

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = {k.upper(): v for k, v in parse_qsl(parts.query)}
                server.requests.append((parts.path, query))
                xyz = re.fullmatch(r"/xyz/\d+/\d+/\d+\.png", parts.path)
                getmap = parts.path == "/wms" and query.get("REQUEST") == "GetMap"
                if not (xyz or getmap):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(TileServer.TILE)))
                self.end_headers()
                self.wfile.write(TileServer.TILE)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)
            self.running = False

    def tiles(self) -> list[str]:
        return [path for path, _q in self.requests if path.startswith("/xyz/")]

    def getmaps(self) -> list[dict[str, str]]:
        return [q for path, q in self.requests if path == "/wms" and q.get("REQUEST") == "GetMap"]


class BasemapBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        cache.clear()
        load_reference()
        self.server = TileServer()
        self.addCleanup(self.server.stop)
        xyz = {"name": "Ortofoto XYZ", "key": "ortho", "url": self.server.url + "/xyz/{z}/{x}/{y}.png"}
        wms = {"name": "GeoServer", "key": "geoserver", "kind": "wms", "url": self.server.url + "/wms",
               "layers": "balikpapan:ortofoto", "format": "image/png", "version": "1.3.0"}  # fmt: skip
        overrides = self.settings(
            SIPANAH_BASEMAPS=json.dumps([xyz, wms]),
            CONTENT_SECURITY_POLICY=content_security_policy(xyz["url"], wms["url"]),
        )
        overrides.enable()
        self.addCleanup(overrides.disable)
        self.agency = Agency.objects.get(code="1.01.01")
        self.lon, self.lat = point_inside("64.71.01.1001")
        self.asset = make_asset(agency=self.agency, geom=square(self.lon, self.lat, 0.0003), nama_barang="Tanah A")
        make_asset(agency=self.agency, geom=square(self.lon + 0.0012, self.lat, 0.0003), nama_barang="Tanah B")
        self.user = make_user("auditor", permissions.AUDITOR)
        self.login("auditor")
        self.driver.get_log("performance")  # count requests from here on

    # -- helpers -----------------------------------------------------------------------------------------------

    def open_map(self, path: str, *, zoom_to_parcels: bool = True) -> None:
        self.driver.get(self.live_server_url + path)
        self.wait.until(lambda d: d.execute_script("return !!window.sipanahMap"))
        if zoom_to_parcels:
            self.driver.execute_script(
                "window.sipanahMapStats.allLoadedMs = null;"  # the register's tiles of the new view: not yet
                "window.sipanahMap.setView([arguments[0], arguments[1]], 17)",
                self.lat,
                self.lon,
            )
            self.wait.until(lambda d: d.execute_script("return window.sipanahMap.getZoom()") == 17)

    def settle(self) -> None:
        """Wait until the register's vector tiles of the current view have all loaded (no request left running)."""
        if self.driver.execute_script("return !!window.sipanahMapStats"):
            self.wait.until(lambda d: d.execute_script("return window.sipanahMapStats.allLoadedMs !== null"))

    def stat(self, name: str):
        return self.driver.execute_script(f"return window.sipanahMapStats.{name}")

    def count(self, css: str) -> int:
        return len(self.driver.find_elements(By.CSS_SELECTOR, css))

    def hosts(self) -> set[str]:
        """Every host the browser sent a request to since the last call (Chrome's performance log)."""
        found = set()
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                url = urlsplit(message["params"]["request"]["url"])
                if url.scheme in ("http", "https", "ws", "wss"):
                    found.add(url.hostname)
        return found

    def basemap_images(self) -> int:
        """Basemap tiles the page drew: loaded <img> tiles from the tile server, 256 px wide."""
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll('img.leaflet-tile-loaded'))"
            ".filter(i => i.src.startsWith(arguments[0]) && i.naturalWidth === 256).length",
            self.server.url,
        )

    def note_text(self) -> str:
        notes = [n.text for n in self.driver.find_elements(By.CSS_SELECTOR, ".map-note") if n.is_displayed()]
        self.assertEqual(len(notes), 1, notes)
        return notes[0]

    def screenshot(self, name: str, css: str) -> None:
        folder = os.environ.get("SIPANAH_SCREENSHOT_DIR")
        if folder:
            element = self.driver.find_element(By.CSS_SELECTOR, css)
            self.driver.execute_script("arguments[0].scrollIntoView()", element)
            element.screenshot(str(Path(folder) / f"maps-offline-{name}.png"))

    # -- tests ---------------------------------------------------------------------------------------------------

    def test_xyz_basemap_tiles_come_from_the_configured_server(self):
        self.open_map(reverse("asset-map"))
        self.wait.until(lambda d: self.basemap_images() >= 4)
        self.assertTrue(all(re.fullmatch(r"/xyz/\d+/\d+/\d+\.png", p) for p in self.server.tiles()))
        self.assertIn("/xyz/17/", " ".join(self.server.tiles()))
        self.wait.until(lambda d: self.count(".leaflet-tile path") > 0)  # the parcels over it
        self.assertEqual(self.stat("basemap"), "ortho")
        self.assertEqual(self.count(".map-note"), 0)  # a basemap is drawn: no note
        self.assertLessEqual(self.hosts(), LOOPBACK)

    def test_wms_basemap_sends_getmap_with_the_configured_parameters(self):
        User.objects.filter(pk=self.user.pk).update(map_basemap="geoserver")
        self.open_map(reverse("asset-map"))
        self.wait.until(lambda d: self.basemap_images() >= 4)
        requests = self.server.getmaps()
        self.assertTrue(requests)
        self.assertEqual(self.server.tiles(), [])  # the XYZ basemap is not shown
        for query in requests:
            self.assertEqual(
                {k: query[k] for k in ("SERVICE", "REQUEST", "LAYERS", "FORMAT", "VERSION", "CRS", "WIDTH", "HEIGHT")},
                {"SERVICE": "WMS", "REQUEST": "GetMap", "LAYERS": "balikpapan:ortofoto", "FORMAT": "image/png",
                 "VERSION": "1.3.0", "CRS": "EPSG:3857", "WIDTH": "256", "HEIGHT": "256"},
            )  # fmt: skip
        # the tiles at zoom 17 cover the parcels: some bbox (Web Mercator metres) holds the first one
        x = self.lon * 20037508.34 / 180
        boxes = [[float(v) for v in q["BBOX"].split(",")] for q in requests]
        self.assertTrue(any(b[0] <= x <= b[2] and b[2] - b[0] < 400 for b in boxes), boxes[:3])
        self.assertEqual(self.count(".map-note"), 0)
        self.assertLessEqual(self.hosts(), LOOPBACK)

    def test_with_the_tile_server_stopped_every_map_draws_parcels_boundaries_and_the_note(self):
        self.server.stop()
        x0, y0, x1, y1 = self.asset.geom.extent
        job = ImportJob.objects.create(
            user=make_user("bpkad", permissions.BPKAD), original_name="parcels.geojson",
            status=ImportJob.Status.PREVIEWED,
            report={"preview": [{"label": "row 2", "geometry": json.loads(self.asset.geom.json)}]},
        )  # fmt: skip
        boundaries = 'path[stroke="#37474f"]'  # builders.add_boundaries

        # /map/: the register's vector tiles and the boundaries; the basemap failed, so it switched to none
        self.open_map(reverse("asset-map"))
        self.wait.until(lambda d: self.count(".leaflet-tile path") >= 2)
        self.wait.until(lambda d: self.stat("basemapFailed") == "ortho")
        self.assertGreater(self.count(boundaries), 0)
        self.assertEqual(self.note_text(), NOTE)
        self.screenshot("map", ".map-frame")
        self.settle()

        # the asset's page: its parcel, its neighbours faint, the boundaries
        self.open_map(reverse("asset-detail", kwargs={"pk": self.asset.pk}), zoom_to_parcels=False)
        self.wait.until(lambda d: self.count('.leaflet-overlay-pane path[stroke="#0d47a1"]') == 1)
        self.wait.until(lambda d: self.count(".leaflet-tile path") >= 1)
        self.wait.until(lambda d: self.stat("basemapFailed") == "ortho")
        self.assertGreater(self.count(boundaries), 0)
        self.assertEqual(self.note_text(), NOTE)
        self.screenshot("detail", ".map-frame--detail")
        self.settle()

        # /query/ with a box around both parcels: the found parcels, others faint, the boundaries
        bbox = f"{x0 - 0.002},{y0 - 0.002},{x1 + 0.002},{y1 + 0.002}"
        self.open_map(reverse("asset-query") + f"?bbox={bbox}", zoom_to_parcels=False)
        self.wait.until(lambda d: self.count('.leaflet-overlay-pane path[stroke="#0d47a1"]') == 2)
        self.wait.until(lambda d: self.count(".leaflet-tile path") >= 1)
        self.wait.until(lambda d: self.stat("basemapFailed") == "ortho")
        self.assertGreater(self.count(boundaries), 0)
        self.assertEqual(self.note_text(), NOTE)
        self.screenshot("query", ".map-frame" if self.count(".map-frame") else ".folium-map")
        self.settle()

        # the import's preview and the audit findings: drawn on the server as SVG, never with a basemap
        self.driver.get(self.live_server_url + reverse("import-detail", args=[job.pk]))
        self.assertGreater(self.count(".import-preview path.kecamatan"), 0)
        self.assertGreater(self.count(".import-preview path.kelurahan"), 0)
        self.assertEqual(self.count(".import-preview path title"), 1)
        self.assertEqual(self.note_text(), NOTE)
        self.screenshot("import", ".import-map")
        self.driver.get(self.live_server_url + reverse("audit-findings"))
        self.assertGreater(self.count(".findings-map path.kelurahan"), 0)
        self.assertGreater(self.count('.findings-map path[fill-opacity="0.6"]'), 0)  # the affected parcels
        self.assertEqual(self.note_text(), NOTE)
        self.screenshot("audit", ".findings-map")

        self.assertLessEqual(self.hosts(), LOOPBACK)
        self.assertEqual(User.objects.get(pk=self.user.pk).map_basemap, "")  # a failure is not a choice

    def test_no_basemap_chosen_on_the_map_is_remembered_on_the_asset_page(self):
        self.open_map(reverse("asset-map"))
        self.wait.until(lambda d: self.basemap_images() >= 1)
        [blank] = [
            label.find_element(By.TAG_NAME, "input")
            for label in self.driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-base label")
            if label.text.strip() == "No basemap"
        ]
        blank.click()
        self.wait.until(lambda d: self.stat("basemapSaved") == "none")
        self.assertEqual(self.note_text(), NOTE)
        self.assertEqual(User.objects.get(pk=self.user.pk).map_basemap, "none")
        self.settle()

        self.server.requests.clear()
        self.open_map(reverse("asset-detail", kwargs={"pk": self.asset.pk}), zoom_to_parcels=False)
        self.wait.until(lambda d: self.count(".leaflet-tile path") >= 1)
        self.assertEqual(self.stat("basemap"), "none")
        self.assertEqual(self.note_text(), NOTE)
        self.assertEqual(self.server.requests, [])  # no basemap asked for
        self.assertEqual(self.basemap_images(), 0)

        # switching back on the asset page is remembered too
        self.driver.execute_script(
            "Array.from(document.querySelectorAll('.leaflet-control-layers-base label'))"
            ".find(l => l.textContent.trim() === 'Ortofoto XYZ').querySelector('input').click()"
        )
        self.wait.until(lambda d: self.stat("basemapSaved") == "ortho")
        self.wait.until(lambda d: self.basemap_images() >= 1)
        self.assertEqual(self.count(".map-note"), 0)
        self.assertEqual(User.objects.get(pk=self.user.pk).map_basemap, "ortho")
        self.assertLessEqual(self.hosts(), LOOPBACK)
