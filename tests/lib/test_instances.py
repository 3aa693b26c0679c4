"""lib.instances.new_instance builds the instance Model(**values) builds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import SimpleTestCase

from assets.lib.instances import new_instance
from assets.models import Certificate, LandAsset


def _state(obj) -> dict:
    return {k: v for k, v in obj.__dict__.items() if k != "_state"}


class NewInstanceTests(SimpleTestCase):
    def test_the_same_attributes_as_keywords(self):
        values = {"kode_barang": "1.3.1.01.01.01.001", "nomor_register": "0001", "nama_barang": "Tanah",
                  "agency_id": 3, "tahun_perolehan": 2001, "nilai_perolehan": Decimal(5), "nibar": None,
                  "tanggal_perolehan": dt.date(2001, 2, 3)}  # fmt: skip
        built, reference = new_instance(LandAsset, values), LandAsset(**values)
        self.assertEqual(_state(built), _state(reference))
        self.assertTrue(built._state.adding)
        self.assertIsNone(built.pk)
        self.assertEqual(built.plotting_status, LandAsset._meta.get_field("plotting_status").default)
        certificate = {"nomor": "12", "stage": "sertifikat_terbit", "stage_since": dt.date(2020, 1, 1)}
        self.assertEqual(_state(new_instance(Certificate, certificate)), _state(Certificate(**certificate)))

    def test_other_keywords_take_djangos_path(self):
        with self.assertRaises(TypeError):  # an unknown keyword: refused as Model.__init__ refuses it
            new_instance(LandAsset, {"no_such_field": 1})
        self.assertEqual(new_instance(LandAsset, {"agency": None}).agency_id, None)
