"""The printed KIB A (assets.transfer.kib_print): the XLSX layout as filed, the PDF's text and pages, the round
trip through the importer, the register as of a date, and who may print which agency's card."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from assets.lib import formats
from assets.models import Agency, AsalUsul, Certificate, JenisHak, LandAsset, Signatory, Stage
from assets.register import kib, permissions, services
from assets.register.reads import RegisterSelection
from assets.transfer import kib_print
from assets.transfer.importing.run import run_import
from tests.audit.test_audit_history import backdate
from tests.factories import import_messages, load_reference, make_asset, make_user, point_inside, square

KODE = "1.3.1.01.01.01.001"
# The KIB A fields an import reads back from the 14 printed columns (certificate fields from the leading one)
ASSET_FIELDS = ("kode_barang", "nomor_register", "nama_barang", "luas_kib_m2", "tahun_perolehan", "alamat",
                "penggunaan", "asal_usul", "nilai_perolehan", "keterangan", "agency_id")  # fmt: skip
CERTIFICATE_FIELDS = ("jenis_hak", "tanggal", "nomor")


def kib_fields(asset: LandAsset) -> tuple[Any, ...]:
    certificate = asset.certificates.order_by("id").first()
    cert = tuple(getattr(certificate, name) for name in CERTIFICATE_FIELDS) if certificate else ("", None, "")
    return (*(getattr(asset, name) for name in ASSET_FIELDS), *cert)


def selection(agency: Agency | None, as_of: dt.date | None = None) -> RegisterSelection:
    return RegisterSelection.from_params({"agency": agency.code} if agency else {}, as_of=as_of)


class KibPrintCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")  # Dinas Pendidikan dan Kebudayaan
        cls.other = Agency.objects.get(code="1.02.01")  # Dinas Kesehatan
        lon, lat = point_inside("64.71.01.1001")
        cls.certified = make_asset(
            cls.agency, square(lon, lat), nomor_register="0001", nama_barang="Tanah SD Negeri 001",
            alamat="Jl. Jend. Sudirman No. 1", penggunaan="Sekolah", luas_kib_m2=Decimal("1234567.89"),
            nilai_perolehan=Decimal("150000000"), tahun_perolehan=1998, tanggal_perolehan=None,
            keterangan="Pagar keliling",
        )  # fmt: skip
        services.certificate_create(
            asset=cls.certified, user=None, stage=Stage.SERTIFIKAT_TERBIT, jenis_hak=JenisHak.HP,
            nomor="16.01.05.02.4.00045", tanggal=dt.date(2003, 2, 1), tanggal_tahap=dt.date(2003, 2, 1),
        )  # fmt: skip
        cls.psu = make_asset(
            cls.agency, None, nomor_register="0002", nama_barang="Tanah Taman PSU", asal_usul=AsalUsul.PENYERAHAN_PSU,
            luas_kib_m2=Decimal("350.50"), nilai_perolehan=Decimal("0"), tahun_perolehan=2015, tanggal_perolehan=None,
            alamat="Jl. Manggar",
        )  # fmt: skip
        cls.in_process = make_asset(
            cls.agency, None, nomor_register="0003", nama_barang="Tanah Kantor UPT", asal_usul=AsalUsul.HIBAH,
            luas_kib_m2=Decimal("812.25"), nilai_perolehan=Decimal("75000000"), tahun_perolehan=2005,
            tanggal_perolehan=None,
        )  # fmt: skip
        services.certificate_create(asset=cls.in_process, user=None, stage=Stage.PENGUKURAN, jenis_hak=JenisHak.HPL)
        cls.elsewhere = make_asset(cls.other, None, nomor_register="0004", nama_barang="Tanah Puskesmas Manggar")
        for role, name, nip, agency in (
            (Signatory.Role.PENGGUNA_BARANG, "Drs. H. Muhaimin, M.Pd", "19680101 199303 1 007", cls.agency),
            (Signatory.Role.PENGURUS_BARANG, "Sulastri", "19750505 200003 2 002", cls.agency),
            (Signatory.Role.KEPALA_BPKAD, "Ir. Kepala Badan", "19700202 199503 1 001", None),
        ):
            Signatory.objects.create(role=role, name=name, nip=nip, agency=agency, title="")

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-kib-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def xlsx(self, agency: Agency | None, as_of: dt.date | None = None) -> Path:
        path = self.tmp / f"kib-{agency.code if agency else 'kota'}.xlsx"
        kib_print.write_xlsx(kib_print.build(selection(agency, as_of), agency), path)
        return path


class XlsxLayoutTests(KibPrintCase):
    def test_title_merged_header_number_row_words_and_totals(self):
        sheet = load_workbook(self.xlsx(self.agency))["KIB A"]
        self.assertEqual(sheet["A1"].value, "PEMERINTAH KOTA BALIKPAPAN")
        self.assertEqual(sheet["A2"].value, "KARTU INVENTARIS BARANG (KIB) A – TANAH")
        self.assertEqual(sheet["C5"].value, ": 1.01.01 - Dinas Pendidikan dan Kebudayaan")
        merged = {str(r) for r in sheet.merged_cells.ranges}
        # No and Nama over the three header rows; Nomor over C:D; Status Tanah over H:J; Sertifikat over I:J
        self.assertLessEqual({"A1:N1", "A8:A10", "B8:B10", "C8:D8", "H8:J8", "I9:J9", "C9:C10", "H9:H10"}, merged)
        self.assertEqual([sheet.cell(8, c).value for c in (3, 8)], ["Nomor", "Status Tanah"])
        self.assertEqual([sheet.cell(10, c).value for c in (9, 10)], ["Tanggal", "Nomor"])
        self.assertEqual([sheet.cell(11, c).value for c in range(1, 15)], list(range(1, 15)))
        self.assertIsNone(sheet.cell(11, 15).value)
        rows = {sheet.cell(r, 4).value: r for r in range(12, 15)}
        first = rows["0001"]
        self.assertEqual(sheet.cell(first, 8).value, "Hak Pakai")  # a word, not HP
        self.assertEqual(sheet.cell(first, 12).value, "Pembelian")  # not PEMBELIAN
        self.assertEqual(sheet.cell(rows["0002"], 12).value, "Penyerahan PSU / fasum-fasos")
        self.assertEqual(sheet.cell(rows["0003"], 8).value, "Hak Pengelolaan")
        self.assertEqual([sheet.cell(rows["0003"], c).value for c in (9, 10)], ["-", "-"])
        luas = sheet.cell(first, 5)
        self.assertEqual((luas.value, luas.number_format), (1234567.89, "#,##0.00"))
        self.assertEqual(sheet.cell(first, 13).value, 150_000_000)
        tanggal = sheet.cell(first, 9)
        self.assertEqual((tanggal.value.date(), tanggal.number_format), (dt.date(2003, 2, 1), "dd-mm-yyyy"))
        self.assertEqual(sheet.cell(first, 10).value, "16.01.05.02.4.00045")  # text, as printed
        total = 15
        self.assertEqual(sheet.cell(total, 1).value, "Jumlah")
        self.assertIn("A15:D15", merged)
        self.assertAlmostEqual(sheet.cell(total, 5).value, 1234567.89 + 350.50 + 812.25, places=2)
        self.assertEqual(sheet.cell(total, 13).value, 225_000_000)
        texts = [str(v) for row in sheet.iter_rows(min_row=total + 1, values_only=True) for v in row if v]
        self.assertIn("Jumlah bidang: 3 (Belum bersertifikat: 1 bidang; Dalam proses: 1 bidang; "
                      "Bersertifikat: 1 bidang)", texts)  # fmt: skip
        self.assertIn("Mengetahui, Pengguna Barang", texts)
        self.assertIn("Drs. H. Muhaimin, M.Pd", texts)
        self.assertIn("NIP. 19750505 200003 2 002", texts)
        self.assertTrue(any(t.startswith("Balikpapan, ") for t in texts))
        self.assertNotIn("Tanah Puskesmas Manggar", texts)  # another agency's asset

    def test_print_setup(self):
        sheet = load_workbook(self.xlsx(self.agency))["KIB A"]
        self.assertEqual(sheet.page_setup.orientation, "landscape")
        self.assertEqual(int(sheet.page_setup.paperSize), 9)  # A4
        self.assertEqual((int(sheet.page_setup.fitToWidth), int(sheet.page_setup.fitToHeight)), (1, 0))
        self.assertTrue(sheet.sheet_properties.pageSetUpPr.fitToPage)
        self.assertEqual(sheet.print_title_rows, "$8:$11")
        self.assertEqual(sheet.freeze_panes, "C12")

    def test_the_city_adds_the_agency_column_and_is_signed_by_bpkad(self):
        sheet = load_workbook(self.xlsx(None))["KIB A"]
        self.assertEqual(sheet["C5"].value, ": SELURUH PENGGUNA BARANG")
        self.assertEqual(sheet.cell(8, 15).value, kib.BY_NAME["agency_code"].label)
        self.assertEqual([sheet.cell(11, c).value for c in range(1, 16)], list(range(1, 16)))
        codes = [sheet.cell(r, 15).value for r in range(12, 16)]
        self.assertEqual(sorted(codes), ["1.01.01", "1.01.01", "1.01.01", "1.02.01"])
        texts = [str(v) for row in sheet.iter_rows(min_row=17, values_only=True) for v in row if v]
        self.assertIn("Mengetahui, Kepala BPKAD", texts)
        self.assertIn("Ir. Kepala Badan", texts)
        self.assertIn("(..............................)", texts)  # nobody recorded as pengurus barang pengelola


class RoundTripTests(KibPrintCase):
    def test_the_printed_xlsx_imports_back_unchanged_as_an_update(self):
        path = self.xlsx(self.agency)
        report = run_import(path)
        self.assertTrue(report.committed, import_messages(report))
        self.assertEqual((report.created, report.updated, report.unchanged), (0, 0, 3), report.layout)
        self.assertEqual(report.mapping["agency"], "(title, row 5: 1.01.01 - Dinas Pendidikan dan Kebudayaan)")
        self.assertIn("header on rows 8-10", report.layout)
        self.assertIn("the column-number row 11", report.layout)
        self.assertIn("the footer from row 15 (Jumlah)", report.layout)

    def test_an_officer_imports_their_own_printed_card_back(self):
        officer = make_user("officer", permissions.OFFICER, self.agency)
        report = run_import(self.xlsx(self.agency), user=officer)
        self.assertTrue(report.committed, import_messages(report))
        self.assertEqual((report.created, report.updated, report.unchanged), (0, 0, 3))
        other = make_user("officer2", permissions.OFFICER, self.other)  # another agency's officer: refused by row
        report = run_import(self.xlsx(self.agency), user=other, dry_run=True)
        self.assertEqual({i.field for i in report.errors}, {"agency"}, import_messages(report))

    def import_into_an_empty_register(self) -> None:
        before = {a.nomor_register: kib_fields(a) for a in LandAsset.objects.filter(agency=self.agency)}
        path = self.xlsx(self.agency)
        # The agency's register emptied: its assets and certificates moved out of the way (other agency and kode)
        Certificate.objects.filter(asset__agency=self.agency).update(asset=self.elsewhere)
        LandAsset.objects.filter(agency=self.agency).update(agency=self.other, kode_barang="1.3.1.01.01.01.009")
        report = run_import(path)
        self.assertTrue(report.committed, import_messages(report))
        self.assertEqual((report.created, report.certificates), (3, 2))
        after = {a.nomor_register: kib_fields(a) for a in LandAsset.objects.filter(agency=self.agency)}
        self.assertEqual(after, before)

    @override_settings(LANGUAGE_CODE="id")
    def test_the_printed_xlsx_imports_into_an_empty_register_as_the_same_rows(self):
        self.import_into_an_empty_register()

    @override_settings(LANGUAGE_CODE="en")
    def test_the_indonesian_words_import_in_english_too(self):
        self.import_into_an_empty_register()  # "Penyerahan PSU / fasum-fasos" is no English label

    def test_the_city_xlsx_imports_back_unchanged(self):
        report = run_import(self.xlsx(None))
        self.assertTrue(report.committed, import_messages(report))
        self.assertEqual((report.created, report.updated, report.unchanged), (0, 0, 4))
        self.assertEqual(report.mapping["agency"], "Kode OPD")
        self.elsewhere.refresh_from_db()  # the card has no tanggal perolehan column: the register's date stays
        self.assertEqual(self.elsewhere.tanggal_perolehan, dt.date(2010, 5, 17))


class AsOfTests(KibPrintCase):
    def test_the_card_as_of_a_date_prints_the_register_then(self):
        asset = make_asset(self.other, None, nomor_register="0009", nama_barang="Nama Lama", luas_kib_m2=Decimal(100))
        backdate(asset, dt.date(2024, 3, 1))
        services.asset_update(asset=asset, user=None, data={"nama_barang": "Nama Baru", "luas_kib_m2": Decimal(200)})
        then = kib_print.build(selection(self.other, dt.date(2024, 12, 31)), self.other)
        self.assertEqual([r.values["nama_barang"] for r in then.rows], ["Nama Lama"])
        self.assertEqual((then.luas, then.day_text, then.file_stem()), (Decimal(100), "31 Desember 2024",
                                                                       "kib-a-1.02.01-per-20241231"))  # fmt: skip
        now = kib_print.build(selection(self.other), self.other)
        self.assertEqual(sorted(r.values["nama_barang"] for r in now.rows), ["Nama Baru", "Tanah Puskesmas Manggar"])


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


class PdfTests(KibPrintCase):
    def test_title_words_numbers_totals_and_signatures(self):
        [text] = pdf_pages(kib_print.pdf(kib_print.build(selection(self.agency), self.agency)))
        text = " ".join(text.split())  # a cell's text wraps at its width
        for expected in ("PEMERINTAH KOTA BALIKPAPAN", "KARTU INVENTARIS BARANG (KIB) A – TANAH",
                         "1.01.01 - Dinas Pendidikan dan Kebudayaan", "Status Tanah", "Hak Pakai", "Hak Pengelolaan",
                         "Pembelian", "Hibah", "1.234.567,89", "150.000.000,00", "01-02-2003",
                         "Jumlah halaman ini", "JUMLAH", "1.235.730,64", "225.000.000,00",
                         "Dalam proses: 1 bidang", "Drs. H. Muhaimin, M.Pd", "Sulastri", "19680101 199303 1 007",
                         "Mengetahui, Pengguna Barang", "Tanah SD Negeri 001"):  # fmt: skip
            self.assertIn(expected, text)
        for code in ("PEMBELIAN", "SERTIFIKAT_TERBIT", "PENYERAHAN_PSU", "Puskesmas Manggar"):
            self.assertNotIn(code, text)

    def test_an_agency_without_land_prints_one_page_of_zeros_and_signatures(self):
        empty = Agency.objects.get(code="7.01.06")
        [text] = pdf_pages(kib_print.pdf(kib_print.build(selection(empty), empty)))
        self.assertIn("JUMLAH 0,00 0,00", " ".join(text.split()))
        self.assertIn("Jumlah bidang: 0", text)
        self.assertIn("Halaman 1 dari 1", text)

    def test_pages_each_with_their_total_and_the_running_total(self):
        for n in range(40):
            # Every other row in capitals, as many registers are written: wider letters, more lines per row
            alamat = "Jl. Marsma R. Iswahyudi No. 12, RT 021, Kel. Sungai Nangka, Kec. Balikpapan Selatan"
            make_asset(self.other, None, nomor_register=f"{100 + n:04d}", nama_barang=f"Tanah Lapangan {n}",
                       alamat=alamat.upper() if n % 2 else alamat, penggunaan="LAPANGAN OLAHRAGA WARGA" * (n % 3),
                       luas_kib_m2=Decimal("1000.50"), nilai_perolehan=Decimal(1_000_000))  # fmt: skip
        card = kib_print.build(selection(self.other), self.other)
        planned = kib_print.paginate(card)
        with mock.patch.object(kib_print, "PDF_RUN_PAGES", 2):  # rendered two pages at a time, then joined
            pages = pdf_pages(kib_print.pdf(card))
        self.assertGreater(len(planned), 2)
        self.assertEqual(len(pages), len(planned))  # no planned page overflowed onto another
        for number, (text, page) in enumerate(zip(pages, planned, strict=True), start=1):
            self.assertEqual(text.count("Jumlah halaman ini"), 1, number)
            self.assertIn(f"Halaman {number} dari {len(pages)}", text)
            self.assertEqual(text.count("Tanah Lapangan") + text.count("Puskesmas"), len(page.rows))
            with translation.override("id"):
                self.assertIn(formats.number(page.luas, 2), text)  # this page's total
                self.assertIn(formats.number(page.luas_to_date, 2), text)
        self.assertIn("Jumlah s.d. halaman ini", pages[0])
        self.assertIn("Nomor", pages[1])  # the header on every page
        self.assertIn("JUMLAH", pages[-1])
        self.assertIn("41.220,00", pages[-1])  # 40 × 1.000,50 + 1.200,00 (the factory's area)
        self.assertNotIn("JUMLAH", pages[0])


@override_settings(LANGUAGE_CODE="en")
class PermissionTests(KibPrintCase):
    def get(self, user, **params):
        self.client.force_login(user)
        return self.client.get(reverse("kib-a-export"), params, HTTP_ACCEPT_LANGUAGE="en")

    def test_an_officer_prints_their_own_agency_only(self):
        officer = make_user("officer", permissions.OFFICER, self.agency)
        response = self.get(officer, agency=self.agency.code, format="xlsx")
        self.assertEqual(response.status_code, 200)
        self.assertIn("kib-a-1.01.01-", response["Content-Disposition"])
        sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["KIB A"]
        self.assertEqual(sheet.cell(12, 2).value, "Tanah SD Negeri 001")
        response = self.get(officer, agency=self.agency.code, format="pdf")
        self.assertEqual((response.status_code, response["Content-Type"]), (200, "application/pdf"))
        self.assertTrue(response.content.startswith(b"%PDF"))
        for params in ({"agency": self.other.code}, {}):  # another agency, the whole city
            response = self.get(officer, format="xlsx", **params)
            self.assertEqual(response.status_code, 403, params)
            self.assertIn("own agency", response.content.decode())
        self.assertEqual(self.get(officer, format="pdf").status_code, 403)
        self.assertEqual(self.client.get(reverse("asset-export"), {"format": "xlsx"}).status_code, 403)

    def test_exporters_print_any_agency_and_the_city_planners_none(self):
        for role in (permissions.BPKAD, permissions.AUDITOR, permissions.ADMIN):
            user = make_user(role, role)
            for params in ({"agency": self.other.code}, {}):
                response = self.get(user, format="xlsx", **params)
                self.assertEqual(response.status_code, 200, (role, params))
        planner = make_user("planner", permissions.PLANNER)
        response = self.get(planner, agency=self.agency.code, format="pdf")
        self.assertEqual(response.status_code, 403)
        self.assertIn("Your role does not allow exporting", response.content.decode())
        self.assertEqual(self.get(planner, format="pdf").status_code, 403)

    def test_bad_parameters_are_named(self):
        bpkad = make_user("bpkad", permissions.BPKAD)
        response = self.get(bpkad, agency="9.99.99", format="pdf")
        self.assertEqual(response.status_code, 400)
        self.assertIn("Unknown agency 9.99.99", response.content.decode())
        response = self.get(bpkad, format="docx")
        self.assertEqual(response.status_code, 400)
        self.assertIn("docx", response.content.decode())
        response = self.get(bpkad, format="xlsx", paper="legal")
        self.assertEqual(response.status_code, 400)
        self.assertIn("Unknown paper legal", response.content.decode())
        response = self.get(bpkad, format="xlsx", paper="f4")
        sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["KIB A"]
        self.assertEqual(int(sheet.page_setup.paperSize), 14)  # Folio 8.5 × 13 in
        response = self.get(bpkad, format="pdf", as_of="31-12-2024")
        self.assertEqual(response.status_code, 400)
        self.assertIn("as_of", response.content.decode())

    def test_the_register_list_offers_the_card(self):
        officer = make_user("officer", permissions.OFFICER, self.agency)
        self.client.force_login(officer)
        page = self.client.get(reverse("asset-list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        self.assertIn(reverse("kib-a-export"), page)
        self.assertIn('name="agency" value="1.01.01"', page)
        bpkad = make_user("bpkad", permissions.BPKAD)
        self.client.force_login(bpkad)
        page = self.client.get(reverse("asset-list"), {"agency": "1.02.01"}, HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(page, 'name="agency" value="1.02.01"')
        page = self.client.get(reverse("asset-list"), HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(page, "KIB A (printed), whole city")
        planner = make_user("planner", permissions.PLANNER)
        self.client.force_login(planner)
        self.assertNotContains(self.client.get(reverse("asset-list")), reverse("kib-a-export"))
