"""The multi-file upload of the asset page in a real browser (Debian's headless Chromium): several files chosen at
once, sent with XMLHttpRequest, the progress bar fed by the upload's progress events, each file's outcome listed,
the new documents shown with their thumbnails; no inline script (the page's CSP)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.urls import reverse
from selenium.webdriver.common.by import By

from assets.evidence import checklist
from assets.evidence.models import Document, DocumentRequirement
from assets.models import Agency
from assets.register import permissions
from tests.browser_case import BrowserTestCase
from tests.evidence import files
from tests.factories import load_reference, make_asset, make_user, square, temp_media_root

SCREENSHOTS = Path(os.environ.get("SIPANAH_SCREENSHOTS", tempfile.gettempdir()))


class UploadBrowserTests(BrowserTestCase):
    def setUp(self):
        super().setUp()
        temp_media_root(self.addCleanup)
        load_reference()
        checklist.seed(DocumentRequirement)  # a live-server test case empties the tables the migration filled
        agency = Agency.objects.get(code="1.01.01")
        make_user("officer_a", permissions.OFFICER, agency)
        self.asset = make_asset(agency=agency, geom=square(116.83, -1.25), nama_barang="Tanah SD Negeri 1")
        folder = Path(tempfile.mkdtemp())
        self.paths = []
        for name, data in (
            ("surat ukur.pdf", files.pdf_bytes(pages=2)),
            ("foto lapangan.jpg", files.photo_bytes(116.8301, -1.2501, 120, size=(2400, 1800))),
            ("bukan pdf.pdf", files.SCRIPT_AS_PDF),
        ):
            path = folder / name
            path.write_bytes(data)
            self.paths.append(str(path))

    def test_several_files_with_a_progress_bar_and_per_file_outcome(self):
        self.login("officer_a")
        self.driver.add_cookie({"name": "django_language", "value": "en"})  # the page in English, as the assertions
        self.driver.get(self.live_server_url + reverse("asset-detail", args=[self.asset.pk]))
        form = self.driver.find_element(By.CSS_SELECTOR, "[data-evidence-upload]")
        form.find_element(By.NAME, "files").send_keys("\n".join(self.paths))  # three files in one input
        chosen = form.find_elements(By.CSS_SELECTOR, "[data-chosen] li")
        self.assertEqual(len(chosen), 3)
        form.find_element(By.NAME, "doc_type").send_keys("Field")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-results] li")) >= 3)
        bar = form.find_element(By.CSS_SELECTOR, "[data-progress]")
        self.assertTrue(bar.is_displayed())
        self.assertEqual(bar.get_property("value"), 100)
        self.assertGreaterEqual(int(bar.get_attribute("data-events") or 0), 1)  # fed by xhr.upload progress events
        ok = [li.text for li in form.find_elements(By.CSS_SELECTOR, ".evidence-results__ok")]
        refused = [li.text for li in form.find_elements(By.CSS_SELECTOR, ".evidence-results__error")]
        self.assertEqual(sorted(ok), ["foto lapangan.jpg: kept", "surat ukur.pdf: kept"])
        self.assertEqual(len(refused), 1)
        self.assertIn("bukan pdf.pdf", refused[0])
        self.assertIn("not a PDF, JPEG, PNG or TIFF", refused[0])
        self.assertEqual(Document.objects.count(), 2)
        # The page again: the two documents with their thumbnails, and the viewer opens the PDF inline.
        self.driver.find_element(By.CSS_SELECTOR, "[data-results] a").click()
        self.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".evidence-card")) == 2)
        self.wait.until(
            lambda d: d.execute_script(
                "return [...document.querySelectorAll('.evidence-card__thumb')]"
                ".every(i => i.complete && i.naturalWidth > 0)"
            )
        )
        # The photo on the asset's map: an arrow where it was taken, turned to where the camera faced (EXIF).
        arrow = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-marker-icon .photo-marker"))
        self.assertEqual(arrow.get_attribute("data-direction"), "120")
        self.assertIn("rotate(120deg)", arrow.get_attribute("style"))
        self.driver.execute_script("document.getElementById('map-heading').scrollIntoView()")
        self.driver.save_screenshot(str(SCREENSHOTS / "evidence-asset-map.png"))
        self.driver.find_element(By.CSS_SELECTOR, "a[data-view=pdf]").click()
        frame = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-viewer-body] iframe"))
        self.assertIn("/view/", frame.get_attribute("src"))
        self.driver.execute_script("document.getElementById('documents').scrollIntoView()")
        self.driver.save_screenshot(str(SCREENSHOTS / "evidence-asset-documents.png"))
        errors = [
            e
            for e in self.driver.get_log("browser")
            if e["level"] == "SEVERE" and "no-basemap" not in e["message"] and "favicon.ico" not in e["message"]
        ]
        self.assertEqual(errors, [])
