"""Audit pages and exports: who sees what, the CSV/XLSX/PDF contents, the dashboard and the activity log."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.test import TestCase
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from assets.audit import findings
from assets.models import Agency, Stage
from assets.register import permissions, services
from tests.factories import load_reference, make_asset, make_user, point_inside, square


class AuditPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.users = {
            "officer": make_user("officer", permissions.OFFICER, cls.agency),
            "bpkad": make_user("bpkad", permissions.BPKAD),
            "auditor": make_user("auditor", permissions.AUDITOR),
            "planner": make_user("planner", permissions.PLANNER),
            "admin": make_user("admin", permissions.ADMIN),
            "norole": make_user("norole", None),
        }
        cls.users["auditor"].first_name, cls.users["auditor"].last_name = "Siti", "Auditor"
        cls.users["auditor"].save()
        lon, lat = point_inside("64.71.05.1002")
        cls.a = make_asset(agency=cls.agency, geom=square(lon, lat, 0.0002), nama_barang="Tanah Tumpang A")
        cls.b = make_asset(agency=cls.agency, geom=square(lon + 0.0002, lat, 0.0002), nama_barang="Tanah Tumpang B")
        cls.nogeom = make_asset(agency=cls.agency, geom=None, nama_barang="Tanah Tanpa Lokasi")
        case = services.certificate_create(
            asset=cls.nogeom, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=dt.date(2023, 1, 1)
        )
        services.certificate_change_stage(
            certificate=case,
            user=None,
            to_stage=Stage.SERTIFIKAT_TERBIT,
            tanggal_tahap=dt.date(2024, 5, 1),
            jenis_hak="HP",
            nomor="1",
            tanggal=dt.date(2024, 5, 1),
            atas_nama="Pemkot Balikpapan",
        )

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def login(self, who: str) -> None:
        self.client.force_login(self.users[who])

    def test_every_role_reads_findings_and_only_exporters_download(self):
        urls = [
            reverse("audit-findings"),
            reverse("audit-finding", args=["overlaps"]),
            reverse("audit-dashboard"),
            reverse("audit-log"),
        ]
        exports = [
            reverse("audit-report-xlsx"),
            reverse("audit-finding", args=["overlaps"]) + "?format=csv",
            reverse("audit-log") + "?format=csv",
        ]
        for who in ("officer", "bpkad", "auditor", "planner", "admin", "norole"):
            self.login(who)
            for url in urls:
                with self.subTest(who=who, url=url):
                    self.assertEqual(self.client.get(url).status_code, 403 if who == "norole" else 200)
            for url in exports:
                with self.subTest(who=who, url=url):
                    allowed = who in ("bpkad", "auditor", "admin")
                    self.assertEqual(self.client.get(url).status_code, 200 if allowed else 403)

    def test_findings_index_counts_and_map(self):
        self.login("planner")
        response = self.client.get(reverse("audit-findings"))
        self.assertContains(response, 'data-finding="overlaps">1<')
        self.assertContains(response, 'data-finding="location">1<')
        self.assertContains(response, "<svg")
        self.assertNotContains(response, "PDF audit report")  # planners read, they do not export

    def test_finding_page_table_map_and_bad_options(self):
        self.login("auditor")
        response = self.client.get(reverse("audit-finding", args=["overlaps"]))
        self.assertContains(response, "Tanah Tumpang A")
        self.assertContains(response, "Tanah Tumpang B")
        self.assertEqual(response.content.decode().count("<circle"), 2 + 1)  # both parcels and the legend
        self.assertEqual(self.client.get(reverse("audit-finding", args=["nope"])).status_code, 404)
        bad = self.client.get(reverse("audit-finding", args=["stuck"]), {"days": "abc"})
        self.assertContains(bad, "days must be a number", status_code=400)
        bad = self.client.get(reverse("audit-finding", args=["stuck"]), {"agency": "no-such-agency"})
        self.assertContains(bad, "agency", status_code=400)

    def test_finding_csv_and_xlsx(self):
        self.login("auditor")
        url = reverse("audit-finding", args=["location"])
        response = self.client.get(url, {"format": "csv"})
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        # no internal id: kode barang and register number identify the asset
        self.assertEqual(rows[0][:3], ["Kode barang", "Register number", "Name"])
        self.assertNotIn("Asset id", rows[0])
        self.assertEqual(
            [r[:3] for r in rows[1:]], [[self.nogeom.kode_barang, self.nogeom.nomor_register, "Tanah Tanpa Lokasi"]]
        )
        response = self.client.get(url, {"format": "xlsx"})
        wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
        self.assertEqual(wb.sheetnames, ["Summary", "Without location or approximate"])
        values = [list(r) for r in wb["Without location or approximate"].iter_rows(values_only=True)]
        self.assertEqual(values[1][2], "Tanah Tanpa Lokasi")
        self.assertNotIn("Asset id", values[0])

    def test_report_workbook_has_a_summary_and_a_sheet_per_finding(self):
        self.login("bpkad")
        response = self.client.get(reverse("audit-report-xlsx"))
        self.assertIn("sipanah-audit-", response["Content-Disposition"])
        wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
        self.assertEqual(wb.sheetnames, ["Summary"] + [str(s.title)[:31] for s in findings.FINDINGS.values()])
        sheet = [r for r in wb["Summary"].iter_rows(values_only=True) if r and r[0]]
        summary = {r[0]: r[1] for r in sheet}
        self.assertEqual(summary["Overlapping assets"], 1)
        self.assertEqual(summary["Generated by"], "bpkad")
        # the parameters the findings ran with, and each finding's distinct assets with their area and value
        self.assertEqual(summary["Stuck after"], "180 days in the same stage")
        self.assertIn("10.00 m²", summary["Area tolerance, certificate (or KIB) vs GIS"])
        self.assertIn(("Finding", "Rows", "Assets", "KIB area (m²)", "Value (Rp)"), sheet)
        [overlaps] = [r for r in sheet if r[0] == "Overlapping assets"]
        self.assertEqual(overlaps[2:], (1, float(self.a.luas_kib_m2), float(self.a.nilai_perolehan)))
        for name in wb.sheetnames[1:]:
            header = next(wb[name].iter_rows(values_only=True))
            self.assertEqual(header[:2], ("Kode barang", "Register number"), name)

    def test_pdf_report_renders_and_reads_back(self):
        self.login("auditor")
        response = self.client.get(reverse("audit-report-pdf"), {"as_of": dt.date.today().isoformat()})
        self.assertEqual(response["Content-Type"], "application/pdf")
        reader = PdfReader(io.BytesIO(response.content))
        self.assertGreaterEqual(len(reader.pages), 3)
        text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)  # cells wrap their text
        self.assertIn("LAND ASSET AUDIT REPORT", reader.pages[0].extract_text())
        self.assertIn("Siti Auditor", text)
        self.assertIn("Generated at", text)
        self.assertIn("Overlapping assets", text)
        self.assertIn("Tanah Tumpang A", text)
        self.assertIn("Map of the affected assets", text)

    def test_dashboard_breakdowns_and_progress(self):
        self.login("planner")
        response = self.client.get(reverse("audit-dashboard"))
        self.assertEqual(response.context["totals"].count, 3)
        by_agency = {label: (cells, total) for label, cells, total in response.context["by_agency"]}
        cells, total = by_agency["Dinas Pendidikan dan Kebudayaan"]
        self.assertEqual((total.count, cells["terbit"].count, cells["belum"].count), (3, 1, 2))
        self.assertEqual(response.context["charts"]["progress"]["chart"].rows, [["2023", 1, 0], ["2024", 0, 1]])

    def test_activity_log_records_user_and_values_before_and_after(self):
        self.login("bpkad")
        data = {
            f: getattr(self.a, f) or ""
            for f in (
                "kode_barang",
                "nomor_register",
                "nama_barang",
                "tahun_perolehan",
                "asal_usul",
                "nilai_perolehan",
                "luas_kib_m2",
                "plotting_status",
            )
        }
        data.update(
            agency=self.a.agency_id, nama_barang="Tanah Tumpang A (koreksi)", geom="", loaded_version=self.a.version
        )
        response = self.client.post(reverse("asset-update", args=[self.a.pk]), data)
        self.assertEqual(
            response.status_code, 302, getattr(response, "context", None) and response.context["form"].errors
        )
        log = self.client.get(reverse("audit-log"), {"asset": self.a.pk, "user": "bpkad"})
        entry = log.context["entries"][0]
        self.assertEqual((entry.user, entry.action, entry.asset_id), ("bpkad", "changed", self.a.pk))
        changes = {f: (before, after) for f, before, after in entry.changes}
        self.assertEqual(changes["name / type of land"], ("Tanah Tumpang A", "Tanah Tumpang A (koreksi)"))
        response = self.client.get(reverse("audit-log"), {"asset": self.a.pk, "format": "csv"})
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        self.assertIn("Tanah Tumpang A (koreksi)", text)
        self.assertIn("bpkad", text)
        self.assertEqual(self.client.get(reverse("audit-log"), {"from": "2025-13-01"}).status_code, 400)
        nothing = self.client.get(reverse("audit-log"), {"user": "nobody"})
        self.assertEqual(nothing.context["entries"], [])

    def test_the_options_form_keeps_the_register_filters(self):
        self.login("planner")
        response = self.client.get(reverse("audit-finding", args=["uncertified"]), {"agency": "1.01.01", "days": "30"})
        self.assertContains(response, '<input type="hidden" name="agency" value="1.01.01">', html=False)
        self.assertNotContains(response, '<input type="hidden" name="days"')
        other = self.client.get(reverse("audit-finding", args=["uncertified"]), {"agency": "1.02.01"})
        self.assertEqual(other.context["page"].paginator.count, 0)
        self.assertEqual(
            self.client.get(reverse("audit-finding", args=["uncertified"]), {"agency": "1.01.01"})
            .context["page"]
            .paginator.count,
            2,
        )

    def test_dashboard_as_of_a_date_before_any_asset(self):
        self.login("auditor")
        response = self.client.get(reverse("audit-dashboard"), {"as_of": "2020-01-01"})
        self.assertEqual(response.context["totals"].count, 0)
        self.assertEqual(response.context["charts"]["progress"]["chart"].rows, [])
        findings = self.client.get(reverse("audit-findings"), {"as_of": "2020-01-01"})
        self.assertEqual(findings.context["asset_count"], 0)
        future = self.client.get(reverse("audit-dashboard"), {"as_of": "2999-01-01"})
        self.assertContains(future, "is in the future", status_code=400)


def test_workbook_sheet_names_stay_unique_and_short():
    from assets.audit.exports import write_xlsx

    buffer = io.BytesIO()
    long = "Sertifikat bukan atas nama Pemerintah Kota: [a/b]"
    write_xlsx(buffer, [(long, [[1]], ["x"]), (long, [[2]], ["x"])], summary=[("t", 1, 1)])
    names = load_workbook(io.BytesIO(buffer.getvalue()), read_only=True).sheetnames
    assert len(names) == 3 and len(set(names)) == 3, names
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names), names
