"""The fixed figures the demo register is drawn from: its "today", the kinds of municipal land, and the density
and land price per kecamatan. A figure that only one step uses lives in that step's module."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import accumulate

AS_OF = dt.date(2025, 12, 31)  # the register's "today": fixed, so that output does not depend on the run date
NIBAR_PREFIX = "64710"  # a demo NIBAR is this prefix and a 7-digit sequence
KECAMATAN_OFFICE = "kecamatan"  # stands for the office of the parcel's own kecamatan in LandUse.agencies

# Per kecamatan code: relative density of municipal land per km² (the urban south is denser than the
# forested north) and the land price in 2025 (Rp/m²).
KECAMATAN_DENSITY_PRICE: dict[str, tuple[float, int]] = {
    "64.71.01": (0.8, 900_000),  # Balikpapan Timur
    "64.71.02": (0.8, 1_500_000),  # Balikpapan Barat
    "64.71.03": (1.2, 1_800_000),  # Balikpapan Utara
    "64.71.04": (6.0, 4_000_000),  # Balikpapan Tengah
    "64.71.05": (4.0, 4_500_000),  # Balikpapan Selatan
    "64.71.06": (6.0, 6_000_000),  # Balikpapan Kota
}
DEFAULT_DENSITY_PRICE = (1.0, 1_500_000)

SHAPES = ("rect", "trapezoid", "L", "convex")


@dataclass(frozen=True)
class LandUse:
    """A kind of municipal land: its code, its agency, its size and its shapes."""

    kode_barang: str
    penggunaan: str
    weight: float
    median_m2: float
    spread: float  # standard deviation of ln(area)
    agencies: tuple[str, ...]
    names: tuple[str, ...]  # str.format templates over kel, kec, n, rt, street, estate, agency
    shapes: tuple[float, float, float, float]  # weights of SHAPES
    aspect: tuple[float, float] = (1.0, 2.0)
    psu_share: float = 0.05  # share handed over by housing developers (penyerahan PSU)


# Codes follow the Permendagri 108/2016 structure (1.3.1 = land); the comment names each code's object.
# fmt: off
USES: tuple[LandUse, ...] = (
    LandUse("1.3.1.01.01.04.002", "Gedung Sekolah", 0.16, 2_500, 0.6, ("1.01.01",),  # Tanah Bangunan Pendidikan
            ("Tanah SDN {n:03d} {kec}", "Tanah SMPN {n} Balikpapan", "Tanah TK Negeri {n} {kec}"),
            (0.6, 0.15, 0.15, 0.1)),
    LandUse("1.3.1.01.01.04.003", "Puskesmas", 0.05, 1_200, 0.5, ("1.02.01",),  # Tanah Bangunan Kesehatan
            ("Tanah Puskesmas {kel}", "Tanah Puskesmas Pembantu {kel}", "Tanah Posyandu RT {rt:03d} {kel}"),
            (0.6, 0.2, 0.15, 0.05)),
    LandUse("1.3.1.01.01.04.003", "Rumah Sakit", 0.003, 25_000, 0.4, ("1.02.02",),
            ("Tanah RSUD Beriman", "Tanah Rumah Sakit Daerah {kec}"), (0.5, 0.2, 0.2, 0.1)),
    LandUse("1.3.1.01.01.04.001", "Kantor Pemerintah", 0.08, 1_500, 0.8,  # Tanah Bangunan Kantor Pemerintah
            ("4.01.01", "4.02.01", "5.02.01", "2.10.01", "1.06.01", "2.15.01", "1.05.01", "1.05.02", "1.05.03",
             "2.09.01", "2.17.01"),
            ("Tanah Kantor {agency}", "Tanah UPT {agency} {kec}", "Tanah Gudang {agency}"), (0.6, 0.15, 0.2, 0.05)),
    LandUse("1.3.1.01.01.04.001", "Kantor Kelurahan/Kecamatan", 0.04, 700, 0.5, (KECAMATAN_OFFICE,),
            ("Tanah Kantor Lurah {kel}", "Tanah Kantor Camat {kec}", "Tanah Balai Pertemuan {kel}"),
            (0.7, 0.15, 0.1, 0.05)),
    LandUse("1.3.1.01.01.01.001", "Rumah Jabatan", 0.02, 700, 0.4, ("4.01.01",),  # Rumah Negara Golongan I
            ("Tanah Rumah Jabatan Jl. {street}", "Tanah Rumah Dinas Pejabat {kec}"), (0.8, 0.1, 0.05, 0.05)),
    LandUse("1.3.1.01.01.01.002", "Rumah Dinas", 0.06, 300, 0.4,  # Rumah Negara Golongan II
            ("5.02.01", "1.01.01", "1.02.01"),
            ("Tanah Rumah Dinas {kel}", "Tanah Rumah Dinas Guru {kel}", "Tanah Mess Pemkot {kec}"),
            (0.8, 0.1, 0.05, 0.05)),
    LandUse("1.3.1.01.01.04.004", "Pasar", 0.03, 4_000, 0.6, ("3.27.01",),  # Tanah Bangunan Pasar
            ("Tanah Pasar {kel}", "Tanah Pasar Tradisional {kel}", "Tanah Pasar Inpres {kec}"), (0.5, 0.2, 0.2, 0.1)),
    LandUse("1.3.1.01.02.01.001", "Lapangan Olahraga", 0.04, 5_000, 0.6, ("2.19.01",),  # Tanah Lapangan Olahraga
            ("Tanah Lapangan Sepak Bola {kel}", "Tanah Lapangan Serbaguna {kel}", "Tanah Gelanggang Olahraga {kec}"),
            (0.7, 0.1, 0.05, 0.15), psu_share=0.2),
    LandUse("1.3.1.01.02.02.001", "Taman/RTH", 0.07, 1_500, 1.0, ("2.11.01", "1.04.01"),  # Tanah Taman
            ("Tanah Taman {kel}", "Tanah RTH {kel}", "Tanah Taman Bermain RT {rt:03d} {kel}"), (0.3, 0.2, 0.1, 0.4),
            psu_share=0.5),
    LandUse("1.3.1.01.02.03.001", "Pemakaman Umum", 0.03, 8_000, 0.7, ("1.04.01", "2.11.01"),  # Tanah Pemakaman
            ("Tanah TPU {kel}", "Tanah Pemakaman Muslim {kel}", "Tanah Pemakaman Kristen {kel}"), (0.3, 0.2, 0.1, 0.4),
            psu_share=0.2),
    LandUse("1.3.1.01.03.01.001", "Jalan", 0.15, 700, 0.9, ("1.03.01",),  # Tanah Jalan
            ("Tanah Jalan {street}", "Tanah Jalan Lingkungan RT {rt:03d} {kel}", "Tanah Pelebaran Jalan {street}"),
            (0.85, 0.15, 0.0, 0.0), aspect=(4.0, 12.0), psu_share=0.4),
    LandUse("1.3.1.01.03.02.001", "Saluran Drainase", 0.05, 400, 0.8, ("1.03.01",),  # Tanah Saluran Drainase
            ("Tanah Saluran Drainase {kel}", "Tanah Kolam Retensi {kel}"), (0.8, 0.2, 0.0, 0.0), aspect=(3.0, 10.0),
            psu_share=0.3),
    LandUse("1.3.1.01.04.01.001", "Fasilitas Umum", 0.07, 900, 0.8, ("1.04.01",),  # Tanah Fasilitas Umum Perumahan
            ("Tanah Fasum Perumahan {estate}", "Tanah Fasos Perumahan {estate}"), (0.4, 0.2, 0.2, 0.2),
            psu_share=0.9),
    LandUse("1.3.1.01.05.01.001", "Belum Dimanfaatkan", 0.05, 2_500, 1.2, ("5.02.01", "2.10.01"),  # Tanah Kosong
            ("Tanah Kosong {kel}", "Tanah Cadangan Pemkot {kel}"), (0.3, 0.2, 0.1, 0.4)),
)
# fmt: on
USE_CUM_WEIGHTS = tuple(accumulate(u.weight for u in USES))
