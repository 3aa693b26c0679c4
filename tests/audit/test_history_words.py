"""The change history shows words, not codes: choice labels, numbers in the language's format
(assets/audit/activity.py, on the asset page and in the activity log)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import TestCase
from django.urls import reverse
from django.utils import translation

from assets.audit import activity
from assets.models import Agency, AsalUsul
from assets.register import permissions, services
from tests.factories import load_reference, make_asset, make_user


class HistoryWordsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.user = make_user("bpkad", permissions.BPKAD)
        cls.asset = make_asset(
            agency=Agency.objects.order_by("code").first(),
            geom=None,
            asal_usul=AsalUsul.PEMBELIAN,
            luas_kib_m2=Decimal("1234.50"),
        )
        services.asset_update(
            asset=cls.asset,
            user=cls.user,
            data={"asal_usul": AsalUsul.HIBAH, "luas_kib_m2": Decimal("2345.75")},
        )
        certificate = services.certificate_create(asset=cls.asset, user=cls.user)
        certificate.jenis_hak, certificate.nomor, certificate.tanggal = "HP", "00042", dt.date(2020, 1, 2)
        certificate.stage = "SERTIFIKAT_TERBIT"
        services.certificate_save(certificate=certificate, user=cls.user)

    def changes(self) -> list[tuple[str, str, str]]:
        entries = activity.activity_log(activity.LogFilter.from_params({"asset": str(self.asset.pk)}))
        return [change for entry in entries for change in entry.changes]

    def test_choices_related_objects_and_numbers_are_shown_as_people_read_them(self):
        with translation.override("en"):
            shown = {field: (before, after) for field, before, after in self.changes()}
        values = [v for pair in shown.values() for v in pair]
        for code in ("HP", "PEMBELIAN", "HIBAH", "SERTIFIKAT_TERBIT"):
            self.assertNotIn(code, values)
        self.assertIn(("Purchase (pembelian)", "Grant (hibah)"), shown.values())
        self.assertIn(("1,234.50", "2,345.75"), shown.values())
        self.assertIn("Hak Pakai", values)

    def test_the_asset_page_shows_the_words_in_indonesian(self):
        self.client.force_login(self.user)
        self.client.cookies["django_language"] = "id"
        page = self.client.get(reverse("asset-detail", args=[self.asset.pk])).content.decode()
        self.assertIn("1.234,50", page)
        self.assertIn("Hak Pakai", page)
        self.assertNotIn(">HP<", page)
        self.assertNotIn(">SERTIFIKAT_TERBIT<", page)

    def test_the_activity_log_csv_writes_words(self):
        self.client.force_login(self.user)
        self.client.cookies["django_language"] = "en"
        response = self.client.get(reverse("audit-log"), {"asset": self.asset.pk, "format": "csv"})
        rows = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[1:]
        kinds = {row.split(",")[1] for row in rows}
        self.assertLessEqual(kinds, {"Assets", "Certificates", "Stage changes", "Documents"})
        self.assertIn("Assets", kinds)
        text = "\n".join(rows)
        self.assertIn("Purchase (pembelian)", text)
        self.assertNotIn("PEMBELIAN", text)
