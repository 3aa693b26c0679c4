"""Printed KIB A workbooks (SIMDA BMD / e-BMD): title rows, a merged header of three rows, a column-number row,
the data, a Jumlah row and a signature block. The table is found, read through GDAL, and errors name the rows."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings
from django.urls import reverse
from openpyxl import Workbook

from assets.models import Agency, Certificate, ImportJob, LandAsset, Stage
from assets.ops import worker
from assets.register import permissions
from assets.transfer.importing.mapping import FieldMapping
from assets.transfer.importing.report import ImportReport
from assets.transfer.importing.run import format_report, run_import
from tests.factories import import_messages as _messages
from tests.factories import load_reference, make_user, temp_media_root

DATA = Path(__file__).parent.parent / "data"
KODE = "1.3.1.01.01.01.001"
# One row per asset, in the 14 columns of the printed KIB A (Permendagri 17/2007 layout), values as printed
ROWS: list[list[Any]] = [
    [1, "Tanah Bangunan Sekolah", KODE, "0001", "1.250,50", 1998, "Jl. Jend. Sudirman No. 1", "Hak Pakai",
     dt.datetime(2003, 2, 1), "16.01.05.02.4.00045", "Sekolah", "Pembelian", "Rp 150.000.000", "-"],
    [2, "Tanah Kantor UPT", KODE, 2, 350, 2005, "Jl. A. Yani", "HP", "12-03-2005", "00046", "Kantor", "Hibah",
     75000000, ""],
    [3, "Tanah Taman Bacaan", KODE, "0003", "seratus", 2008, "Jl. Mulawarman", "-", "-", "-", "Taman",
     "Pembelian", 5000000, ""],
    [4, "Tanah Kosong", KODE, 4, "2.000", 2010, "Jl. Soekarno-Hatta Km. 5", "-", "-", "-", "Kosong", "Pembelian",
     "Rp. 1.000.000,-", "Belum bersertifikat"],
    [5, "Tanah Lapangan Olahraga", KODE, "0005", 812.25, 2015, "Jl. Ruhui Rahayu", "Hak Pakai", "12 Maret 2015",
     "00047", "Lapangan", "Hibah", "Rp 1,500,000", "Hibah pengembang"],
]  # fmt: skip
ERROR_ROW = 18  # ROWS[2] ("seratus" m²): rows 1-11 title, 12-14 header, 15 column numbers, 16-20 data


def printed_kib_a(
    path: Path,
    rows: list[list[Any]] = ROWS,
    *,
    unit: str = "DINAS PENDIDIKAN DAN KEBUDAYAAN",
    number_row: bool = True,
    footer: bool = True,
    sheets: tuple[str, ...] = (),
) -> Path:
    """A KIB A as SIMDA BMD prints it to Excel (merged cells, title, footer)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "KIB A"
    for name in sheets:
        workbook.create_sheet(name).append(["Rekapitulasi", "per", "jenis"])
    sheet.append(["KARTU INVENTARIS BARANG (KIB) A"])
    sheet.merge_cells("A1:N1")
    sheet.append(["TANAH"])
    sheet.merge_cells("A2:N2")
    sheet.append([])
    for label, value in (("PROVINSI", "KALIMANTAN TIMUR"), ("KABUPATEN/KOTA", "KOTA BALIKPAPAN"),
                         ("BIDANG", "PENDIDIKAN"), ("UNIT ORGANISASI", unit), ("SUB UNIT", unit),
                         ("UPB", "SD NEGERI 001 BALIKPAPAN SELATAN")):  # fmt: skip
        sheet.append([label, None, f": {value}"])
    sheet.append([None] * 10 + ["NO. KODE LOKASI", None, ": 12.11.01.01.01.01.001"])
    sheet.append([])
    # Row 12-14: the header, "Nomor" over Kode Barang | Register, "Status Tanah" over Hak | Sertifikat (Tanggal | Nomor)
    sheet.append(["No", "Jenis Barang / Nama Barang", "Nomor", None, "Luas (M2)", "Tahun Pengadaan", "Letak/Alamat",
                  "Status Tanah", None, None, "Penggunaan", "Asal Usul", "Harga (Rp)", "Keterangan"])  # fmt: skip
    sheet.append([None, None, "Kode Barang", "Register", None, None, None, "Hak", "Sertifikat"])
    sheet.append([None] * 8 + ["Tanggal", "Nomor"])
    for cells in ("C12:D12", "H12:J12", "I13:J13", "H13:H14", "C13:C14", "D13:D14"):
        sheet.merge_cells(cells)
    for column in "ABEFGKLMN":
        sheet.merge_cells(f"{column}12:{column}14")
    if number_row:
        sheet.append(list(range(1, 15)))
    for row in rows:
        sheet.append(row)
    if footer:
        last = sheet.max_row
        sheet.append(["Jumlah", None, None, None, 4712.75, None, None, None, None, None, None, None, 231500000])
        sheet.merge_cells(f"A{last + 1}:D{last + 1}")
        sheet.append([])
        sheet.append([None] * 10 + ["Balikpapan, 31 Desember 2024"])
        sheet.append([None, "Mengetahui", None, None, None, None, None, None, None, None, "Pengurus Barang"])
        sheet.append([None, "Kepala Dinas Pendidikan dan Kebudayaan"])
        sheet.append([])
        sheet.append([None, "Drs. H. Muhaimin, M.Pd", None, None, None, None, None, None, None, None, "Sulastri"])
        sheet.append([None, "NIP. 19680101 199303 1 007", None, None, None, None, None, None, None, None,
                      "NIP. 19750505 200003 2 002"])  # fmt: skip
    workbook.save(path)
    return path


