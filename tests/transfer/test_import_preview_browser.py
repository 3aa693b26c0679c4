"""The import preview in headless Chromium: a four-parcel Shapefile drawn as four parcels in a fixed box, and a long
spreadsheet whose summary and confirm button stay at the top (its lists scroll in their own boxes)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from osgeo import gdal
from selenium.webdriver.common.by import By

from assets.models import Agency, ImportJob
from assets.ops import worker
from assets.register import geo, permissions
from assets.transfer import jobs
from tests.browser_case import BrowserTestCase
from tests.factories import load_reference, make_asset, make_user, point_inside, temp_media_root

KODE = "1.3.1.01.01.01.001"
SCREENSHOTS = os.environ.get("SIPANAH_SCREENSHOTS")  # a folder: the tests keep their screenshots there


def metric_square(x: float, y: float, side: float) -> GEOSGeometry:
    shape = geo.from_metric(shapely.box(x, y, x + side, y + side))
    return GEOSGeometry(memoryview(shapely.to_wkb(shapely.multipolygons([shape]))), srid=4326)


class ImportPreviewBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        load_reference()
        temp_media_root(self.addCleanup)
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.agency = Agency.objects.get(code="1.01.01")
        self.officer = make_user("officer", permissions.OFFICER, self.agency)
        lon, lat = point_inside("64.71.05.1002")
        origin = geo.to_metric(shapely.Point(lon, lat))
        self.x, self.y = origin.x, origin.y
        self.driver.set_window_size(1280, 900)
        self.login("officer")

    def square(self, dx: float, dy: float, side: float = 40.0) -> GEOSGeometry:
        return metric_square(self.x + dx, self.y + dy, side)

    def job(self, name: str, content: bytes) -> ImportJob:
        job = jobs.job_create(user=self.officer, upload=SimpleUploadedFile(name, content))
        worker.work(once=True)
        job.refresh_from_db()
        return job

    def open(self, job: ImportJob) -> None:
        self.driver.get(self.live_server_url + reverse("import-detail", args=[job.pk]))
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".import-summary"))

    def screenshot(self, name: str) -> None:
        if SCREENSHOTS:
            self.driver.set_window_size(1280, 1250)
            self.driver.save_screenshot(str(Path(SCREENSHOTS) / name))

    def assert_confirm_at_the_top(self) -> None:
        button = self.driver.find_element(By.XPATH, "//button[normalize-space()='Confirm the import']")
        top = self.driver.execute_script("return arguments[0].getBoundingClientRect().bottom;", button)
        self.assertLess(top, self.driver.execute_script("return window.innerHeight;"))

    def test_four_parcel_shapefile_is_drawn_as_four_parcels_in_a_fixed_box(self):
        make_asset(agency=self.agency, geom=self.square(0, 0), nomor_register="0001")  # updated by feature 1
        make_asset(agency=self.agency, geom=self.square(90, 0), nomor_register="0090")  # feature 2 lies over it
        features = []
        for i, (dx, dy) in enumerate([(0, 0), (60, 0), (0, 45), (45, 55)], start=1):  # a 2 x 2 block of parcels
            geom = self.square(dx, dy, side=50 if i == 2 else 40)
            properties = {"kode_brg": KODE, "no_reg": i, "nama": f"Tanah {i}", "thn_oleh": 2010,
                          "asal_usul": "Pembelian", "nilai": 1000000, "luas_kib": 1600}  # fmt: skip
            features.append({"type": "Feature", "properties": properties, "geometry": json.loads(geom.json)})
        source = self.tmp / "block.geojson"
        source.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        gdal.VectorTranslate(str(self.tmp / "block.shp"), str(source), format="ESRI Shapefile")
        archive = self.tmp / "block.zip"
        with zipfile.ZipFile(archive, "w") as zipped:
            for side in self.tmp.glob("block.*"):
                if side.suffix != ".zip" and side.suffix != ".geojson":
                    zipped.write(side, side.name)
        job = self.job("block.zip", archive.read_bytes())
        self.assertEqual((job.status, job.created, job.updated), (ImportJob.Status.PREVIEWED, 3, 1), job.report)
        self.open(job)
        self.assert_confirm_at_the_top()
        parcels = self.driver.find_elements(By.CSS_SELECTOR, "svg.import-preview path.parcel:not(.parcel--register)")
        self.assertEqual(len(parcels), 4)
        # the register parcel feature 2 lies over, drawn dashed beneath the file's parcels
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR, "svg path.parcel--register")), 1)
        kinds = sorted(p.get_attribute("class").split("--")[1] for p in parcels)
        self.assertEqual(kinds, ["new", "new", "overlap", "update"])
        boxes = {tuple(round(v) for v in p.rect.values()) for p in parcels}
        self.assertEqual(len(boxes), 4)  # four shapes at four places, not one rectangle
        svg = self.driver.find_element(By.CSS_SELECTOR, "svg.import-preview")
        self.assertEqual(svg.rect["height"], 360)
        self.screenshot("import-preview-shapefile.png")

    def test_long_spreadsheet_keeps_the_summary_and_confirm_at_the_top(self):
        for i in range(1, 121):
            make_asset(agency=self.agency, nomor_register=f"{i:04d}", nama_barang="Tanah Lama")
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["No", "Nama Barang", "Kode Barang", "Nomor Register", "Luas (M2)", "Tahun Pengadaan",
                      "Letak / Alamat", "Asal Usul", "Harga (Rp)"])  # fmt: skip
        for i in range(1, 301):
            sheet.append([i, f"Tanah Baru {i}", KODE, i, 1200, 2010, f"Jl. Baru {i}", "Pembelian", 1250000000])
        path = self.tmp / "kib_a.xlsx"
        workbook.save(path)
        job = self.job("kib_a.xlsx", path.read_bytes())
        self.assertEqual((job.status, job.created, job.updated), (ImportJob.Status.PREVIEWED, 180, 120), job.report)
        self.open(job)
        self.assert_confirm_at_the_top()
        height = self.driver.execute_script("return document.documentElement.scrollHeight;")
        self.assertLess(height, 3500)  # the 120 updates (240 rows of before → after) scroll in their own box
        rows = self.driver.find_elements(By.CSS_SELECTOR, ".import-changes tbody tr")
        # the first page: 50 updates, 2 fields each (name, address); the sheet has no acquisition date column, so
        # the register's dates are kept (transfer.importing.reader.ABSENT_KEEPS), not erased
        self.assertEqual(len(rows), 50 * 2)
        self.screenshot("import-preview-spreadsheet.png")

    def test_unrecognised_columns_are_offered_with_their_values(self):
        rows = ["KD_BRG,NO_REG,NM_BRG,THN,ASAL_USUL,HARGA,LUAS", f"{KODE},1,Tanah Kantor Camat,2001,Pembelian,1,1",
                f"{KODE},2,Tanah Puskesmas,2002,Hibah,1,1"]  # fmt: skip
        job = self.job("simda.csv", "\n".join(rows).encode())
        self.assertEqual(job.status, ImportJob.Status.REFUSED)
        self.open(job)
        select = self.driver.find_element(By.XPATH, "//tr[td/label[normalize-space()='NM_BRG']]//select")
        self.assertTrue(select.is_displayed())  # the options are open when columns are missing
        samples = self.driver.find_element(By.XPATH, "//tr[td/label[normalize-space()='NM_BRG']]/td[@class='samples']")
        self.assertEqual(samples.text, "Tanah Kantor Camat · Tanah Puskesmas")
        self.screenshot("import-preview-mapping.png")
