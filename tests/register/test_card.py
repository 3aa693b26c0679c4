"""The KIB A card (assets/card): one A4 page per asset, its words and formats, its map's scale, its QR code, who may
print it, and the assets without geometry, removed, or read as of a date."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from decimal import Decimal

import pypdf
import segno
import shapely
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from assets.card import parcel_map, qr
from assets.evidence.models import Document
from assets.models import Agency, JenisHak, Stage
from assets.register import geo, permissions, place, services
from tests.factories import load_reference, make_asset, make_user, point_inside, square


def pdf_pages(response) -> list[str]:
    assert response["Content-Type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    return [page.extract_text() for page in reader.pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


class ScaleTests(TestCase):
    def test_round_lengths_are_1_2_or_5_times_a_power_of_ten_and_never_longer(self):
        cases = {17.3: 10, 20: 20, 0.75: 0.5, 250: 200, 999: 500, 1000: 1000, 4.99: 2, 73_000: 50_000}
        for limit, expected in cases.items():
            with self.subTest(limit=limit):
                self.assertAlmostEqual(parcel_map.round_length(limit), expected)

    def test_the_scale_bar_is_the_map_scale_times_a_round_length(self):
        bar = parcel_map.scale_bar(units_per_metre=0.8, map_width=88)  # at most 0.3 × 88 mm = 33 m
        self.assertEqual(bar.metres, 20)
        self.assertAlmostEqual(bar.length, 16.0)
        self.assertEqual(bar.label, "20 m")
        self.assertEqual(parcel_map.scale_bar(0.01, 88).label, "2 km")

    def test_the_drawn_parcel_and_the_scale_bar_share_one_scale_in_the_metric_crs(self):
        srid = place.area_srid()
        lon, lat = 116.85, -1.24
        x, y = geo.reproject(shapely.Point(lon, lat), geo.STORAGE_SRID, srid).coords[0]
        # A 60 m × 30 m rectangle in TM-3 metres: drawn undistorted, 60 m wide on the map's scale.
        metric = shapely.box(x, y, x + 60, y + 30)
        drawn = parcel_map.draw(geo.reproject(metric, srid, geo.STORAGE_SRID), srid=srid, width=88, height=80)
        parcel_path = re.search(r'<path d="([^"]+)" fill="#f5b7b1"', drawn.svg).group(1)
        xs = [float(v) for v in re.findall(r"[ML](-?[\d.]+),", parcel_path)]
        ys = [float(v) for v in re.findall(r",(-?[\d.]+)", parcel_path)]
        self.assertAlmostEqual((max(xs) - min(xs)) / drawn.units_per_metre, 60, delta=0.05)
        self.assertAlmostEqual((max(ys) - min(ys)) / drawn.units_per_metre, 30, delta=0.05)
        bar = re.search(r'class="scale-bar" data-metres="([\d.]+)" data-length="([\d.]+)"', drawn.svg)
        metres, length = float(bar.group(1)), float(bar.group(2))
        self.assertAlmostEqual(length, metres * drawn.units_per_metre, places=3)
        self.assertEqual(metres, parcel_map.round_length(0.3 * 88 / drawn.units_per_metre))
        self.assertEqual(drawn.ratio, round(1000 / drawn.units_per_metre))
        self.assertIn('class="north-arrow"', drawn.svg)
        ticks = [int(v) for v in re.findall(r'fill="#444"[^>]*>(\d+)</text>', drawn.svg)]
        self.assertTrue(ticks)
        self.assertTrue(all(v % 10 == 0 for v in ticks), ticks)  # the TM-3 grid at a round interval
        cx, cy = drawn.centroid_metric
        self.assertAlmostEqual(cx, x + 30, places=3)
        self.assertAlmostEqual(cy, y + 15, places=3)

    def test_true_north_is_turned_by_the_grid_convergence(self):
        # TM-3 zone 50.1 has its central meridian at 115.5°E; south of the equator and east of it, true north leans
        # right of grid north by the convergence atan(tan(Δλ) sin(φ)) with its sign turned (≈ 0.03°).
        angle = parcel_map.north_angle(116.85, -1.24, 23837)
        convergence = math.degrees(math.atan(math.tan(math.radians(116.85 - 115.5)) * math.sin(math.radians(-1.24))))
        self.assertAlmostEqual(angle, -convergence, delta=1e-3)
        self.assertGreater(angle, 0.02)
        self.assertAlmostEqual(parcel_map.north_angle(115.5, -1.24, 23837), 0, places=4)


class CardTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.own = Agency.objects.get(code="1.01.01")
        cls.other = Agency.objects.get(code="1.02.01")
        cls.users = {
            "officer": make_user("officer", permissions.OFFICER, cls.own),
            "other_officer": make_user("other_officer", permissions.OFFICER, cls.other),
            "bpkad": make_user("bpkad", permissions.BPKAD),
            "auditor": make_user("auditor", permissions.AUDITOR),
            "planner": make_user("planner", permissions.PLANNER),
            "norole": make_user("norole", None),
        }
        lon, lat = point_inside("64.71.05.1011")
        cls.asset = make_asset(
            agency=cls.own,
            geom=square(lon, lat, 0.0002),
            nama_barang="Tanah SDN 033 Balikpapan Selatan",
            alamat="Jl. Pattimura No. 114",
            penggunaan="Gedung Sekolah",
            nilai_perolehan=Decimal("1250000000"),
            luas_kib_m2=Decimal("1741.50"),
            tanggal_perolehan=dt.date(2010, 5, 17),
        )
        services.certificate_create(
            asset=cls.asset,
            user=None,
            stage=Stage.SERTIFIKAT_TERBIT,
            tanggal_tahap=dt.date(2020, 3, 2),
            jenis_hak=JenisHak.HP,
            nomor="12388",
            tanggal=dt.date(2020, 3, 2),
            nib="64710100220549",
            atas_nama="Pemerintah Kota Balikpapan",
            luas_sertifikat_m2=Decimal("1704.00"),
        )
        cls.neighbour = make_asset(agency=cls.other, geom=square(lon + 0.0006, lat, 0.0002), nama_barang="Tetangga")
        cls.far = make_asset(agency=cls.other, geom=square(lon + 0.01, lat, 0.0002), nama_barang="Jauh")
        cls.unlocated = make_asset(agency=cls.own, geom=None, nama_barang="Tanah Tanpa Lokasi")
        Document.objects.create(
            asset=cls.asset, doc_type="FOTO_LAPANGAN", file="x.jpg", original_name="x.jpg", sha256="0" * 64,
            size=1, content_type="image/jpeg",
        )  # fmt: skip

    def get(self, who: str | None, asset=None, lang: str = "en", **params):
        if who:
            self.client.force_login(self.users[who])
        url = reverse("asset-card", args=[(asset or self.asset).pk])
        return self.client.get(url, params, HTTP_ACCEPT_LANGUAGE=lang)

    def test_a_typical_asset_prints_on_one_page_with_its_columns_in_words(self):
        response = self.get("bpkad")
        self.assertEqual(response.status_code, 200)
        pages = pdf_pages(response)
        self.assertEqual(len(pages), 1)
        text = flat(pages[0])
        for expected in (
            "KARTU INVENTARIS BARANG A – TANAH",
            "Tanah SDN 033 Balikpapan Selatan",
            "Purchase (pembelian)",  # asal usul: the label, never PEMBELIAN
            "Hak Pakai",  # jenis hak: never HP
            "Certificate issued",  # the stage: never SERTIFIKAT_TERBIT
            "64710100220549",
            "Pemerintah Kota Balikpapan",
            "Rp 1,250,000,000.00",
            "1,741.50",
            "Gedung Sekolah",
            "Kelurahan Damai Baru",
            "Pengurus Barang",
            "1 neighbouring parcel",  # the one 60 m away; the one 1 km away is not drawn
            "Field photo (foto lapangan) — present",
            "missing",
        ):
            self.assertIn(expected, text)
        for code in ("PEMBELIAN", "SERTIFIKAT_TERBIT", "FOTO_LAPANGAN"):
            self.assertNotIn(code, text)
        card = response.context["card"]
        self.assertEqual(card.map.neighbours, 1)
        self.assertEqual([line.number for line in card.kib], list(range(2, 15)))

    def test_numbers_and_dates_are_indonesian_on_an_indonesian_card(self):
        text = flat(pdf_pages(self.get("bpkad", lang="id"))[0])
        for expected in ("Rp 1.250.000.000,00", "1.741,50", "17 Mei 2010", "2 Maret 2020", "Pembelian", "Hak Pakai"):
            self.assertIn(expected, text)

    def test_a_long_name_and_address_and_three_certificates_still_fit_one_page(self):
        lon, lat = point_inside("64.71.02.1001")
        long_one = make_asset(
            agency=self.own,
            geom=square(lon, lat, 0.002),
            nama_barang=("Tanah Kompleks Perkantoran, Gudang Arsip dan Lapangan Upacara Dinas Pendidikan dan "
                         "Kebudayaan Kota Balikpapan beserta Jalan Lingkungan")[:200],
            alamat="Jl. Jenderal Sudirman Kilometer 8 Nomor 1234, Rukun Tetangga 045, Kompleks Perkantoran Terpadu "
                   "Pemerintah Kota, di belakang Gedung Serbaguna, berbatasan dengan Sungai Ampal di sisi timur",
            keterangan="Sebagian lahan dipakai pedagang kaki lima sejak 2015; pernah diukur ulang 2019 dan 2023.",
        )  # fmt: skip
        for n, stage in enumerate((Stage.SERTIFIKAT_TERBIT, Stage.SERTIFIKAT_TERBIT, Stage.PENGUKURAN), start=1):
            issued = stage == Stage.SERTIFIKAT_TERBIT
            services.certificate_create(
                asset=long_one, user=None, stage=stage, tanggal_tahap=dt.date(2021, n, 10),
                jenis_hak=JenisHak.HP if issued else JenisHak.HPL, nomor=f"0{n}234" if issued else "",
                tanggal=dt.date(2021, n, 10) if issued else None, nib=f"6471010022054{n}",
                atas_nama="Pemerintah Kota Balikpapan c.q. Dinas Pendidikan dan Kebudayaan",
                luas_sertifikat_m2=Decimal("15000.00"),
            )  # fmt: skip
        response = self.get("bpkad", asset=long_one)
        pages = pdf_pages(response)
        self.assertEqual(len(pages), 1)
        text = flat(pages[0])
        for expected in ("01234", "02234", "64710100220543", "Survey", "Hak Pengelolaan", "Sungai Ampal di sisi timur"):
            self.assertIn(expected, text)
        self.assertIn("Pengurus Barang", text)  # the signature block made it onto the page

    def test_the_qr_code_is_the_code_of_the_asset_pages_absolute_url(self):
        response = self.get("auditor")
        card = response.context["card"]
        url = "http://testserver" + reverse("asset-detail", args=[self.asset.pk])
        self.assertEqual(card.qr.payload, url)
        # Read the drawn modules back from the SVG and compare them with segno's code of the URL.
        n = card.qr.modules
        drawn = [[False] * n for _ in range(n)]
        for x, y, w in re.findall(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="1"/>', card.qr.svg):
            for i in range(int(w)):
                drawn[int(y) - qr.QUIET_ZONE][int(x) - qr.QUIET_ZONE + i] = True
        expected = [[bool(v) for v in row] for row in segno.make(url, error="m", micro=False).matrix]
        self.assertEqual(drawn, expected)
        other = [[bool(v) for v in row] for row in segno.make(url + "x", error="m", micro=False).matrix]
        self.assertNotEqual(drawn, other)

    def test_whoever_may_open_the_asset_page_may_print_its_card(self):
        for who in ("officer", "other_officer", "bpkad", "auditor", "planner", "norole"):
            with self.subTest(who=who):
                self.client.force_login(self.users[who])
                page = self.client.get(reverse("asset-detail", args=[self.asset.pk]))
                card = self.client.get(reverse("asset-card", args=[self.asset.pk]))
                self.assertEqual(card.status_code, page.status_code)
                self.assertEqual(card.status_code, 403 if who == "norole" else 200)
                if page.status_code == 200:
                    self.assertContains(page, reverse("asset-card", args=[self.asset.pk]))
        self.client.logout()
        response = self.client.get(reverse("asset-card", args=[self.asset.pk]))
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith("/accounts/login/"))

    def test_the_checklist_is_shown_to_those_who_may_see_the_documents(self):
        for who, shown in (("officer", True), ("auditor", True), ("other_officer", False), ("planner", False)):
            with self.subTest(who=who):
                text = flat(pdf_pages(self.get(who))[0])
                self.assertEqual("Field photo (foto lapangan) — present" in text, shown)
                self.assertEqual("shown only to its agency" in text, not shown)

    def test_an_asset_without_geometry_prints_without_a_map(self):
        response = self.get("officer", asset=self.unlocated)
        pages = pdf_pages(response)
        self.assertEqual(len(pages), 1)
        self.assertIn("No location recorded", flat(pages[0]))
        self.assertIsNone(response.context["card"].map)

    def test_a_removed_asset_says_so(self):
        services.asset_remove(asset=self.neighbour, user=None, sk_nomor="188.45/77/2026", tanggal=dt.date(2026, 1, 5))
        text = flat(pdf_pages(self.get("bpkad", asset=self.neighbour))[0])
        self.assertIn("REMOVED FROM THE REGISTER", text)
        self.assertIn("188.45/77/2026", text)
        # ... and it is no longer drawn as the first asset's neighbour
        self.assertEqual(self.get("bpkad").context["card"].map.neighbours, 0)

    def test_as_of_a_date_reads_the_register_then(self):
        today = timezone.localdate()
        response = self.get("bpkad", as_of=today.isoformat())
        self.assertEqual(response.status_code, 200)
        text = flat(pdf_pages(response)[0])
        self.assertIn("The register as it stood at the end of", text)
        self.assertIn("Tanah SDN 033 Balikpapan Selatan", text)
        self.assertEqual(self.get("bpkad", as_of="2000-01-01").status_code, 404)  # not in the register yet
        bad = self.get("bpkad", as_of="kemarin")
        self.assertEqual(bad.status_code, 400)
        self.assertContains(bad, "as_of must be a date", status_code=400)

    def test_as_of_a_date_prints_the_asset_as_it_stood_then(self):
        then = timezone.localdate() - dt.timedelta(days=10)
        asset = make_asset(agency=self.own, geom=None, nama_barang="Tanah Lama", asal_usul="HIBAH")
        record = asset.history.get()
        record.history_date = timezone.make_aware(dt.datetime.combine(then, dt.time(12)))
        record.save()
        services.asset_update(asset=asset, user=None, data={"nama_barang": "Tanah Baru"})
        services.certificate_create(asset=asset, user=None, jenis_hak=JenisHak.HM, nomor="777")  # only today
        earlier = (then + dt.timedelta(days=5)).isoformat()
        old = self.get("bpkad", asset=asset, as_of=earlier)
        self.assertEqual(old.status_code, 200)
        text = flat(pdf_pages(old)[0])
        self.assertIn("Tanah Lama", text)
        self.assertNotIn("Tanah Baru", text)
        self.assertNotIn("777", text)
        self.assertIn("Grant (hibah)", text)
        self.assertIn("Grant decree (SK hibah) — missing", text)  # the grant's checklist lines, as of that day: missing
        live = flat(pdf_pages(self.get("bpkad", asset=asset))[0])
        self.assertIn("Tanah Baru", live)
        self.assertIn("777", live)

    def test_an_unknown_asset_is_404(self):
        self.client.force_login(self.users["bpkad"])
        self.assertEqual(self.client.get(reverse("asset-card", args=[987654])).status_code, 404)
