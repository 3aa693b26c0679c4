"""assets.lib.formats: the active language's separators, and rounding (half up) rather than cutting digits off."""

from __future__ import annotations

from decimal import Decimal

from django.test import SimpleTestCase
from django.utils import translation

from assets.lib import formats


class FormatsTests(SimpleTestCase):
    def test_separators_follow_the_language(self):
        with translation.override("id"):
            self.assertEqual(formats.number(Decimal("149433"), 2), "149.433,00")
            self.assertEqual(formats.rupiah(1234567), "Rp 1.234.567")
        with translation.override("en"):
            self.assertEqual(formats.number(Decimal("149433"), 2), "149,433.00")
            self.assertEqual(formats.m2(Decimal("1234.5")), "1,234.50 m²")

    def test_numbers_are_rounded_not_cut(self):
        with translation.override("en"):
            self.assertEqual(formats.percent(2 / 3), "66.7%")
            self.assertEqual(formats.number(Decimal("1.995"), 2), "2.00")
            self.assertEqual(formats.number(Decimal("2.5")), "3")
            self.assertEqual(formats.number(Decimal("-2.5")), "-3")
            self.assertEqual(formats.rupiah(Decimal("999.5")), "Rp 1,000")
        with translation.override("id"):
            self.assertEqual(formats.percent(2 / 3), "66,7%")

    def test_rupiah_many_writes_what_rupiah_writes(self):
        values = [0, 7, 999, 1000, Decimal("999.5"), Decimal("1234567.49"), Decimal("-2.5"), -1234567, 10**15,
                  Decimal("3000000"), 2.5, "1500", None, "", "x", True]  # fmt: skip
        for language in ("id", "en"):
            with translation.override(language):
                one = formats.rupiah_many()
                self.assertEqual([one(v) for v in values], [formats.rupiah(v) for v in values], language)
        with translation.override("id"):
            self.assertEqual(formats.rupiah_many()(Decimal("2000000")), "Rp 2.000.000")
