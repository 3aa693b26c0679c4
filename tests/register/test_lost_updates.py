"""No lost updates: a save made from a stale version of an asset is refused (form, admin and service)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse

from assets.models import Agency, LandAsset
from assets.register import permissions, services
from tests.factories import load_reference, make_asset, make_user


class LostUpdateTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.officer = make_user("officer", permissions.OFFICER, cls.agency)
        cls.colleague = make_user("colleague", permissions.OFFICER, cls.agency)
        cls.admin = make_user("admin", permissions.ADMIN)
        cls.admin.is_staff = cls.admin.is_superuser = True
        cls.admin.save()
        cls.asset = make_asset(agency=cls.agency, geom=None, nama_barang="Tanah Awal", keterangan="")

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def form_data(self, **changes) -> dict:
        asset = LandAsset.objects.get(pk=self.asset.pk)
        data = {name: getattr(asset, name) for name in services.ASSET_FIELDS if name not in ("agency", "nibar")}
        data.update(agency=asset.agency_id, nibar=asset.nibar or "", geom="")
        data["tanggal_perolehan"] = asset.tanggal_perolehan.isoformat()
        data.update(changes)
        return data

    def test_service_refuses_a_stale_expected_version(self):
        loaded = LandAsset.objects.get(pk=self.asset.pk).version
        services.asset_update(
            asset=LandAsset.objects.get(pk=self.asset.pk),
            user=self.officer,
            data={"nama_barang": "Satu"},
            expected_version=loaded,
        )
        with self.assertRaises(ValidationError) as ctx:
            services.asset_update(
                asset=LandAsset.objects.get(pk=self.asset.pk),
                user=self.colleague,
                data={"nama_barang": "Dua"},
                expected_version=loaded,
            )
        self.assertEqual(ctx.exception.code, "stale_version")
        self.assertIn("changed by someone else", ctx.exception.messages[0])
        stored = LandAsset.objects.get(pk=self.asset.pk)
        self.assertEqual((stored.nama_barang, stored.version), ("Satu", loaded + 1))

    def test_second_edit_from_the_same_loaded_form_is_refused_and_keeps_the_input(self):
        url = reverse("asset-update", kwargs={"pk": self.asset.pk})
        self.client.force_login(self.officer)
        page = self.client.get(url)
        loaded = page.context["form"]["loaded_version"].value()
        self.assertEqual(loaded, self.asset.version)
        self.assertContains(page, 'name="loaded_version"')
        first = self.form_data(nama_barang="Diubah Pertama", loaded_version=loaded)
        second = self.form_data(nama_barang="Diubah Kedua", keterangan="catatan kedua", loaded_version=loaded)

        self.assertRedirects(self.client.post(url, first), reverse("asset-detail", kwargs={"pk": self.asset.pk}))
        self.client.force_login(self.colleague)
        response = self.client.post(url, second)

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "changed by someone else after you opened it")
        self.assertContains(response, "Diubah Kedua")  # the user's input is still on the page
        self.assertContains(response, "catatan kedua")
        stored = LandAsset.objects.get(pk=self.asset.pk)
        self.assertEqual(stored.nama_barang, "Diubah Pertama")
        self.assertEqual(stored.keterangan, "")
        self.assertEqual(stored.version, loaded + 1)

    def test_admin_change_form_refuses_a_stale_version(self):
        self.client.force_login(self.admin)
        url = reverse("admin:assets_landasset_change", args=[self.asset.pk])
        page = self.client.get(url)
        self.assertContains(page, 'name="loaded_version"')
        data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
        services.asset_update(asset=LandAsset.objects.get(pk=self.asset.pk), user=None, data={"nama_barang": "Lain"})
        data.update(self.form_data(nama_barang="Dari Admin", loaded_version=self.asset.version))
        data.update({"certificates-TOTAL_FORMS": 0, "certificates-INITIAL_FORMS": 0})
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "changed by someone else after you opened it")
        self.assertEqual(LandAsset.objects.get(pk=self.asset.pk).nama_barang, "Lain")

    def test_a_save_without_the_loaded_version_is_refused_on_the_page_and_in_the_admin(self):
        # Without the hidden field the check was skipped: a stale form overwrote what was saved meanwhile.
        self.client.force_login(self.officer)
        url = reverse("asset-update", kwargs={"pk": self.asset.pk})
        response = self.client.post(url, self.form_data(nama_barang="Tanpa Versi"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "came without the version of the asset it was loaded with")
        self.client.force_login(self.admin)
        url = reverse("admin:assets_landasset_change", args=[self.asset.pk])
        data = {
            **self.form_data(nama_barang="Tanpa Versi"),
            "certificates-TOTAL_FORMS": 0,
            "certificates-INITIAL_FORMS": 0,
        }
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "came without the version of the asset it was loaded with")
        self.assertEqual(LandAsset.objects.get(pk=self.asset.pk).nama_barang, "Tanah Awal")
