"""The printed audit report read back (pypdf): letterhead, parameters, every row of a long finding, no row split
across pages, summary numbers, signatures; and the area-mismatch rules at their boundaries."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

from django.test import SimpleTestCase, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from pypdf import PdfReader

from assets.audit import exports, findings
from assets.models import Agency, Signatory
from assets.register import history, permissions, place
from assets.register.history import AssetState, CertState
from tests.factories import load_reference, make_asset, make_user

LONG = 60  # more than the old cap of 50 rows per finding
NAME = "Tanah Uji U{:03d}X Cadangan Jalan Poros Sepinggan Baru Ujung Timur Dekat Simpang Empat Gunung Pasir Lama"
# (wraps over five lines or so in its cell: a row that could be split, were rows allowed to split)


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text with whitespace normalised (a cell's text wraps over lines)."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


class AuditReportPdfTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.auditor = make_user("auditor", permissions.AUDITOR)
        cls.auditor.first_name, cls.auditor.last_name = "Siti", "Auditor"
        cls.auditor.save()
        Signatory.objects.create(
            role=Signatory.Role.KEPALA_BPKAD, name="Dr. Rahmat Kepala", nip="19700101 199003 1 001", title="Kepala"
        )
        # LONG uncertified assets without location: each value distinct, so a row can be told apart on its page.
        cls.assets = [
            make_asset(
                agency=cls.agency,
                geom=None,
                nama_barang=NAME.format(i),
                nilai_perolehan=Decimal(1_000_000 + i),
                luas_kib_m2=Decimal("1234.50"),
            )
            for i in range(1, LONG + 1)
        ]

    def render(self, language: str = "en", **params: str) -> list[str]:
        self.client.force_login(self.auditor)
        params.setdefault("as_of", timezone.localdate().isoformat())
        response = self.client.get(reverse("audit-report-pdf"), params, HTTP_ACCEPT_LANGUAGE=language)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/pdf")
        return page_texts(response.content)

    def appendix_pages(self, pages: list[str], title: str) -> list[str]:
        """The pages of the appendix of the finding titled ``title``, up to the next appendix."""
        start = next(i for i, text in enumerate(pages) if re.search(rf"Appendix \d+: {re.escape(title)}", text))
        end = next((i for i in range(start + 1, len(pages)) if "Appendix " in pages[i][:200]), len(pages))
        return pages[start:end]

    def test_the_report_in_english(self):
        pages = self.render("en")
        first, text = pages[0], " ".join(pages)
        city = place.city()
        # Letterhead (from settings) on the first page, the date the register is read as of.
        self.assertIn(city.government.upper(), first)
        self.assertIn(city.office_full.upper(), first)
        self.assertIn(city.office_address, first)
        with translation.override("en"):
            self.assertIn(f"Register as of {date_format(timezone.localdate(), 'j F Y')}", first)
        # The parameters each finding used, as the finders read them.
        self.assertIn("Stuck after 180 days in the same stage", text)
        self.assertIn("the larger of 5.0% of the certificate area and 10.00 m²", text)
        self.assertIn("Area tolerance, KIB vs certificate more than 1.00 m²", text)
        self.assertIn("Smallest overlap counted more than 1.00 m²", text)
        # No internal id column anywhere.
        self.assertNotIn("Asset id", text)
        # The summary's numbers are the findings' counts (rows, distinct assets), for every finding.
        results = findings.run_all(history.snapshot(with_geom=True))
        summary = " ".join(pages[:2])
        for slug, rows in results.items():
            with self.subTest(slug=slug):
                title = str(findings.FINDINGS[slug].title)
                self.assertIn(f"{title} {len(rows)} {len({r.asset.id for r in rows})}", summary)
        self.assertEqual(len(results["uncertified"]), LONG)
        self.assertIn(f"Uncertified assets {LONG} {LONG} {LONG * 1234.5:,.2f} m²", summary)
        # Signatures: who printed it, and the head of BPKAD from the Signatory records.
        self.assertIn("Prepared by", text)
        self.assertIn("Siti Auditor", text)
        self.assertIn("Dr. Rahmat Kepala", text)
        self.assertIn("NIP 19700101 199003 1 001", text)

    def test_long_findings_are_complete_and_no_row_is_split(self):
        pages = self.render("en")
        results = findings.run_all(history.snapshot(with_geom=True))
        names = history.names()
        # Uncertified: one line a row; documents: the missing documents make rows of five lines or more, which a
        # page break would cut were rows allowed to split.
        for slug in ("uncertified", "documents"):
            title = str(findings.FINDINGS[slug].title)
            appendix = self.appendix_pages(pages, title)
            self.assertGreater(len(appendix), 1, slug)  # it runs over several pages ...
            listed = [int(n) for page in appendix for n in re.findall(r"U(\d{3})X", page)]
            self.assertEqual(sorted(listed), list(range(1, LONG + 1)), slug)  # ... and lists every row, once
            for page in appendix:
                self.assertIn("Kode barang", page)  # the header repeats on every page
            with translation.override("en"):
                detail = slug not in exports.TABLES_WITHOUT_DETAIL
                rows = list(exports.display_rows(slug, results[slug], names, detail=detail))
            self.assertEqual(len(rows), LONG)
            # Each page cut into its rows: from a row's "No. kode-barang register" to the next one's.
            segments = [seg for page in appendix for seg in re.split(r"(?= \d+ 1\.3\.1\.01\.01\.01\.001 \d{4} )", page)]
            for cells in rows:
                token = re.search(r"U\d{3}X", cells[2].text).group()
                with self.subTest(slug=slug, row=token):
                    [segment] = [seg for seg in segments if token in seg]
                    # every cell of the row, the whole of each wrapped text, is in its row's part of one page
                    self.assertIn(f"{cells[0].text} {cells[1].text} {cells[2].text}", segment)
                    for cell in cells[3:]:
                        self.assertIn(" ".join(cell.text.split()), segment)
        self.assertIn(f"Rp {1_000_000 + LONG:,}", " ".join(self.appendix_pages(pages, "Uncertified assets")))

    def test_indonesian_formats(self):
        pages = self.render("id")
        text = " ".join(pages)
        self.assertIn("Rp 1.000.001", text)
        self.assertIn("Rp 1.000.060", text)
        self.assertIn("1.234,50", text)  # the KIB area in the uncertified appendix
        self.assertIn(f"{LONG * 1234.5:,.2f}".replace(",", " ").replace(".", ",").replace(" ", "."), text)
        self.assertNotIn("Rp 1,000,001", text)

    def test_options_in_the_url_are_the_parameters_stated(self):
        text = " ".join(self.render("en", days="90", tol_pct="7", tol_m2="20", kib_tol_m2="2"))
        self.assertIn("Stuck after 90 days", text)
        self.assertIn("the larger of 7.0% of the certificate area and 20.00 m²", text)
        self.assertIn("more than 2.00 m²", text)

    def test_filters_are_stated(self):
        text = " ".join(self.render("en", agency=self.agency.code))
        self.assertIn(f"Register filters Agency: {self.agency.name}", text)


def state(
    *, kib: str | None = None, gis: str | None = None, certificates: tuple[tuple[str, str], ...] = ()
) -> AssetState:
    """An asset as the finders see it: KIB and GIS areas, and certificates as (nomor, area)."""
    asset = AssetState(
        id=1,
        kode_barang="1.3.1.01.01.01.001",
        nomor_register="0001",
        nama_barang="Tanah",
        agency_id=1,
        kecamatan_id=None,
        kelurahan_id=None,
        tahun_perolehan=2020,
        nilai_perolehan=Decimal(1),
        luas_kib_m2=Decimal(kib) if kib is not None else None,  # type: ignore[arg-type]
        luas_gis_m2=Decimal(gis) if gis is not None else None,
        plotting_status="LOCATED",
        removed_at=None,
        removal_sk_nomor="",
        wkb=None,
    )
    for i, (nomor, area) in enumerate(certificates, start=1):
        asset.certificates.append(
            CertState(i, 1, "HP", nomor, dt.date(2020, 1, 1), "Pemerintah Kota Balikpapan", Decimal(area), "X", None)
        )
    return asset


def flagged(slug: str, asset: AssetState, options: findings.FindingOptions | None = None) -> bool:
    return bool(findings.run_finding(slug, [asset], options=options or findings.FindingOptions()))


class AreaRuleTests(SimpleTestCase):
    """(a) certificate vs GIS: beyond the larger of 5 % of the certificate area and 10 m²; (b) KIB vs the issued
    certificates: beyond 1 m²."""

    def test_percentage_boundary_on_a_large_parcel(self):
        for gis, expected in (("1049", False), ("1051", True), ("951", False), ("949", True)):
            with self.subTest(gis=gis):  # 4.9 % and 5.1 % either way of a 1,000 m² certificate (5 % = 50 m²)
                self.assertIs(
                    flagged("area-mismatch", state(kib="1000", gis=gis, certificates=(("1", "1000"),))), expected
                )

    def test_square_metre_floor_on_a_small_parcel(self):
        for gis, expected in (("109", False), ("111", True), ("91", False), ("89", True)):
            with self.subTest(gis=gis):  # 9 and 11 m² on 100 m²: beyond 5 % but only 11 m² passes the 10 m² floor
                self.assertIs(
                    flagged("area-mismatch", state(kib="100", gis=gis, certificates=(("1", "100"),))), expected
                )

    def test_the_certificate_area_is_the_reference_and_the_kib_stands_in(self):
        # The KIB is far off but the certificate agrees with the GIS: not a field case (a KIB correction).
        asset = state(kib="600", gis="1000", certificates=(("1", "1000"),))
        self.assertFalse(flagged("area-mismatch", asset))
        self.assertTrue(flagged("kib-area", asset))
        # No certificate area: the KIB is compared with the GIS, and says so.
        [row] = findings.run_finding("area-mismatch", [state(kib="600", gis="1000")])
        self.assertEqual(row.values["compared"], "KIB–GIS (no certificate area)")
        self.assertEqual(row.values["diff_m2"], Decimal("400.00"))
        # No GIS area: nothing to compare.
        self.assertFalse(flagged("area-mismatch", state(kib="600")))

    def test_kib_against_the_issued_certificates(self):
        for kib, expected in (("1000.9", False), ("999.1", False), ("1001.1", True), ("998.9", True)):
            with self.subTest(kib=kib):
                self.assertIs(flagged("kib-area", state(kib=kib, certificates=(("1", "600"), ("2", "400")))), expected)
        # A case with no number yet (not issued) is not what the KIB copies.
        self.assertFalse(flagged("kib-area", state(kib="700", certificates=(("", "1000"),))))

    @override_settings(SIPANAH_AREA_TOLERANCE_PCT=10, SIPANAH_AREA_TOLERANCE_M2=10, SIPANAH_KIB_AREA_TOLERANCE_M2=5)
    def test_the_defaults_come_from_settings(self):
        self.assertFalse(flagged("area-mismatch", state(kib="1000", gis="1090", certificates=(("1", "1000"),))))
        self.assertTrue(flagged("area-mismatch", state(kib="1000", gis="1110", certificates=(("1", "1000"),))))
        self.assertFalse(flagged("kib-area", state(kib="1004", certificates=(("1", "1000"),))))
        self.assertEqual(findings.FindingOptions.from_params({}).tolerance_pct, Decimal(10))