def _errors(report: ImportReport) -> list[tuple[int, str]]:
    return [(i.feature, i.field) for i in report.errors]


class PrintedKibTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")  # Dinas Pendidikan dan Kebudayaan

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def good_rows(self) -> list[list[Any]]:
        rows = [list(row) for row in ROWS]
        rows[2][4] = "100,5"
        return rows


class PrintedKibImportTests(PrintedKibTestCase):
    def test_the_table_is_found_and_errors_name_the_spreadsheet_rows(self):
        path = printed_kib_a(self.tmp / "kib_a.xlsx")
        report = run_import(path, dry_run=True)
        self.assertEqual(_errors(report), [(ERROR_ROW, "luas_kib_m2")], _messages(report))
        self.assertIn("seratus is not a number", report.errors[0].message)
        self.assertEqual(report.numbering, "row")
        self.assertEqual(report.features, 5)
        self.assertEqual(
            report.layout,
            "Sheet KIB A: header on rows 12-14, data on rows 16-20 (5 rows). Skipped: the title rows 1-11; "
            "the column-number row 15; the footer from row 21 (Jumlah).",
        )
        self.assertEqual(LandAsset.objects.count(), 0)
        text = format_report(report)
        self.assertIn(f"Row {ERROR_ROW} [luas_kib_m2]: seratus is not a number.", text)
        self.assertIn("header on rows 12-14", text)
        self.assertNotIn("Feature", text)

    def test_values_as_printed_are_imported(self):
        path = printed_kib_a(self.tmp / "kib_a.xlsx", self.good_rows())
        report = run_import(path)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual((report.created, report.certificates, report.without_geometry), (5, 3, 5))
        self.assertEqual(report.mapping["kode_barang"], "Nomor Kode Barang")
        self.assertEqual(report.mapping["nomor_register"], "Nomor Register")
        self.assertEqual(report.mapping["nama_barang"], "Jenis Barang / Nama Barang")
        self.assertEqual(report.mapping["jenis_hak"], "Status Tanah Hak")
        self.assertEqual(report.mapping["tanggal_sertifikat"], "Sertifikat Tanggal")
        self.assertEqual(report.mapping["nomor_sertifikat"], "Sertifikat Nomor")
        self.assertEqual(report.mapping["agency"], "(title, row 7: DINAS PENDIDIKAN DAN KEBUDAYAAN)")
        self.assertEqual(report.unmapped_columns, [])
        assets = {a.nomor_register: a for a in LandAsset.objects.all()}
        self.assertEqual(sorted(assets), ["0001", "0002", "0003", "0004", "0005"])
        first = assets["0001"]
        self.assertEqual(
            (first.kode_barang, first.nama_barang, first.luas_kib_m2, first.tahun_perolehan, first.alamat,
             first.penggunaan, first.asal_usul, first.nilai_perolehan, first.keterangan, first.agency),
            (KODE, "Tanah Bangunan Sekolah", Decimal("1250.50"), 1998, "Jl. Jend. Sudirman No. 1", "Sekolah",
             "PEMBELIAN", Decimal(150_000_000), "", self.agency),
        )  # fmt: skip
        self.assertEqual(
            [(a.luas_kib_m2, a.nilai_perolehan, a.asal_usul) for a in (assets[n] for n in ("0002", "0003", "0004"))],
            [(Decimal(350), Decimal(75_000_000), "HIBAH"), (Decimal("100.50"), Decimal(5_000_000), "PEMBELIAN"),
             (Decimal(2000), Decimal(1_000_000), "PEMBELIAN")],
        )  # fmt: skip
        self.assertEqual((assets["0005"].luas_kib_m2, assets["0005"].nilai_perolehan), (Decimal("812.25"), 1_500_000))
        certificates = {c.asset.nomor_register: c for c in Certificate.objects.select_related("asset")}
        self.assertEqual(sorted(certificates), ["0001", "0002", "0005"])  # "-" under Status Tanah: no certificate
        self.assertEqual(
            [(c.jenis_hak, c.nomor, c.tanggal, c.stage) for c in (certificates[n] for n in ("0001", "0002", "0005"))],
            [("HP", "16.01.05.02.4.00045", dt.date(2003, 2, 1), Stage.SERTIFIKAT_TERBIT),
             ("HP", "00046", dt.date(2005, 3, 12), Stage.SERTIFIKAT_TERBIT),
             ("HP", "00047", dt.date(2015, 3, 12), Stage.SERTIFIKAT_TERBIT)],
        )  # fmt: skip
        self.assertEqual(assets["0004"].status_sertifikat, "belum")
        self.assertEqual(assets["0004"].keterangan, "Belum bersertifikat")

    def test_without_number_row_or_footer(self):
        path = printed_kib_a(self.tmp / "kib_a.xlsx", self.good_rows(), number_row=False, footer=False)
        report = run_import(path, dry_run=True)
        self.assertTrue(report.ok, _messages(report))
        self.assertEqual(report.created, 5)
        layout = "Sheet KIB A: header on rows 12-14, data on rows 15-19 (5 rows). Skipped: the title rows 1-11."
        self.assertEqual(report.layout, layout)

    def test_blank_rows_subtotals_and_repeated_headers_inside_the_table_are_skipped(self):
        rows = self.good_rows()
        rows = [*rows[:2], [], ["Jumlah halaman ini", None, None, None, 1600.5], list(range(1, 15)), *rows[2:]]
        path = printed_kib_a(self.tmp / "kib_a.xlsx", rows)
        rows_with_error = [list(r) for r in rows]
        rows_with_error[6][3] = "abc"  # ROWS[3]'s register, on spreadsheet row 16 + 6 = 22
        report = run_import(path, dry_run=True)
        self.assertTrue(report.ok, _messages(report))
        self.assertEqual(report.features, 5)
        self.assertIn("data on rows 16-23 (5 rows)", report.layout)
        self.assertIn("rows that are no asset (subtotals, repeated headers) 19, 20; 1 blank row;", report.layout)
        self.assertIn("the footer from row 24 (Jumlah)", report.layout)
        report = run_import(printed_kib_a(self.tmp / "bad.xlsx", rows_with_error), dry_run=True)
        self.assertEqual(_errors(report), [(22, "nomor_register")], _messages(report))

    def test_a_sum_without_label_is_skipped_but_an_incomplete_asset_is_reported(self):
        rows = self.good_rows()
        rows = [*rows[:2], [None, None, None, None, 1600.5], *rows[2:], [6, "Tanah Sisa", KODE]]
        report = run_import(printed_kib_a(self.tmp / "kib_a.xlsx", rows), dry_run=True)
        self.assertEqual({feature for feature, _field in _errors(report)}, {22}, _messages(report))
        self.assertIn("nomor_register is empty", _messages(report))
        self.assertIn("data on rows 16-22 (6 rows)", report.layout)
        self.assertIn("rows that are no asset (subtotals, repeated headers) 18;", report.layout)

    def test_dry_run_and_cli_name_the_rows_and_write_nothing(self):
        path = printed_kib_a(self.tmp / "kib_a.xlsx")
        out = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("import_assets", str(path), stdout=out)
        self.assertIn(f"Row {ERROR_ROW} [luas_kib_m2]: seratus is not a number.", out.getvalue())
        self.assertIn("Sheet KIB A: header on rows 12-14", out.getvalue())
        self.assertEqual(LandAsset.objects.count(), 0)
        good = printed_kib_a(self.tmp / "good.xlsx", self.good_rows())
        out = io.StringIO()
        call_command("import_assets", str(good), "--dry-run", stdout=out)
        self.assertIn("Dry run: 5 features would give 5 new", out.getvalue())
        self.assertEqual(LandAsset.objects.count(), 0)

    def test_header_repeating_its_group_labels_and_a_coded_unit(self):
        # Exports that fill every cell of a merge with its label; "Sertifikat" over "Tgl" | "No"
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["KIB A - TANAH"])
        sheet.append(["Unit Organisasi : 1.02.01 - Dinas Kesehatan"])
        sheet.append(["No.", "Nama Barang", "Nomor", "Nomor", "Luas (m²)", "Tahun Perolehan", "Alamat", "Status Tanah",
                      "Status Tanah", "Status Tanah", "Asal-usul", "Harga"])  # fmt: skip
        sheet.append(["No.", "Nama Barang", "Kode Barang", "Register", "Luas (m²)", "Tahun Perolehan", "Alamat", "Hak",
                      "Sertifikat", "Sertifikat", "Asal-usul", "Harga"])  # fmt: skip
        sheet.append([None] * 8 + ["Tgl", "No"])
        sheet.append([1, "Tanah Puskesmas", KODE, 7, 400, 2001, "Jl. Manggar", "HPL", "03-04-2011", "77", "Hibah", 0])
        path = self.tmp / "kib_a.xlsx"
        workbook.save(path)
        report = run_import(path)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(
            report.layout, "Sheet Sheet: header on rows 3-5, data on row 6 (1 row). Skipped: the title rows 1-2."
        )
        self.assertEqual(
            (report.mapping["kode_barang"], report.mapping["jenis_hak"], report.mapping["tanggal_sertifikat"],
             report.mapping["nomor_sertifikat"], report.mapping["luas_kib_m2"]),
            ("Nomor Kode Barang", "Status Tanah Hak", "Sertifikat Tgl", "Sertifikat No", "Luas (m²)"),
        )  # fmt: skip
        asset = LandAsset.objects.get()
        self.assertEqual((asset.agency.code, asset.nomor_register, asset.luas_kib_m2), ("1.02.01", "0007", 400))
        certificate = asset.certificates.get()
        self.assertEqual(
            (certificate.jenis_hak, certificate.nomor, certificate.tanggal), ("HPL", "77", dt.date(2011, 4, 3))
        )

    def test_two_level_header_in_row_one(self):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["Kode OPD", "Jenis Barang / Nama Barang", "Nomor", None, "Luas (M2)", "Tahun Pengadaan",
                      "Asal Usul", "Harga (Rp)"])  # fmt: skip
        sheet.append([None, None, "Kode Barang", "Register"])
        sheet.merge_cells("C1:D1")
        sheet.append(["1.01.01", "Tanah", KODE, 1, 100, 2001, "Hibah", 0])
        sheet.append(["1.01.01", "Tanah", KODE, 2, "kurang lebih 150", 2001, "Hibah", 0])
        path = self.tmp / "kib_a.xlsx"
        workbook.save(path)
        report = run_import(path, dry_run=True)
        self.assertEqual(_errors(report), [(4, "luas_kib_m2")], _messages(report))
        self.assertEqual(report.layout, "Sheet Sheet: header on rows 1-2, data on rows 3-4 (2 rows).")

    def test_sheet_chosen_with_layer(self):
        path = printed_kib_a(self.tmp / "kib_a.xlsx", self.good_rows(), sheets=("Rekap",))
        report = run_import(path, dry_run=True)
        self.assertIn("has several layers (KIB A, Rekap); choose one with --layer", _messages(report))
        report = run_import(path, layer="KIB A", dry_run=True)
        self.assertTrue(report.ok, _messages(report))
        self.assertEqual((report.layer, report.created), ("KIB A", 5))

    def test_unknown_unit_in_the_title_needs_an_agency(self):
        path = printed_kib_a(self.tmp / "kib_a.xlsx", self.good_rows(), unit="DINAS YANG TIDAK ADA")
        report = run_import(path, dry_run=True)
        self.assertEqual(_errors(report), [(0, "")])
        self.assertIn("No column gives agency", report.errors[0].message)
        self.assertIn("Row 7 of the title names DINAS YANG TIDAK ADA, which is not an agency", report.warnings[0])
        mapping = FieldMapping(constants={"agency": "1.02.01"})
        report = run_import(path, mapping=mapping, dry_run=True)
        self.assertTrue(report.ok, _messages(report))

    def test_the_static_sample_imports(self):
        report = run_import(DATA / "kib_a_simda_print.xlsx", dry_run=True)
        self.assertEqual(_errors(report), [(ERROR_ROW, "luas_kib_m2")], _messages(report))
        self.assertEqual(report.created, 4)


