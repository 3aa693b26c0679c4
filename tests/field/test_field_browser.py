"""The field app on a phone (Chromium, phone viewport, emulated position): download the package, record three
parcels with a photo and a position offline, reload offline (the app still opens from the service worker), go
online and synchronise; an office edit made meanwhile comes back as a conflict."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path

from django.urls import reverse
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from assets.field import services
from assets.field.models import FieldResult, ResultPhoto
from assets.register import permissions
from assets.register import services as register
from tests.browser_case import BrowserTestCase
from tests.factories import load_reference, make_asset, make_user, point_inside, square, temp_media_root

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


class ServerSwitch:
    """Wraps the live server's WSGI app: counts the requests that reach it and can refuse every one (the server
    "down", for what CDP's offline emulation does not cover)."""

    def __init__(self, app):
        self.app, self.hits, self.down = app, [], False

    def __call__(self, environ, start_response):
        self.hits.append(environ.get("PATH_INFO", ""))
        if self.down:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]
        return self.app(environ, start_response)


class FieldAppBrowserTests(BrowserTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        temp_media_root(cls.addClassCleanup)
        httpd = cls.server_thread.httpd
        cls.switch = ServerSwitch(httpd.get_app())
        httpd.set_app(cls.switch)

    def setUp(self):
        super().setUp()
        self.switch.hits.clear()
        self.switch.down = False
        load_reference()
        lon, lat = point_inside("64.71.01.1001")
        self.here = (lon, lat)
        self.assets = [make_asset(geom=square(lon + 0.0015 * i, lat), nama_barang=f"Tanah Uji {i}") for i in range(3)]
        self.user = make_user("petugas", permissions.OFFICER, self.assets[0].agency)
        bpkad = make_user("kabid", permissions.BPKAD)
        self.campaign = services.campaign_create(
            user=bpkad, name="Inventarisasi Uji", starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 31),
            teams=[("Tim Satu", [self.user])], agency=self.assets[0].agency,
        )  # fmt: skip
        self.photo = Path(tempfile.mkdtemp()) / "foto.jpg"
        buffer = io.BytesIO()
        Image.new("RGB", (80, 60), (120, 160, 80)).save(buffer, "JPEG")
        self.photo.write_bytes(buffer.getvalue())

    def tearDown(self):
        self._network(offline=False)
        self.switch.down = False
        super().tearDown()

    def _cdp(self, cmd, **params):
        return self.driver.execute_cdp_cmd(cmd, params)

    def _network(self, *, offline: bool) -> None:
        self._cdp("Network.enable")
        self._cdp("Network.emulateNetworkConditions", offline=offline, latency=0, downloadThroughput=-1,
                  uploadThroughput=-1)  # fmt: skip

    def _ready(self):
        self.wait.until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))

    def _statuses(self):
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll('#results li')).map(li => li.dataset.status)"
        )

    def test_download_record_offline_reload_offline_and_sync(self):
        d = self.driver
        self._cdp("Emulation.setDeviceMetricsOverride", **PHONE)
        self._cdp("Browser.grantPermissions", permissions=["geolocation"], origin=self.live_server_url)
        self._cdp("Emulation.setGeolocationOverride", latitude=self.here[1], longitude=self.here[0], accuracy=6)
        self.login("petugas")
        d.add_cookie({"name": "django_language", "value": "en"})
        app = self.live_server_url + reverse("field-app")
        d.get(app)
        self._ready()
        # The service worker controls the page and holds the shell before the phone leaves the office.
        self.wait.until(lambda d: d.execute_script("return !!navigator.serviceWorker.controller"))
        # Wait on the app's own signal: the worker said every file of the shell is kept. (Counting the cache's keys,
        # as before, raced: the worker also keeps the API reads, so six keys could be there before field.js was, and
        # the offline reload then had no script: a flake.)
        self.wait.until(lambda d: d.execute_script("return document.body.dataset.shell") == "cached")
        shell = d.execute_async_script(
            "var done = arguments[0]; caches.open('sipanah-field-v1').then(c => c.keys())"
            ".then(k => done(k.map(r => new URL(r.url).pathname)))")  # fmt: skip
        self.assertTrue({"/field/app/", "/static/field/field.js", "/static/field/field.css"} <= set(shell), shell)
        self.wait.until(lambda d: Select(d.find_element(By.ID, "team")).options)
        d.find_element(By.ID, "download").click()
        self.wait.until(lambda d: "3 parcels" in d.find_element(By.ID, "package-info").text)
        self.assertEqual(d.execute_script("return window.innerWidth"), 390)

        # Offline: the DevTools network emulation, and the live server refusing too.
        self._network(offline=True)
        self.switch.down = True
        self.wait.until(lambda d: d.execute_script("return navigator.onLine === false"))
        for index in range(3):
            d.find_elements(By.CSS_SELECTOR, "#parcels button")[index].click()
            self.wait.until(lambda d: d.find_element(By.ID, "form-box").is_displayed())
            Select(d.find_element(By.ID, "found")).select_by_value("not_found" if index == 2 else "found")
            Select(d.find_element(By.ID, "occupation")).select_by_value("sendiri")
            d.find_element(By.ID, "use").send_keys("Kantor kelurahan")
            d.find_element(By.ID, "locate").click()
            self.wait.until(lambda d: "±" in d.find_element(By.ID, "position").text)
            d.find_element(By.ID, "photos").send_keys(str(self.photo))
            d.find_element(By.ID, "save").click()
            self.wait.until(lambda d, n=index + 1: len(self._statuses()) == n)
        self.assertEqual(self._statuses(), ["pending"] * 3)

        # Reload with no network: the service worker answers; the package and the queue are still there.
        hits_before = len(self.switch.hits)
        d.refresh()
        self._ready()
        self.assertIn("3 parcels", d.find_element(By.ID, "package-info").text)
        self.assertEqual(self._statuses(), ["pending"] * 3)
        self.assertEqual(FieldResult.objects.count(), 0)
        # CDP's offline emulation covers the page, not its service worker: the worker's own fetches of /field/app/
        # (and the browser's of the manifest) still reached the live server (seen: ['/field/app/',
        # '/field/api/teams/', '/field/app/manifest.webmanifest']), which answered 503 because it was switched
        # "down"; the app opened from the worker's cache all the same. No static file may reach it: the shell comes
        # from the cache, and the app asks the worker to refresh the shell only when online (it used to ask on every
        # load, and those fetches arriving before or after this check was the test's race).
        stray = [p for p in self.switch.hits[hits_before:] if not p.startswith(("/field/app/", "/field/api/teams/"))]
        self.assertEqual(stray, [])

        # Meanwhile the office edits one parcel: its result comes back as a conflict.
        register.asset_update(asset=self.assets[1], user=None, data={"penggunaan": "Gudang arsip"})

        # Online again: the "online" event starts the synchronisation.
        self.switch.down = False
        self._network(offline=False)
        self.wait.until(lambda d: "pending" not in self._statuses() and len(self._statuses()) == 3)
        self.assertEqual(sorted(self._statuses()), ["conflict", "synced", "synced"])
        self.assertEqual(FieldResult.objects.count(), 3)
        self.wait.until(lambda d: ResultPhoto.objects.count() == 3)
        conflicted = FieldResult.objects.get(assignment__asset=self.assets[1])
        self.assertTrue(services.is_conflict(conflicted))
        self.assertEqual(FieldResult.objects.filter(found="not_found").count(), 1)
        self.assertTrue(all(r.lon is not None and r.accuracy_m == 6 for r in FieldResult.objects.all()))
