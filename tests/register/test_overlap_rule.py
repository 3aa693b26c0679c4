"""Saving a parcel that overlaps others (assets.register.overlaps): refused for an officer, saved by BPKAD with a
reason that the history and the activity log keep; and the honest 403 naming whose asset it is."""

from __future__ import annotations

import shapely
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse

from assets.audit.activity import LogFilter, activity_log
from assets.models import Agency, LandAsset, User
from assets.register import geo, permissions, services
from assets.register.overlaps import REASON_PREFIX, find_overlaps
from tests.factories import load_reference, make_asset, make_user, point_inside, square


class OverlapRuleTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.own = Agency.objects.get(code="1.01.01")
        cls.other = Agency.objects.get(code="1.02.01")
        cls.officer = make_user("officer", permissions.OFFICER, cls.own)
        cls.bpkad = make_user("bpkad", permissions.BPKAD)
        cls.lon, cls.lat = point_inside("64.71.03.1003")
        cls.neighbour = make_asset(agency=cls.other, geom=square(cls.lon + 0.0004, cls.lat, 0.0002))

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def form_data(self, geom, **changes) -> dict:
        data = {
            "kode_barang": "1.3.1.01.01.02.001",
            "nomor_register": "77",
            "nama_barang": "Tanah SD 077",
            "agency": self.own.pk,
            "tahun_perolehan": 2015,
            "asal_usul": "HIBAH",
            "nilai_perolehan": 500000000,
            "luas_kib_m2": 2500,
            "plotting_status": "unknown",
            "geom": geom.json,
        }
        data.update(changes)
        return data

    def overlapping(self):
        return square(self.lon + 0.0002, self.lat, 0.0002)  # half over the neighbour

    def test_the_shared_area_is_found_once_for_the_form_and_the_check(self):
        [overlap] = find_overlaps(self.overlapping())
        self.assertEqual(overlap.id, self.neighbour.pk)
        shared = shapely.intersection(geo.to_shapely(self.overlapping()), geo.to_shapely(self.neighbour.geom))
        self.assertAlmostEqual(overlap.area_m2, geo.geodesic_areas_m2([shared])[0], delta=0.01)

    def test_an_officer_cannot_save_an_overlap(self):
        self.client.force_login(self.officer)
        response = self.client.post(reverse("asset-create"), self.form_data(self.overlapping()))
        self.assertEqual(response.status_code, 200)
        errors = " ".join(response.context["form"].errors["geom"])
        self.assertIn(str(self.neighbour), errors)
        self.assertIn("m²", errors)
        self.assertIn("ask BPKAD", errors)
        self.assertNotIn("overlap_reason", response.context["form"].fields)  # an officer is not offered a reason
        self.assertFalse(LandAsset.objects.filter(nama_barang="Tanah SD 077").exists())

    def test_an_officer_saves_a_parcel_that_only_touches(self):
        self.client.force_login(self.officer)
        touching = square(self.lon, self.lat, 0.0002)
        response = self.client.post(reverse("asset-create"), self.form_data(touching))
        self.assertEqual(response.status_code, 302, response.context and response.context["form"].errors)

    def test_bpkad_must_give_a_reason_and_it_is_recorded(self):
        self.client.force_login(self.bpkad)
        response = self.client.post(reverse("asset-create"), self.form_data(self.overlapping()))
        self.assertEqual(response.status_code, 200)
        self.assertIn(str(self.neighbour), " ".join(response.context["form"].errors["overlap_reason"]))
        self.assertContains(response, 'name="overlap_reason"')
        reason = "Sengketa dengan warga, perkara 12/Pdt.G/2025/PN Bpp"
        response = self.client.post(reverse("asset-create"), self.form_data(self.overlapping(), overlap_reason=reason))
        asset = LandAsset.objects.get(nama_barang="Tanah SD 077")
        self.assertRedirects(response, reverse("asset-detail", args=[asset.pk]))
        record = asset.history.latest()
        self.assertEqual(record.history_change_reason, REASON_PREFIX + reason)
        self.assertEqual(record.history_user, self.bpkad)
        [activity] = [a for a in activity_log(LogFilter(asset_id=asset.pk)) if a.kind == "asset"]
        self.assertEqual(activity.note, REASON_PREFIX + reason)
        self.assertContains(self.client.get(reverse("audit-log"), {"asset": asset.pk}), reason)

    def test_a_reason_too_long_for_the_history_is_refused(self):
        with self.assertRaises(ValidationError) as caught:
            services.asset_create(
                user=self.bpkad, geom=self.overlapping(), overlap_reason="x" * 90, **self.service_fields()
            )
        self.assertIn("at most 84", str(caught.exception))

    def service_fields(self) -> dict:
        return {
            "kode_barang": "1.3.1.01.01.02.001",
            "nomor_register": "78",
            "nama_barang": "Tanah SD 078",
            "agency": self.own,
            "tahun_perolehan": 2015,
            "asal_usul": "HIBAH",
            "nilai_perolehan": 500000000,
            "luas_kib_m2": 2500,
        }

    def test_the_service_applies_the_rule_to_every_entry_point(self):
        with self.assertRaises(ValidationError) as caught:
            services.asset_create(user=self.officer, geom=self.overlapping(), **self.service_fields())
        self.assertIn("geom", caught.exception.error_dict)
        asset = services.asset_create(user=None, geom=self.overlapping(), **self.service_fields())  # a system write
        self.assertIsNotNone(asset.pk)

    def test_editing_a_parcel_that_already_overlaps_is_not_blocked(self):
        asset = make_asset(agency=self.own, geom=self.overlapping(), nama_barang="Tanah lama")  # imported as such
        services.asset_update(asset=asset, user=self.officer, data={"nama_barang": "Tanah lama (ganti nama)"})
        # the officer sends the same geometry back, as the form does
        services.asset_update(asset=asset, user=self.officer, data={}, geom=asset.geom)
        # shrinking the overlap is allowed; growing it is not
        smaller = square(self.lon + 0.0001, self.lat, 0.0002)
        services.asset_update(asset=asset, user=self.officer, data={}, geom=smaller)
        with self.assertRaises(ValidationError):
            services.asset_update(
                asset=asset, user=self.officer, data={}, geom=square(self.lon + 0.0003, self.lat, 0.0002)
            )

    def test_the_edit_form_leaves_the_asset_itself_out(self):
        asset = make_asset(agency=self.own, geom=square(self.lon - 0.001, self.lat, 0.0002))
        self.client.force_login(self.officer)
        moved = square(self.lon - 0.00099, self.lat, 0.0002)  # overlaps only its own old outline
        data = self.form_data(moved, kode_barang=asset.kode_barang, nomor_register=asset.nomor_register,
                              loaded_version=asset.version)  # fmt: skip
        response = self.client.post(reverse("asset-update", args=[asset.pk]), data)
        self.assertEqual(response.status_code, 302)

    def test_the_admin_asks_for_the_reason_on_its_form(self):
        admin = User.objects.create_superuser("root", password="pw-root")
        self.client.force_login(admin)
        data = {**self.form_data(self.overlapping()), "certificates-TOTAL_FORMS": 0, "certificates-INITIAL_FORMS": 0}
        data["plotting_status"] = "located"  # the admin validates the model on its form
        response = self.client.post(reverse("admin:assets_landasset_add"), data)
        self.assertEqual(response.status_code, 200)
        self.assertIn("overlap_reason", response.context["adminform"].form.errors)
        data["overlap_reason"] = "Sengketa batas"
        response = self.client.post(reverse("admin:assets_landasset_add"), data)
        self.assertEqual(response.status_code, 302)
        asset = LandAsset.objects.get(nama_barang="Tanah SD 077")
        self.assertEqual(asset.history.latest().history_change_reason, REASON_PREFIX + "Sengketa batas")


class HonestForbiddenTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.own = Agency.objects.get(code="1.01.01")
        cls.other = Agency.objects.get(code="1.02.01")
        cls.officer = make_user("officer", permissions.OFFICER, cls.own)
        cls.asset = make_asset(agency=cls.other)
        cls.certificate = services.certificate_create(asset=cls.asset, user=None)

    def test_every_page_that_changes_another_agencys_asset_names_its_agency(self):
        self.client.force_login(self.officer)
        pages = [
            reverse("asset-update", args=[self.asset.pk]),
            reverse("certificate-create", args=[self.asset.pk]),
            reverse("certificate-stage", args=[self.certificate.pk]),
            reverse("asset-remove", args=[self.asset.pk]),
        ]
        for url in pages:
            for language, expected in (
                ("en", f"This asset belongs to {self.other.name}"),
                ("id", f"Aset ini milik {self.other.name}"),
            ):
                with self.subTest(url=url, language=language):
                    for response in (
                        self.client.get(url, HTTP_ACCEPT_LANGUAGE=language),
                        self.client.post(url, {}, HTTP_ACCEPT_LANGUAGE=language),
                    ):
                        self.assertContains(response, expected, status_code=403)
                        self.assertNotContains(response, "does not have the role", status_code=403)
                        self.assertNotContains(response, "tidak memiliki peran", status_code=403)

    def test_a_missing_role_still_says_so(self):
        self.client.force_login(make_user("norole", None))
        response = self.client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(response, "Your role does not allow this.", status_code=403)

    def test_the_service_names_the_agency_too(self):
        from django.core.exceptions import PermissionDenied

        with self.assertRaisesMessage(PermissionDenied, f"This asset belongs to {self.other.name}"):
            services.asset_update(asset=self.asset, user=self.officer, data={"nama_barang": "x"})
