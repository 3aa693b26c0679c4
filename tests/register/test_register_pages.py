"""What each role may see and change on the register pages."""

from __future__ import annotations

from django.test import TestCase
from django.urls import reverse

from assets.models import Agency, Certificate, LandAsset
from assets.register import permissions
from tests.factories import load_reference, make_asset, make_user, point_inside, square

XSS = "<img src=x onerror=alert(1)>"


class RegisterAccessTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.own = Agency.objects.get(code="1.01.01")
        cls.other = Agency.objects.get(code="1.02.01")
        cls.users = {
            "officer": make_user("officer", permissions.OFFICER, cls.own),
            "bpkad": make_user("bpkad", permissions.BPKAD),
            "auditor": make_user("auditor", permissions.AUDITOR),
            "planner": make_user("planner", permissions.PLANNER),
            "admin": make_user("admin", permissions.ADMIN),
            "norole": make_user("norole", None),
        }
        cls.own_asset = make_asset(agency=cls.own, geom=square(116.83, -1.25), nama_barang="Tanah SDN 001")
        cls.other_asset = make_asset(agency=cls.other, geom=None, nama_barang="Tanah Puskesmas")

    def setUp(self):
        # Assertions below read messages in English; the default language is tested on its own.
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def get(self, who: str | None, name: str, **kwargs):
        if who:
            self.client.force_login(self.users[who])
        return self.client.get(reverse(name, kwargs=kwargs or None))

    def test_anonymous_sees_only_the_login_page(self):
        for name, kwargs in [
            ("home", {}),
            ("asset-list", {}),
            ("asset-detail", {"pk": self.own_asset.pk}),
            ("asset-create", {}),
        ]:
            response = self.get(None, name, **kwargs)
            self.assertEqual(response.status_code, 302, name)
            self.assertTrue(response["Location"].startswith("/accounts/login/"), name)
        self.assertEqual(self.client.get("/accounts/login/").status_code, 200)

    def test_every_role_reads_the_register_and_a_user_without_role_does_not(self):
        for who in ("officer", "bpkad", "auditor", "planner", "admin"):
            with self.subTest(who=who):
                self.assertEqual(self.get(who, "home").status_code, 200)
                response = self.get(who, "asset-list")
                self.assertContains(response, "Tanah SDN 001")
                self.assertContains(response, "Tanah Puskesmas")
                self.assertEqual(self.get(who, "asset-detail", pk=self.other_asset.pk).status_code, 200)
        self.assertEqual(self.get("norole", "home").status_code, 403)
        self.assertEqual(self.get("norole", "asset-list").status_code, 403)

    def test_who_may_open_the_create_and_edit_forms(self):
        expected = {
            "officer": (200, 200, 403),
            "bpkad": (200, 200, 200),
            "admin": (200, 200, 200),
            "auditor": (403, 403, 403),
            "planner": (403, 403, 403),
            "norole": (403, 403, 403),
        }
        for who, (create, edit_own, edit_other) in expected.items():
            with self.subTest(who=who):
                self.assertEqual(self.get(who, "asset-create").status_code, create)
                self.assertEqual(self.get(who, "asset-update", pk=self.own_asset.pk).status_code, edit_own)
                self.assertEqual(self.get(who, "asset-update", pk=self.other_asset.pk).status_code, edit_other)
                self.assertEqual(self.get(who, "certificate-create", pk=self.other_asset.pk).status_code, edit_other)

    def form_data(self, asset: LandAsset, **changes) -> dict:
        data = {
            "kode_barang": asset.kode_barang,
            "nomor_register": asset.nomor_register,
            "nibar": asset.nibar or "",
            "nama_barang": asset.nama_barang,
            "alamat": asset.alamat,
            "agency": asset.agency_id,
            "tanggal_perolehan": asset.tanggal_perolehan.isoformat() if asset.tanggal_perolehan else "",
            "tahun_perolehan": asset.tahun_perolehan,
            "asal_usul": asset.asal_usul,
            "nilai_perolehan": asset.nilai_perolehan,
            "penggunaan": asset.penggunaan,
            "luas_kib_m2": asset.luas_kib_m2,
            "keterangan": asset.keterangan,
            "plotting_status": asset.plotting_status,
            "geom": asset.geom.ewkt if asset.geom else "",
        }
        if asset.pk:
            data["loaded_version"] = asset.version
        data.update(changes)
        return data

    def test_officer_edits_own_asset_and_cannot_move_it_to_another_agency(self):
        self.client.force_login(self.users["officer"])
        url = reverse("asset-update", kwargs={"pk": self.own_asset.pk})
        response = self.client.post(url, self.form_data(self.own_asset, nama_barang="Tanah SDN 001 Baru"))
        self.assertRedirects(response, reverse("asset-detail", kwargs={"pk": self.own_asset.pk}))
        self.own_asset.refresh_from_db()
        self.assertEqual(self.own_asset.nama_barang, "Tanah SDN 001 Baru")
        self.assertEqual(self.own_asset.version, 2)

        # the agency field of an existing asset is disabled (it changes only through an approved transfer,
        # assets.ledger): a posted agency is ignored
        self.client.post(url, self.form_data(self.own_asset, agency=self.other.pk))
        self.own_asset.refresh_from_db()
        self.assertEqual(self.own_asset.agency, self.own)

        other_url = reverse("asset-update", kwargs={"pk": self.other_asset.pk})
        self.assertEqual(self.client.post(other_url, self.form_data(self.other_asset)).status_code, 403)

    def test_create_with_a_drawn_geometry_derives_area_and_kelurahan(self):
        self.client.force_login(self.users["officer"])
        lon, lat = point_inside("64.71.03.1003")
        template = LandAsset(
            kode_barang="1.3.1.01.01.02.001",
            nomor_register="7",
            nama_barang="Tanah SMP 9",
            agency=self.own,
            tahun_perolehan=2015,
            asal_usul="HIBAH",
            nilai_perolehan=500000000,
            luas_kib_m2=2500,
            plotting_status="unknown",
            geom=None,
        )
        drawn = square(lon, lat, 0.0002)  # the widget posts GeoJSON in lon/lat, without an SRID (it was read as 3857)
        response = self.client.post(reverse("asset-create"), self.form_data(template, geom=drawn.json))
        asset = LandAsset.objects.get(kode_barang="1.3.1.01.01.02.001")
        self.assertRedirects(response, reverse("asset-detail", kwargs={"pk": asset.pk}))
        self.assertEqual(asset.nomor_register, "0007")
        self.assertEqual(asset.kelurahan.code, "64.71.03.1003")
        self.assertEqual(asset.plotting_status, "located")
        self.assertGreater(asset.luas_gis_m2, 1500)

    def test_invalid_geometry_and_bad_codes_are_shown_on_the_form_and_nothing_is_saved(self):
        self.client.force_login(self.users["bpkad"])
        before = LandAsset.objects.count()
        bowtie = "SRID=4326;POLYGON((116.85 -1.25, 116.86 -1.24, 116.86 -1.25, 116.85 -1.24, 116.85 -1.25))"
        data = self.form_data(self.own_asset, nomor_register="99", geom=bowtie)
        response = self.client.post(reverse("asset-create"), data)
        self.assertContains(response, "Self-intersection")
        data = self.form_data(self.own_asset, nomor_register="99", kode_barang="1.3.2.01.01.01.001", geom="")
        response = self.client.post(reverse("asset-create"), data)
        self.assertContains(response, "is not a land code")
        data = self.form_data(self.own_asset, geom="")  # same kode barang and register as an existing asset
        response = self.client.post(reverse("asset-create"), data)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].errors)
        self.assertEqual(LandAsset.objects.count(), before)

    def test_certificate_and_stage_change_through_the_pages(self):
        self.client.force_login(self.users["officer"])
        url = reverse("certificate-create", kwargs={"pk": self.own_asset.pk})
        response = self.client.post(
            url,
            {
                "stage": "PERSIAPAN_BERKAS",
                "atas_nama": "Pemerintah Kota Balikpapan",
                "tanggal_tahap": "2025-01-06",
                "nomor_dokumen": "ND-7",
            },
        )
        self.assertRedirects(response, reverse("asset-detail", kwargs={"pk": self.own_asset.pk}))
        cert = Certificate.objects.get(asset=self.own_asset)
        self.assertEqual(cert.stage_since.isoformat(), "2025-01-06")
        self.assertEqual(cert.events.get().nomor_dokumen, "ND-7")
        response = self.client.post(
            reverse("certificate-stage", kwargs={"pk": cert.pk}),
            {"to_stage": "DIAJUKAN_KE_BPN", "tanggal": cert.stage_since.isoformat(), "nomor_dokumen": "BRK-1"},
        )
        self.assertRedirects(response, reverse("asset-detail", kwargs={"pk": self.own_asset.pk}))
        cert.refresh_from_db()
        self.assertEqual(cert.stage, "DIAJUKAN_KE_BPN")
        detail = self.client.get(reverse("asset-detail", kwargs={"pk": self.own_asset.pk}))
        self.assertContains(detail, "BRK-1")

        self.client.force_login(self.users["auditor"])
        response = self.client.post(
            reverse("certificate-stage", kwargs={"pk": cert.pk}),
            {"to_stage": "PENGUKURAN", "tanggal": cert.stage_since.isoformat()},
        )
        self.assertEqual(response.status_code, 403)

    def test_filters_narrow_the_list(self):
        self.client.force_login(self.users["auditor"])
        response = self.client.get(reverse("asset-list"), {"agency": self.other.code})
        self.assertNotContains(response, "Tanah SDN 001")
        self.assertContains(response, "Tanah Puskesmas")
        response = self.client.get(reverse("asset-list"), {"q": "SDN"})
        self.assertContains(response, "Tanah SDN 001")
        self.assertNotContains(response, "Tanah Puskesmas")
        response = self.client.get(reverse("asset-list"), {"plotting": "unknown"})
        self.assertEqual([a.pk for a in response.context["page"]], [self.other_asset.pk])

    def test_indonesian_is_the_default_and_english_is_available(self):
        self.client.force_login(self.users["planner"])
        del self.client.defaults["HTTP_ACCEPT_LANGUAGE"]
        response = self.client.get(reverse("home"))
        self.assertContains(response, '<html lang="id">')
        self.assertContains(response, "Beranda")
        response = self.client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(response, '<html lang="en">')
        self.assertContains(response, "Home")

    def test_names_are_escaped_on_every_page(self):
        asset = make_asset(agency=self.own, geom=None, nama_barang=XSS)
        self.client.force_login(self.users["bpkad"])
        for url in (
            reverse("asset-list"),
            reverse("asset-detail", kwargs={"pk": asset.pk}),
            reverse("asset-update", kwargs={"pk": asset.pk}),
        ):
            response = self.client.get(url)
            self.assertNotContains(response, XSS)
            self.assertContains(response, "&lt;img src=x onerror=alert(1)&gt;")
