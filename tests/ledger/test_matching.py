"""The matcher on crafted rows: the order of the keys, the categories, the scores of likely pairs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import SimpleTestCase

from assets.ledger.matching import Record, differences, match, normal_address, score


def rec(id, **fields):
    base = {"kode_barang": "1.3.1.01.01.01.001", "agency": 1, "tahun_perolehan": 2010, "alamat": "Jl. Merdeka No. 5",
            "nilai_perolehan": Decimal(1_000_000), "luas_kib_m2": Decimal(500)}  # fmt: skip
    base.update(fields)
    return Record(id=id, **base)


class MatchTests(SimpleTestCase):
    def test_nibar_before_kode_register(self):
        official = [rec(1, nibar="A1", nomor_register="0001"), rec(2, nomor_register="0002")]
        register = [rec(10, nibar="A1", nomor_register="0002"), rec(11, nomor_register="0001")]
        pairs = {(p.official, p.asset): p.method for p in match(official, register)}
        # official 1 takes asset 10 by NIBAR although asset 11 has its kode/register; official 2 takes nothing by
        # kode/register (asset 10 is taken), and is proposed to asset 11 (same agency, year, area, value, address)
        self.assertEqual(pairs, {(1, 10): "nibar", (2, 11): "proposed"})

    def test_register_number_padding(self):
        pairs = match([rec(1, nomor_register="7")], [rec(10, nomor_register="0007")])
        self.assertEqual([(p.official, p.asset, p.method) for p in pairs], [(1, 10, "kode_register")])

    def test_differences_per_field(self):
        official = rec(1, nomor_register="0001", nilai_perolehan=Decimal(900_000), alamat="JL MERDEKA NO 5",
                       nomor_sertifikat="045", tanggal_sertifikat=dt.date(2001, 1, 2), jenis_hak="HP")  # fmt: skip
        asset = rec(2, nomor_register="0001", nomor_sertifikat="00045", tanggal_sertifikat=dt.date(2001, 1, 3),
                    jenis_hak="HPL", agency=2, luas_kib_m2=Decimal("500.00"))  # fmt: skip
        self.assertEqual(differences(official, asset),
                         ["nilai_perolehan", "tanggal_sertifikat", "agency", "jenis_hak"])  # fmt: skip

    def test_proposals_need_same_agency_and_year(self):
        official = [rec(1, nomor_register="0001")]
        for other in (rec(10, nomor_register="0099", agency=2), rec(10, nomor_register="0099", tahun_perolehan=2011)):
            pairs = match(official, [other])
            self.assertEqual([(p.official, p.asset) for p in pairs], [(1, None), (None, 10)])

    def test_scores(self):
        same = score(rec(1), rec(2))
        self.assertEqual(same, 100)
        far = score(rec(1), rec(2, luas_kib_m2=Decimal(250), nilai_perolehan=Decimal(500_000), alamat="Gang Mawar"))
        self.assertEqual(far, 35)  # area 0.5 * 40 + value 0.5 * 30 + no address word in common
        self.assertEqual(normal_address("Jl. Merdeka, Kel. Gunung Sari"), "jalan merdeka kelurahan gunung sari")

    def test_best_pair_wins_and_weak_pairs_stay_alone(self):
        official = [rec(1, nomor_register="0001", luas_kib_m2=Decimal(1000)),
                    rec(2, nomor_register="0002", luas_kib_m2=Decimal(50), nilai_perolehan=Decimal(1))]  # fmt: skip
        register = [rec(10, nomor_register="0010", luas_kib_m2=Decimal(990)),
                    rec(11, nomor_register="0011", luas_kib_m2=Decimal(1000))]  # fmt: skip
        pairs = {(p.official, p.asset): p.score for p in match(official, register)}
        self.assertEqual(pairs[(1, 11)], 100)
        self.assertIn((2, None), pairs)  # 50 m² and Rp 1 is nobody's likely pair
        self.assertIn((None, 10), pairs)

    def test_every_row_once(self):
        official = [rec(i, nomor_register=str(i)) for i in range(1, 200)]
        register = [rec(1000 + i, nomor_register=str(i + 150)) for i in range(1, 200)]
        pairs = match(official, register)
        self.assertEqual(sorted(p.official for p in pairs if p.official), list(range(1, 200)))
        self.assertEqual(sorted(p.asset for p in pairs if p.asset), list(range(1001, 1200)))
