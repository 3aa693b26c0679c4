"""The audit dashboard: its charts' SVG and XLSX downloads against the breakdowns, the choropleths against a recount
of the register, the one palette, acquisition periods, unlocated assets and the scrollable tables."""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from assets.audit import dashboard
from assets.lib import formats
from assets.maps import builders
from assets.models import AdministrativeArea, Agency, CertificateStatus, LandAsset, Stage
from assets.register import history, palette, permissions, services
from assets.register.reads import RegisterSelection
from tests.factories import load_reference, make_asset, make_user, point_inside, square

SVG = "{http://www.w3.org/2000/svg}"
KEL_A = "64.71.05.1002"  # two of its three assets certified
KEL_B = "64.71.01.1001"  # another kecamatan: none of its two
KEL_C = "64.71.03.1003"  # in process only


def certify(asset: LandAsset, *, issued: bool = True, year: int = 2024) -> None:
    case = services.certificate_create(
        asset=asset, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=dt.date(year - 1, 3, 1)
    )
    if issued:
        services.certificate_change_stage(
            certificate=case,
            user=None,
            to_stage=Stage.SERTIFIKAT_TERBIT,
            tanggal_tahap=dt.date(year, 5, 1),
            jenis_hak="HP",
            nomor=str(asset.pk),
            tanggal=dt.date(year, 5, 1),
            atas_nama="Pemkot Balikpapan",
        )


class DashboardTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.other_agency = Agency.objects.exclude(pk=cls.agency.pk).order_by("code").first()
        cls.auditor = make_user("auditor", permissions.AUDITOR)
        make_user("norole", None)

        def at(code: str, i: int, **fields) -> LandAsset:
            lon, lat = point_inside(code)
            day = dt.date(fields["tahun_perolehan"], 1, 2)
            return make_asset(geom=square(lon + i * 0.0004, lat, 0.00015), tanggal_perolehan=day, **fields)

        a1 = at(KEL_A, 0, agency=cls.agency, tahun_perolehan=1970, luas_kib_m2=149433)
        a2 = at(KEL_A, 1, agency=cls.agency, tahun_perolehan=1988)
        at(KEL_A, 2, agency=cls.other_agency, tahun_perolehan=2020)
        at(KEL_B, 0, agency=cls.agency, tahun_perolehan=2021)
        at(KEL_B, 1, agency=cls.other_agency, tahun_perolehan=2021)
        c1 = at(KEL_C, 0, agency=cls.other_agency, tahun_perolehan=2005)
        make_asset(
            agency=cls.agency,
            geom=None,
            nama_barang="Tanah Tanpa Lokasi",
            tahun_perolehan=1999,
            tanggal_perolehan=dt.date(1999, 1, 2),
        )
        certify(a1, year=2023)
        certify(a2, year=2024)
        certify(c1, issued=False)

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.client.force_login(self.auditor)

    def svg(self, slug: str, **params) -> ET.Element:
        response = self.client.get(reverse("audit-dashboard-svg", kwargs={"slug": slug}), params)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Type"].startswith("image/svg+xml"))
        return ET.fromstring(response.content)  # noqa: S314 - Sipanah's own output; must be well-formed XML

    def recount(self, level: str) -> dict[str, tuple[int, int]]:
        """Per area name: (assets, certified), counted in the database, not through the dashboard's code."""
        field = "kecamatan" if level == "kecamatan" else "kelurahan"
        rows = (
            LandAsset.objects.filter(**{f"{field}__isnull": False})
            .values(f"{field}__name")
            .annotate(n=Count("id"), certified=Count("id", filter=Q(status_sertifikat=CertificateStatus.TERBIT)))
        )
        return {r[f"{field}__name"]: (r["n"], r["certified"]) for r in rows}

    # --- Exports ----------------------------------------------------------------------------------------

    def test_svg_export_shows_the_breakdown_numbers(self):
        root = self.svg("kecamatan")
        self.assertEqual(root.tag, f"{SVG}svg")
        self.assertEqual(root.get("role"), "img")
        self.assertEqual(root.find(f"{SVG}title").text, "Assets by kecamatan and certificate status")
        tips = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")]
        names = history.names()
        expected = []
        for label, cells, total in dashboard.breakdown(self.states(), "kecamatan", names):
            counts = "; ".join(
                f"{lab}: {cells[value].count}" for value, lab in CertificateStatus.choices
            )  # English labels, counts below 1,000 print the same in any language
            expected.append(f"{label}: {counts}; Total: {total.count}")
        self.assertEqual(tips, expected)
        self.assertEqual(tips[-1], "No location recorded: Not certified: 1; In process: 0; Certified: 0; Total: 1")
        self.assertEqual(len(tips), 4)  # three kecamatan and the unlocated asset

    def states(self):
        return RegisterSelection.from_params({}).states(with_geom=False)

    def test_xlsx_has_one_sheet_per_chart_with_the_chart_numbers(self):
        response = self.client.get(reverse("audit-dashboard-xlsx"))
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment;", response["Content-Disposition"])
        wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        self.assertEqual(len(wb.sheetnames), 8)  # one per chart, revenue and open cases included
        sheets = {ws.cell(1, 1).value: list(ws.iter_rows(min_row=dashboard.XLSX_HEADER_ROW, values_only=True))
                  for ws in wb.worksheets}  # fmt: skip
        by_kecamatan = sheets["Assets by kecamatan and certificate status"]
        self.assertEqual(by_kecamatan[0], ("Kecamatan", "Not certified", "In process", "Certified", "Total"))
        expected = [
            (label, *[cells[s].count for s in CertificateStatus.values], total.count)
            for label, cells, total in dashboard.breakdown(self.states(), "kecamatan", history.names())
        ]
        self.assertEqual(by_kecamatan[1:], expected)
        shares = {row[0]: row[2:] for row in sheets["Share certified per kecamatan"][1:]}
        for name, (n, certified) in self.recount("kecamatan").items():
            self.assertEqual(shares[name], (n, certified, round(certified / n * 100, 1)))
        acquisition = sheets["Assets by acquisition period and certificate status"]
        self.assertEqual([row[0] for row in acquisition[1:]][:2], ["1970–1974", "1975–1979"])
        self.assertEqual(sum(row[-1] for row in acquisition[1:]), LandAsset.objects.count())
        progress = sheets["Certification cases started and certificates issued per period"]
        self.assertEqual(progress[1:], [("2022", 1, 0), ("2023", 2, 1), ("2024", 0, 1)])

    def test_exports_follow_the_as_of_date(self):
        response = self.client.get(reverse("audit-dashboard-xlsx"), {"as_of": "2000-01-01"})
        wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        ws = wb.worksheets[0]
        self.assertEqual((ws.cell(2, 1).value, ws.cell(2, 2).value), ("Register as of", "2000-01-01"))
        self.assertEqual(ws.max_row, dashboard.XLSX_HEADER_ROW)  # nothing existed yet
        self.assertIn("2000-01-01", response["Content-Disposition"])
        root = self.svg("progress", as_of="2000-01-01")
        self.assertIn("No stage changes recorded.", "".join(root.itertext()))

    def test_unknown_chart_and_bad_date(self):
        self.assertEqual(self.client.get("/audit/dashboard/charts/nope.svg").status_code, 404)
        response = self.client.get(reverse("audit-dashboard-svg", kwargs={"slug": "agency"}), {"as_of": "31-31-2020"})
        self.assertEqual(response.status_code, 400)
        self.client.force_login(get_user_model().objects.get(username="norole"))
        self.assertEqual(self.client.get(reverse("audit-dashboard-xlsx")).status_code, 403)

    # --- Choropleths ------------------------------------------------------------------------------------

    def test_choropleth_percentages_equal_a_recount_per_kecamatan_and_kelurahan(self):
        for level, slug in (("kecamatan", "share-kecamatan"), ("kelurahan", "share-kelurahan")):
            recount = self.recount(level)
            root = self.svg(slug)
            areas = {}
            for link in root.iter(f"{SVG}a"):
                label = link.get("aria-label")
                name = label.split(":")[0]
                fill = link.find(f"{SVG}path").get("fill")
                areas[name] = (label, fill)
                self.assertTrue(link.get("href").startswith(f"/assets/?{level}="), link.get("href"))
            every = AdministrativeArea.objects.filter(level=level).count()
            self.assertEqual(len(areas), every)  # areas without assets are drawn too
            for name, (n, certified) in recount.items():
                share = certified / n
                self.assertEqual(
                    areas[name][0], f"{name}: {formats.percent(share)} certified ({certified} of {n} assets)"
                )
                self.assertEqual(areas[name][1], palette.share_colour(share))
            empty = next(name for name in areas if name not in recount)
            self.assertEqual(areas[empty], (f"{empty}: no assets", palette.NO_DATA_COLOUR))
        kec_a = AdministrativeArea.objects.get(code=KEL_A).parent.name
        self.assertEqual(self.recount("kecamatan")[kec_a], (3, 2))
        # An area opens the register narrowed to it, with the dashboard's filters and date.
        today = timezone.localdate().isoformat()
        root = self.svg("share-kelurahan", as_of=today, agency=self.agency.code)
        href = next(a.get("href") for a in root.iter(f"{SVG}a") if a.get("aria-label").startswith("Baru Ilir"))
        self.assertEqual(href, f"/assets/?as_of={today}&agency={self.agency.code}&kelurahan=64.71.02.1001")

    def test_choropleth_percentages_follow_the_language(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "id"
        text = self.client.get(reverse("audit-dashboard-svg", kwargs={"slug": "share-kecamatan"})).content.decode()
        self.assertIn("66,7%", text)
        self.assertNotIn("66.7%", text)

    # --- Palette ----------------------------------------------------------------------------------------

    def test_one_palette_for_map_charts_and_pages(self):
        colours = palette.STATUS_COLOURS
        self.assertEqual(set(colours), set(CertificateStatus.values))
        page = self.client.get(reverse("audit-dashboard")).content.decode()
        for status, colour in colours.items():
            self.assertIn(f"--c-status-{status}:{colour};", page)  # base.html: every page gets the custom properties
        # The chart legends pair each status with its palette colour.
        root = self.svg("kecamatan")
        items = list(root)
        legend = {
            items[i + 1].text: items[i].get("fill")
            for i in range(len(items) - 1)
            if items[i].tag == f"{SVG}rect" and items[i].get("width") == "12" and items[i + 1].tag == f"{SVG}text"
        }
        self.assertEqual(legend, {str(label): colours[value] for value, label in CertificateStatus.choices})
        # The map legend uses the same constant.
        with translation.override("en"):
            legend_html = builders.Legend().html
        for value, label in (("belum", "Not certified"), ("proses", "In process"), ("terbit", "Certified")):
            self.assertRegex(legend_html, rf"background:{colours[value]};[^>]*></span>{label}")
        # The map's parcel styles and the stylesheets read the custom properties: no second copy of the colours.
        static = Path(settings.BASE_DIR) / "assets" / "static"
        for path in ("js/sipanah-map.js", "css/sipanah.css", "css/sipanah-maps.css"):
            text = (static / path).read_text().lower()
            for colour in (*colours.values(), palette.DISPUTE_COLOUR):
                self.assertNotIn(colour, text, f"{path} repeats {colour}")
        self.assertIn("--c-status-", (static / "js/sipanah-map.js").read_text())

    # --- Page -------------------------------------------------------------------------------------------

    def test_page_names_unlocated_assets_and_scroll_regions_are_focusable(self):
        response = self.client.get(reverse("audit-dashboard"))
        self.assertEqual(response.context["unlocated"], 1)
        self.assertContains(response, "No location recorded")
        self.assertContains(response, "Assets without a recorded location, not on this map: 1")
        page = response.content.decode()
        wraps = re.findall(r'<div class="table-wrap[^"]*"([^>]*)>', page)
        self.assertGreaterEqual(len(wraps), 8)  # the two breakdowns and each chart's numbers
        for attrs in wraps:
            self.assertIn('tabindex="0"', attrs)
            self.assertIn('role="region"', attrs)
            self.assertRegex(attrs, r'aria-label="[^"]+"')
        for slug in ("kecamatan", "agency", "acquisition", "progress", "share-kecamatan", "share-kelurahan"):
            self.assertContains(response, reverse("audit-dashboard-svg", kwargs={"slug": slug}))
        # Each chart is drawn for a wide and a narrow box, every one with an accessible name.
        svgs = re.findall(r"<svg [^>]*>", page)
        self.assertEqual(len(svgs), 16)  # 8 charts (6 of the register, revenue and open cases), wide and narrow
        for tag in svgs:
            self.assertRegex(tag, r'aria-label="[^"]+"')
        self.assertIn('src="/static/js/sipanah-charts.js"', page)

    def test_long_agency_names_wrap_and_keep_their_full_name(self):
        agency = Agency.objects.order_by("-name").first()
        agency.name = "Badan Pengelolaan Keuangan, Pendapatan dan Aset Daerah Kota Balikpapan"
        agency.save()
        make_asset(agency=agency, geom=None)
        root = self.svg("agency")
        group = next(g for g in root.iter(f"{SVG}g") if g.find(f"{SVG}title").text.startswith(agency.name + ":"))
        lines = [t.text for t in group.findall(f"{SVG}text")][:2]
        self.assertTrue(agency.name.startswith(lines[0] + " "), lines)  # cut at a space
        self.assertTrue(lines[1].endswith("…"), lines)  # the rest does not fit: the <title> holds the full name
        chart = dashboard.charts(self.states(), history.names(), as_of=None)["agency"]
        narrow = ET.fromstring(chart.svg(360))  # noqa: S314
        self.assertEqual(narrow.get("width"), "360")

    def test_periods(self):
        self.assertEqual([p.label for p in dashboard.periods([2020, 2024])], ["2020", "2021", "2022", "2023", "2024"])
        labels = [p.label for p in dashboard.periods([1966, 2025])]
        self.assertEqual((labels[0], labels[-1], len(labels)), ("1965–1969", "2025", 13))
        decades = dashboard.periods([1901, 2025])
        self.assertEqual((decades[0].label, decades[-1].label), ("1900–1909", "2020–2025"))
        self.assertEqual(dashboard.periods([]), [])
