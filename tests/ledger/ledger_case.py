"""Shared set-up of the ledger tests: the register of the printed sample's agency, crafted to give each category
once against tests/data/kib_a_simda_print.xlsx."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from django.test import TestCase

from assets.models import Agency, LandAsset, Stage
from assets.register import permissions, services
from tests.factories import load_reference, make_asset, make_user, temp_media_root

DATA = Path(__file__).parent.parent / "data"
PRINTED = DATA / "kib_a_simda_print.xlsx"
KODE = "1.3.1.01.01.01.001"


def certify(asset: LandAsset, nomor: str, tanggal: dt.date, jenis_hak: str = "HP") -> None:
    services.certificate_create(asset=asset, user=None, stage=Stage.SERTIFIKAT_TERBIT, tanggal_tahap=tanggal,
                                jenis_hak=jenis_hak, nomor=nomor, tanggal=tanggal)  # fmt: skip


class LedgerCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.dinas = Agency.objects.get(name="Dinas Pendidikan dan Kebudayaan")
        cls.other = Agency.objects.get(name="Dinas Kesehatan")
        cls.bpkad = make_user("bpkad", permissions.BPKAD)
        cls.admin = make_user("admin", permissions.ADMIN)
        cls.auditor = make_user("auditor", permissions.AUDITOR)
        cls.officer = make_user("officer", permissions.OFFICER, cls.dinas)
        cls.planner = make_user("planner", permissions.PLANNER)
        # row 1 of the sample, all equal
        cls.equal = make_asset(cls.dinas, kode_barang=KODE, nomor_register="0001", nama_barang="Tanah Bangunan Sekolah",
                               luas_kib_m2=Decimal("1250.50"), tahun_perolehan=1998, tanggal_perolehan=None,
                               alamat="Jl. Jend. Sudirman No. 1", nilai_perolehan=Decimal(150_000_000))  # fmt: skip
        certify(cls.equal, "16.01.05.02.4.00045", dt.date(2003, 2, 1))
        # row 2: the value differs (official Rp 75.000.000)
        cls.differs = make_asset(cls.dinas, kode_barang=KODE, nomor_register="0002", nama_barang="Tanah Kantor UPT",
                                 luas_kib_m2=Decimal(350), tahun_perolehan=2005, tanggal_perolehan=None,
                                 alamat="Jl. A. Yani", nilai_perolehan=Decimal(80_000_000))  # fmt: skip
        certify(cls.differs, "00046", dt.date(2005, 3, 12))
        # row 4 (kode/register 0004) is in Sipanah under another register number: a likely pair
        cls.likely = make_asset(cls.dinas, kode_barang=KODE, nomor_register="0104", nama_barang="Tanah Kosong",
                                luas_kib_m2=Decimal(2000), tahun_perolehan=2010, tanggal_perolehan=None,
                                alamat="Jl. Soekarno Hatta KM 5", nilai_perolehan=Decimal(1_000_000))  # fmt: skip
        # row 5 is missing from Sipanah; this one is missing from the official register
        cls.alone = make_asset(cls.other, kode_barang=KODE, nomor_register="0099", nama_barang="Tanah Puskesmas",
                               tahun_perolehan=2012, tanggal_perolehan=None)  # fmt: skip

    def setUp(self):
        temp_media_root(self.addCleanup)