class PlainAndHostileSheetTests(PrintedKibTestCase):
    def test_header_in_row_one_reads_as_before(self):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["No", "Nama Barang", "Kode Barang", "Nomor Register", "Luas (M2)", "Tahun Pengadaan",
                      "Asal Usul", "Harga (Rp)", "Kode OPD"])  # fmt: skip
        sheet.append([1, "Tanah", KODE, 1, 100, 2001, "Hibah", 0, "1.01.01"])
        sheet.append([2, "Tanah", KODE, 2, "abc", 2001, "Hibah", 0, "1.01.01"])
        path = self.tmp / "plain.xlsx"
        workbook.save(path)
        report = run_import(path, dry_run=True)
        self.assertEqual(_errors(report), [(2, "luas_kib_m2")], _messages(report))  # the second feature
        self.assertEqual((report.numbering, report.layout), ("feature", ""))
        self.assertIn("Feature 2 [luas_kib_m2]", format_report(report))

    def test_no_header_found(self):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["KARTU INVENTARIS BARANG (KIB) A"])
        sheet.append(["Barang", "Tempat", "Ukuran"])
        sheet.append(["Tanah", "Jl. A", 100])
        path = self.tmp / "kib_a.xlsx"
        workbook.save(path)
        report = run_import(path, dry_run=True)
        self.assertEqual(_errors(report), [(0, "")])
        message = report.errors[0].message
        self.assertIn("No column gives kode_barang", message)
        self.assertIn("Sipanah looks for the column names in the first 30 rows of the sheet Sheet", message)
        self.assertIn("Nomor Kode Barang, Nomor Register", message)

    def test_header_without_data_rows(self):
        report = run_import(printed_kib_a(self.tmp / "kib_a.xlsx", []), dry_run=True)
        self.assertEqual(_errors(report), [(0, "")])
        self.assertEqual(
            report.errors[0].message,
            "The sheet KIB A has no data rows under its header on rows 12-14 (No, Jenis Barang / Nama Barang, "
            "Nomor Kode Barang, Nomor Register, Luas (M2), Tahun Pengadaan, Letak/Alamat, Status Tanah Hak, "
            "Sertifikat Tanggal, Sertifikat Nomor, Penggunaan, Asal Usul, Harga (Rp), Keterangan): the footer "
            "starts on row 16 (Jumlah).",
        )
        report = run_import(printed_kib_a(self.tmp / "bare.xlsx", [], footer=False), dry_run=True)
        self.assertIn("Keterangan): the sheet ends there.", report.errors[0].message)

    def test_an_asset_below_the_signature_block_is_refused(self):
        path = printed_kib_a(self.tmp / "kib_a.xlsx", self.good_rows())
        from openpyxl import load_workbook

        workbook = load_workbook(path)
        workbook["KIB A"].append([6, "Tanah Tertinggal", KODE, "0006", 10, 2020])
        workbook.save(path)
        report = run_import(path, dry_run=True)
        self.assertEqual(_errors(report), [(0, "")])
        self.assertIn(f"Row 29 holds an asset (kode barang {KODE}) below the footer that starts on row 21 (Jumlah)",
                      report.errors[0].message)  # fmt: skip


@override_settings(LANGUAGE_CODE="en")
class PrintedKibUploadTests(PrintedKibTestCase):
    def setUp(self):
        super().setUp()
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        temp_media_root(self.addCleanup)
        self.client.force_login(make_user("officer", permissions.OFFICER, self.agency))

    def test_upload_shows_rows_and_the_table(self):
        content = printed_kib_a(self.tmp / "kib_a.xlsx").read_bytes()
        response = self.client.post(reverse("import-list"), {"file": SimpleUploadedFile("kib_a.xlsx", content)})
        self.assertEqual(response.status_code, 302)
        worker.work(once=True)
        job = ImportJob.objects.get()
        self.assertEqual(job.status, ImportJob.Status.REFUSED)
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, "<th>Row</th>", html=False)
        self.assertContains(page, f"<td>{ERROR_ROW}</td><td>luas_kib_m2</td>", html=False)
        self.assertContains(page, "Sheet KIB A: header on rows 12-14, data on rows 16-20 (5 rows).")
        self.assertEqual(LandAsset.objects.count(), 0)
