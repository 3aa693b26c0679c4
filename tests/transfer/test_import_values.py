"""The fast paths of the cell readers give what their general paths give."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import SimpleTestCase

from assets.transfer.importing.values import ValueRefused, date_of, decimal_of, text_of


class FastPathTests(SimpleTestCase):
    def test_iso_dates(self):
        self.assertEqual(date_of("2005-03-07"), dt.date(2005, 3, 7))
        self.assertEqual(date_of(" 2005-3-7 "), dt.date(2005, 3, 7))  # not the fast path's shape: strptime's
        self.assertEqual(date_of("２００５-03-07"), dt.date(2005, 3, 7))  # other digits: strptime reads them
        for refused in ("2005-02-30", "2005-13-01", "0000-01-01", "2005-W10-1"):
            with self.subTest(refused), self.assertRaises(ValueRefused):
                date_of(refused)

    def test_text_and_numbers(self):
        self.assertEqual(text_of("  '=1+1 "), "=1+1")  # our CSV's apostrophe before a formula-like text
        self.assertEqual(text_of("'abc"), "'abc")
        self.assertEqual(text_of(12.0), "12")
        self.assertEqual(decimal_of(1250000, "x"), Decimal("1250000"))
        self.assertEqual(decimal_of(-5, "x"), Decimal(-5))
        with self.assertRaises(ValueRefused):  # a boolean is not an int here: refused as before
            decimal_of(True, "x")
        self.assertEqual(decimal_of("Rp. 1.250.000,-", "x"), Decimal(1250000))
        self.assertEqual(decimal_of("1.250,5 m²", "x"), Decimal("1250.5"))
