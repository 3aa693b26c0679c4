"""A deterministic demo register: Balikpapan land assets (KIB A) with their certificates.

Parcels come from a square grid laid over the city in the metric CRS, one parcel per selected cell, so
parcels never overlap and nothing grows with the number of assets:

1. the cell size follows from N (about sqrt(0.6 * city area / N)), capped so that a parcel stays under ~5 ha;
2. pass 1 counts, per kecamatan, the cells whose box lies inside the union of kelurahan;
3. each kecamatan gets an exact quota, proportional to its cells times a density weight (the urban south
   is denser than the forested north) and never more than its cells;
4. pass 2 walks the same cells again and keeps exactly each quota by selection sampling (Knuth's Algorithm S);
5. a rotated rectangle, trapezoid, L-shape or convex polygon is drawn inside each kept cell, with a margin.

Assets are yielded one at a time and the writers stream them in batches. The same count and seed give
the same records, whatever the batch size or the output. Derived fields (GIS area, kelurahan, certificate
status) are computed with the functions assets.services uses.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import accumulate, islice
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import reset_queries, transaction
from django.db.models import IntegerField, Max
from django.db.models.functions import Cast
from simple_history.utils import bulk_create_with_history

from assets.register import kib
from assets.register.geo import STORAGE_SRID, KelurahanIndex, area_srid, geodesic_area_m2, transformer
from assets.register.models import (
    AdministrativeArea,
    Agency,
    AsalUsul,
    Certificate,
    CertificateStageEvent,
    CertificateStatus,
    JenisHak,
    LandAsset,
    PlottingStatus,
    Stage,
)
from assets.register.rules import derive_certificate_status
from assets.register.services import kelurahan_index

if TYPE_CHECKING:
    from osgeo import ogr

T = TypeVar("T")

DEFAULT_BATCH_SIZE = 2_000
PROGRESS_EVERY = 50_000
GPKG_LAYER = "land_assets"
GPKG_TRANSACTION_SIZE = 10_000

AS_OF = dt.date(2025, 12, 31)  # the register's "today": fixed, so that output does not depend on the run date
FIRST_YEAR = 1975
MIN_AREA_M2 = 150.0
MAX_AREA_M2 = 50_000.0
FILL = 0.6  # share of the city covered by cells at the initial cell size
MAX_CELL_M = 320.0  # a 5 ha square (224 m) turned by 12 degrees still fits inside with the margin
MIN_CELL_M = 12.0  # below this a parcel could not reach ~100 m²: the count is too large for the city
SCAN_CELLS = 50_000  # grid cells tested per row chunk: bounds the memory of the grid passes
PARCEL_CHUNK = 1_024  # parcels reprojected together; no effect on the output
MAX_REGISTER = 999_999  # nomor_register has at most 6 digits
NIBAR_PREFIX = "64710"
PEMKOT = "Pemerintah Kota Balikpapan"
DEMO = "Demo data (generate_demo_assets)"  # the change reason on the history records
CENT = Decimal("0.01")
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
PRICE_GROWTH = 0.11  # per year: land bought in 1975 cost about 0.4 % of today's price

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

STREETS = (
    "Jend. Sudirman", "MT Haryono", "Soekarno-Hatta", "Ahmad Yani", "Mulawarman", "Syarifuddin Yoes", "Indrakila",
    "Letjen Suprapto", "Marsma R. Iswahyudi", "Pupuk Raya", "Ruhui Rahayu", "Gatot Subroto", "Pattimura",
    "Sultan Hasanuddin", "D.I. Panjaitan", "Pangeran Antasari", "Mayjen Sutoyo", "Manunggal", "Prapatan",
    "Telindung", "Sepinggan Baru", "Kolonel Soekartan", "Minyak", "Kampung Baru", "Karang Joang",
)  # fmt: skip
ESTATES = (
    "Balikpapan Baru", "Graha Indah", "Wika", "Pondok Karya Lestari", "Citra Bukit Indah", "Bukit Damai Indah",
    "Griya Permata Hijau", "Taman Sari Bukit Damai", "Sepinggan Pratama", "Korpri Sepinggan", "Grand City",
)  # fmt: skip
OTHER_HOLDERS = (
    "Pemerintah Kotamadya Daerah Tingkat II Balikpapan", "PT Pertamina (Persero)", "Perum Perumnas",
    "PT Balikpapan Realty", "Yayasan Pendidikan Balikpapan", "H. Abdul Rahman", "Hj. Siti Aminah", "Suparman",
)  # fmt: skip
NOTES = ("Sebagian dikuasai warga", "Belum dipagar", "Dipinjam pakai instansi vertikal", "Ada bangunan liar")

PLOTTING = (PlottingStatus.LOCATED, PlottingStatus.APPROXIMATE, PlottingStatus.UNKNOWN)
PLOTTING_CUM_WEIGHTS = (0.92, 0.97, 1.0)
ASAL_USUL = (AsalUsul.PEMBELIAN, AsalUsul.HIBAH, AsalUsul.TUKAR_MENUKAR, AsalUsul.PUTUSAN_PENGADILAN, AsalUsul.LAINNYA)
ASAL_USUL_CUM_WEIGHTS = tuple(accumulate((0.68, 0.2, 0.04, 0.01, 0.07)))
PROCESS_STAGES = (
    Stage.PERSIAPAN_BERKAS,
    Stage.DIAJUKAN_KE_BPN,
    Stage.PENGUKURAN,
    Stage.PETA_BIDANG_TERBIT,
    Stage.SK_HAK_TERBIT,
)
PROCESS_CUM_WEIGHTS = tuple(accumulate((0.3, 0.25, 0.2, 0.15, 0.1)))
MEASURED_STAGES = frozenset({Stage.PETA_BIDANG_TERBIT, Stage.SK_HAK_TERBIT})  # NIB and measured area known


class DemoError(ValueError):
    """The demo register cannot be generated as asked; the message says why."""


# --- Records ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoEvent:
    from_stage: str
    to_stage: str
    tanggal: dt.date
    nomor_dokumen: str = ""
    catatan: str = ""


@dataclass(frozen=True, slots=True)
class DemoCertificate:
    stage: str
    stage_since: dt.date
    events: tuple[DemoEvent, ...]
    jenis_hak: str = ""
    nomor: str = ""
    tanggal: dt.date | None = None
    nib: str = ""
    atas_nama: str = ""
    luas_sertifikat_m2: Decimal | None = None
    nomor_surat_ukur: str = ""
    tanggal_surat_ukur: dt.date | None = None


@dataclass(frozen=True, slots=True)
class DemoAsset:
    kode_barang: str
    nomor_register: str
    nibar: str | None
    nama_barang: str
    alamat: str
    agency_code: str
    tanggal_perolehan: dt.date
    tahun_perolehan: int
    asal_usul: str
    nilai_perolehan: Decimal
    penggunaan: str
    luas_kib_m2: Decimal
    keterangan: str
    plotting_status: str
    geom: shapely.MultiPolygon | None  # lon/lat, SRID 4326
    luas_gis_m2: Decimal | None
    kelurahan_id: int | None
    kecamatan_id: int | None
    status_sertifikat: str
    tahap_sertifikat: str
    bermasalah: bool
    certificates: tuple[DemoCertificate, ...]


@dataclass
class DemoSummary:
    assets: int = 0
    located: int = 0
    approximate: int = 0
    without_geometry: int = 0
    certified: int = 0
    in_process: int = 0
    disputed: int = 0
    certificates: int = 0
    events: int = 0

    def add(self, asset: DemoAsset) -> None:
        self.assets += 1
        self.located += asset.plotting_status == PlottingStatus.LOCATED
        self.approximate += asset.plotting_status == PlottingStatus.APPROXIMATE
        self.without_geometry += asset.geom is None
        self.certified += asset.status_sertifikat == CertificateStatus.TERBIT
        self.in_process += asset.status_sertifikat == CertificateStatus.PROSES
        self.disputed += asset.bermasalah
        self.certificates += len(asset.certificates)
        self.events += sum(len(c.events) for c in asset.certificates)


# --- Context read from the database -----------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A kelurahan as an address, a price zone and the region part of a NIB see it."""

    kelurahan: str
    kecamatan: str
    kecamatan_code: str
    nib_prefix: str  # 9 digits: 6471 + kecamatan (2) + kelurahan (3)


@dataclass(frozen=True)
class DemoContext:
    index: KelurahanIndex
    places: dict[int, Place]  # by kelurahan id
    kecamatan_codes: dict[int, str]  # by kecamatan id
    agencies: dict[str, tuple[int, str]]  # code -> (id, name)
    kecamatan_offices: dict[str, str]  # kecamatan code -> agency code of its office
    register_after: dict[str, int]  # kode_barang -> last nomor_register already used
    nibar_after: int


def build_context(*, continue_numbering: bool = False) -> DemoContext:
    """Read boundaries and agencies (and, to append, the numbers already used) from the database."""
    areas = AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KELURAHAN).select_related("parent")
    places = {a.id: _place(a) for a in areas}
    if not places:
        raise DemoError("No kelurahan boundaries in the database: run `manage.py load_reference_data` first.")
    agencies = {a.code: (a.id, a.name) for a in Agency.objects.all()}
    kecamatan = AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KECAMATAN)
    offices = {k.code: _office_code(k.name, agencies) for k in kecamatan}
    needed = {code for use in USES for code in use.agencies if code != KECAMATAN_OFFICE} - set(agencies)
    if needed:
        raise DemoError(f"Agencies {sorted(needed)} are missing: run `manage.py load_reference_data` first.")
    register_after, nibar_after = _numbers_in_use() if continue_numbering else ({}, 0)
    return DemoContext(
        index=kelurahan_index(),
        places=places,
        kecamatan_codes={k.id: k.code for k in kecamatan},
        agencies=agencies,
        kecamatan_offices=offices,
        register_after=register_after,
        nibar_after=nibar_after,
    )


def _place(area: AdministrativeArea) -> Place:
    kec, kel = area.code.split(".")[2:4]  # 64.71.03.1002 -> 03, 1002
    return Place(area.name, area.parent.name, area.parent.code, f"6471{kec}{kel[-3:]}")


def _office_code(kecamatan_name: str, agencies: dict[str, tuple[int, str]]) -> str:
    for code, (_id, name) in agencies.items():
        if name == f"Kecamatan {kecamatan_name}":
            return code
    raise DemoError(f"No agency for the office of Kecamatan {kecamatan_name}: run `manage.py load_reference_data`.")


def _numbers_in_use() -> tuple[dict[str, int], int]:
    rows = LandAsset.objects.values("kode_barang").annotate(top=Max(Cast("nomor_register", IntegerField())))
    top_nibar = LandAsset.objects.filter(nibar__regex=rf"^{NIBAR_PREFIX}[0-9]{{7}}$").aggregate(top=Max("nibar"))["top"]
    return {r["kode_barang"]: r["top"] or 0 for r in rows}, int(top_nibar[len(NIBAR_PREFIX) :]) if top_nibar else 0


# --- The grid and the selection of cells ------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    """The union of kelurahan and one stratum per kecamatan, in the metric CRS, prepared."""

    union: shapely.Geometry
    strata: tuple[shapely.Geometry, ...]
    weights: np.ndarray


@dataclass(frozen=True)
class Grid:
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int


def city_from_context(context: DemoContext) -> City:
    by_kecamatan: dict[str, list[shapely.Geometry]] = {}
    for ref, geom in zip(context.index.refs, context.index.geoms, strict=True):
        by_kecamatan.setdefault(context.kecamatan_codes[ref.parent_id], []).append(geom)
    codes = sorted(by_kecamatan)
    strata = tuple(shapely.union_all(by_kecamatan[code]) for code in codes)
    union = shapely.union_all(strata)
    shapely.prepare([union, *strata])
    weights = np.array([KECAMATAN_DENSITY_PRICE.get(code, DEFAULT_DENSITY_PRICE)[0] for code in codes])
    return City(union, strata, weights)


def plan_grid(city: City, count: int) -> tuple[Grid, np.ndarray]:
    """A grid with at least ``count`` cells inside the city (shrunk by 10 % until it has), and its cells per stratum."""
    cell = min(MAX_CELL_M, math.sqrt(FILL * city.union.area / count))
    xmin, ymin, xmax, ymax = city.union.bounds
    while cell >= MIN_CELL_M:
        x0, y0 = math.floor(xmin / cell) * cell, math.floor(ymin / cell) * cell
        grid = Grid(x0, y0, cell, math.ceil((xmax - x0) / cell), math.ceil((ymax - y0) / cell))
        capacity = np.zeros(len(city.strata), dtype=np.int64)
        for _xs, _ys, strata in candidate_cells(grid, city):
            capacity += np.bincount(strata, minlength=len(city.strata))
        if capacity.sum() >= count:
            return grid, capacity
        cell *= 0.9
    raise DemoError(f"{count} parcels do not fit in Balikpapan with parcels of at least ~100 m².")


def candidate_cells(grid: Grid, city: City) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Centres (x, y) and strata of the cells whose box lies inside the city, row chunk by row chunk."""
    rows = max(1, SCAN_CELLS // grid.nx)
    for row in range(0, grid.ny, rows):
        jj, ii = np.divmod(np.arange(row * grid.nx, min(grid.ny, row + rows) * grid.nx), grid.nx)
        xmin, ymin = grid.x0 + ii * grid.cell, grid.y0 + jj * grid.cell
        inside = shapely.contains(city.union, shapely.box(xmin, ymin, xmin + grid.cell, ymin + grid.cell))
        xs, ys = xmin[inside] + grid.cell / 2, ymin[inside] + grid.cell / 2
        yield xs, ys, _strata_of(city, xs, ys)


def _strata_of(city: City, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    # Kelurahan overlap a little: a centre in two kecamatan goes to the first, by code.
    strata = np.full(len(xs), -1, dtype=np.int64)
    for k, geom in enumerate(city.strata):
        strata[(strata < 0) & shapely.intersects_xy(geom, xs, ys)] = k
    if (strata < 0).any():  # impossible for a box inside the union; kept as a guard
        raise DemoError("A grid cell inside the city lies in no kecamatan.")
    return strata


def allocate(capacity: np.ndarray, weights: np.ndarray, total: int) -> np.ndarray:
    """Exact quotas summing to ``total``: proportional to capacity × weight, never above capacity.

    Water-filling: the strata with the highest weight saturate first; the rest share what is left
    with one factor ``lam``; integers by the largest remainder (ties to the lower index).
    """
    order = np.argsort(-weights, kind="stable")
    lam = 0.0
    for k in range(len(order)):
        rest = order[k:]
        demand = float((weights[rest] * capacity[rest]).sum())
        lam = (total - capacity[order[:k]].sum()) / demand if demand else math.inf
        if lam * weights[order[k]] <= 1.0:
            break
    ideal = capacity * np.minimum(1.0, lam * weights)
    quotas = np.minimum(np.floor(ideal).astype(np.int64), capacity)
    fractions = np.where(quotas < capacity, ideal - quotas, -1.0)
    for k in np.argsort(-fractions, kind="stable")[: total - quotas.sum()]:
        quotas[k] += 1
    return quotas


def select_cells(
    grid: Grid, city: City, capacity: np.ndarray, quotas: np.ndarray, rng: np.random.Generator
) -> Iterator[tuple[float, float]]:
    """Exactly quotas[s] cells of each stratum s, uniformly, in grid order (Knuth's Algorithm S)."""
    seen = [0] * len(quotas)
    chosen = [0] * len(quotas)
    capacity_l, quotas_l = capacity.tolist(), quotas.tolist()
    for xs, ys, strata in candidate_cells(grid, city):
        draws = rng.random(len(xs)).tolist()
        for x, y, s, u in zip(xs.tolist(), ys.tolist(), strata.tolist(), draws, strict=True):
            if (capacity_l[s] - seen[s]) * u < quotas_l[s] - chosen[s]:
                chosen[s] += 1
                yield x, y
            seen[s] += 1


# --- Parcel shapes ----------------------------------------------------------------------------------------

Ring = list[tuple[float, float]]


def _rect(rng: random.Random, aspect: float) -> Ring:
    w, h = math.sqrt(aspect), 1 / math.sqrt(aspect)
    return [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]


def _trapezoid(rng: random.Random, aspect: float) -> Ring:
    w, h = math.sqrt(aspect), 1 / math.sqrt(aspect)
    top = w * rng.uniform(0.5, 0.9)
    shift = rng.uniform(-1.0, 1.0) * (w - top) / 2
    return [(-w / 2, -h / 2), (w / 2, -h / 2), (shift + top / 2, h / 2), (shift - top / 2, h / 2)]


def _l_shape(rng: random.Random, aspect: float) -> Ring:
    w, h = math.sqrt(aspect), 1 / math.sqrt(aspect)
    fx, fy = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)
    return [(0.0, 0.0), (w, 0.0), (w, fy * h), (fx * w, fy * h), (fx * w, h), (0.0, h)]


def _convex(rng: random.Random, aspect: float) -> Ring:
    # Points on an ellipse in angular order always form a convex polygon; uneven gaps make it irregular.
    gaps = [0.6 + rng.random() for _ in range(rng.randint(5, 8))]
    start, scale = rng.uniform(0, 2 * math.pi), 2 * math.pi / sum(gaps)
    angles = [start + scale * g for g in accumulate(gaps, initial=0.0)][:-1]
    rx, ry = math.sqrt(aspect), 1 / math.sqrt(aspect)
    return [(rx * math.cos(a), ry * math.sin(a)) for a in angles]


SHAPE_BUILDERS: dict[str, Callable[[random.Random, float], Ring]] = {
    "rect": _rect,
    "trapezoid": _trapezoid,
    "L": _l_shape,
    "convex": _convex,
}


def _signed_area(ring: Ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


def parcel_outline(use: LandUse, half: float, rng: random.Random) -> Ring:
    """A parcel of ``use`` in metres, inside the square [-half, half]², counter-clockwise."""
    area = min(MAX_AREA_M2, max(MIN_AREA_M2, rng.lognormvariate(math.log(use.median_m2), use.spread)))
    kind = rng.choices(SHAPES, weights=use.shapes)[0]
    # In a small cell a long road cannot keep its length: it becomes less elongated rather than tiny.
    aspect = min(rng.uniform(*use.aspect), max(1.0, (1.7 * half) ** 2 / area))
    ring = SHAPE_BUILDERS[kind](rng, aspect)
    # A quarter turn puts an L's notch in any corner and a road in either direction; then a small tilt.
    angle = (
        rng.uniform(0, math.pi)
        if kind == "convex"
        else rng.randrange(4) * math.pi / 2 + math.radians(rng.uniform(-12, 12))
    )
    scale = math.sqrt(area / abs(_signed_area(ring)))
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    ring = [(x * cos - y * sin, x * sin + y * cos) for x, y in ring]
    return _fit(ring, half, rng)


def _fit(ring: Ring, half: float, rng: random.Random) -> Ring:
    """Shrink the ring if it is wider than the cell's inner square, then place it at random inside."""
    xs, ys = [x for x, _ in ring], [y for _, y in ring]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    shrink = min(1.0, 2 * half / max(width, height))
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    dx = rng.uniform(-1.0, 1.0) * (half - width * shrink / 2)
    dy = rng.uniform(-1.0, 1.0) * (half - height * shrink / 2)
    ring = [((x - cx) * shrink + dx, (y - cy) * shrink + dy) for x, y in ring]
    return ring if _signed_area(ring) > 0 else ring[::-1]


def parcels_in_cells(
    cells: Sequence[tuple[float, float]], cell: float, rng: random.Random
) -> list[tuple[LandUse, shapely.MultiPolygon]]:
    """One parcel per cell centre: its use and its lon/lat MultiPolygon (reprojected in one call)."""
    margin = max(0.5, 0.03 * cell)  # keeps neighbours at least 1 m apart, whatever the reprojection does
    uses, coords, ring_ids = [], [], []
    for i, (cx, cy) in enumerate(cells):
        use = rng.choices(USES, cum_weights=USE_CUM_WEIGHTS)[0]
        ring = parcel_outline(use, cell / 2 - margin, rng)
        uses.append(use)
        coords.extend((cx + x, cy + y) for x, y in ring)
        ring_ids.extend([i] * len(ring))
    xy = np.array(coords)
    lon, lat = transformer(area_srid(), STORAGE_SRID).transform(xy[:, 0], xy[:, 1])
    polygons = shapely.polygons(shapely.linearrings(np.column_stack([lon, lat]), indices=ring_ids))
    if not shapely.is_valid(polygons).all():
        raise DemoError("The generator drew an invalid parcel.")  # a bug guard: the shapes are simple by construction
    return list(zip(uses, shapely.multipolygons(polygons, indices=np.arange(len(polygons))), strict=True))


# --- Attributes and certificates --------------------------------------------------------------------------


class Numbering:
    """Register numbers per kode barang and the NIBAR sequence, continuing after ``after``."""

    def __init__(self, register_after: dict[str, int], nibar_after: int):
        self.register = dict(register_after)
        self.nibar = nibar_after

    def next_register(self, kode_barang: str) -> str:
        number = self.register.get(kode_barang, 0) + 1
        if number > MAX_REGISTER:
            raise DemoError(f"Kode barang {kode_barang} has used all {MAX_REGISTER:,} register numbers.")
        self.register[kode_barang] = number
        return f"{number:04d}"

    def next_nibar(self) -> str:
        self.nibar += 1
        return f"{NIBAR_PREFIX}{self.nibar:07d}"


def _between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _chain(stages: Sequence[str], start: dt.date, end: dt.date, rng: random.Random) -> tuple[DemoEvent, ...]:
    """One event per stage, from ``start`` to ``end``, dates never decreasing."""
    middle = sorted(_between(rng, start, end) for _ in range(len(stages) - 2))
    dates = [start, *middle, end][-len(stages) :]
    previous = ["", *stages[:-1]]
    return tuple(DemoEvent(f, t, d, _document(t, d, rng)) for f, t, d in zip(previous, stages, dates, strict=True))


def _document(stage: str, date: dt.date, rng: random.Random) -> str:
    number = rng.randint(1, 999)
    if stage == Stage.DIAJUKAN_KE_BPN:
        return f"Berkas {number:05d}/{date.year}"
    if stage == Stage.PETA_BIDANG_TERBIT:
        return f"PBT {number:05d}/{date.year}"
    if stage == Stage.SK_HAK_TERBIT:
        return f"SK {number}/HP/KEP-64.71/{date.year}"
    return ""


def _area_near(area: Decimal, rng: random.Random, spread: float) -> Decimal:
    return Decimal(round(float(area) * rng.uniform(1 - spread, 1 + spread))).quantize(CENT)


def _issued(rng: random.Random, acquired: dt.date, luas: Decimal, place: Place | None) -> DemoCertificate:
    delay = dt.timedelta(days=int(rng.expovariate(1 / (8 * 365))))
    issued = acquired + delay if acquired + delay <= AS_OF else _between(rng, acquired, AS_OF)
    if issued.year < 2015:  # certificates from before Sipanah: only the final state was ever recorded
        events: tuple[DemoEvent, ...] = (DemoEvent("", Stage.SERTIFIKAT_TERBIT, issued, "", "Data awal dari KIB"),)
    else:
        optional = [s for s in PROCESS_STAGES[1:] if rng.random() < 0.9]  # BPN sometimes merges steps
        start = max(acquired, issued - dt.timedelta(days=rng.randint(120, 900)))
        events = _chain([Stage.PERSIAPAN_BERKAS, *optional, Stage.SERTIFIKAT_TERBIT], start, issued, rng)
    surveyed = next((e.tanggal for e in events if e.to_stage == Stage.PETA_BIDANG_TERBIT), issued)
    nomor = f"{rng.randint(1, 15_000):05d}"
    return DemoCertificate(
        stage=Stage.SERTIFIKAT_TERBIT,
        stage_since=issued,
        events=events,
        jenis_hak=JenisHak.HP if rng.random() < 0.85 else JenisHak.HPL,
        nomor=nomor,
        tanggal=issued,
        nib=_nib(place, rng),
        atas_nama=PEMKOT if rng.random() < 0.95 else rng.choice(OTHER_HOLDERS),
        luas_sertifikat_m2=_area_near(luas, rng, 0.02),
        nomor_surat_ukur=f"{rng.randint(1, 9_999):05d}/{place.kelurahan if place else 'Balikpapan'}/{surveyed.year}",
        tanggal_surat_ukur=surveyed,
    )


def _nib(place: Place | None, rng: random.Random) -> str:
    return f"{place.nib_prefix if place else '647100000'}{rng.randint(1, 99_999):05d}"


def _in_process(rng: random.Random, acquired: dt.date, luas: Decimal, place: Place | None) -> DemoCertificate:
    reached = rng.choices(range(len(PROCESS_STAGES)), cum_weights=PROCESS_CUM_WEIGHTS)[0]
    start = _between(rng, max(acquired, dt.date(2017, 1, 1)), AS_OF)  # the 2017 push to certify municipal land
    end = min(AS_OF, start + dt.timedelta(days=rng.randint(30, 1_100)))
    stages = PROCESS_STAGES[: reached + 1]
    events = _chain(stages, start, end, rng)
    measured = stages[-1] in MEASURED_STAGES
    return DemoCertificate(
        stage=stages[-1],
        stage_since=events[-1].tanggal,
        events=events,
        jenis_hak=JenisHak.HP if rng.random() < 0.9 else JenisHak.HPL,  # the right applied for
        nib=_nib(place, rng) if measured else "",
        atas_nama=PEMKOT,
        luas_sertifikat_m2=_area_near(luas, rng, 0.02) if measured else None,
    )


def _disputed(rng: random.Random, acquired: dt.date, luas: Decimal, place: Place | None) -> DemoCertificate:
    base = (_issued if rng.random() < 0.5 else _in_process)(rng, acquired, luas, place)
    stage = Stage.SENGKETA if rng.random() < 0.6 else Stage.DIBLOKIR
    note = "Gugatan pihak ketiga" if stage == Stage.SENGKETA else "Catatan blokir BPN"
    event = DemoEvent(base.stage, stage, _between(rng, base.stage_since, AS_OF), "", note)
    return replace(base, stage=stage, stage_since=event.tanggal, events=(*base.events, event))


def _rejected_before(rng: random.Random, acquired: dt.date, current: DemoCertificate) -> tuple[DemoCertificate, ...]:
    """An earlier application, rejected by BPN, before the current one started (if there was time)."""
    first = current.events[0].tanggal
    start = max(acquired, first - dt.timedelta(days=1_500))
    if (first - start).days < 60:
        return ()
    events = _chain(
        [Stage.PERSIAPAN_BERKAS, Stage.DIAJUKAN_KE_BPN, Stage.DITOLAK], start, _between(rng, start, first), rng
    )
    return (DemoCertificate(stage=Stage.DITOLAK, stage_since=events[-1].tanggal, events=events, atas_nama=PEMKOT),)


def certificates_for(
    rng: random.Random, acquired: dt.date, luas: Decimal, place: Place | None
) -> tuple[DemoCertificate, ...]:
    """Half certified, a quarter in process, 2 % disputed or blocked, the rest none; ~1 % with two."""
    draw = rng.random()
    if draw < 0.50:
        main = _issued(rng, acquired, luas, place)
        if rng.random() < 0.015:  # one KIB row, two certificates: the parcel was certified in two parts
            part = (luas * Decimal(str(round(rng.uniform(0.3, 0.7), 2)))).quantize(CENT)
            return replace(main, luas_sertifikat_m2=part), _issued(rng, acquired, luas - part, place)
        return (main,)
    if draw < 0.75:
        main = _in_process(rng, acquired, luas, place)
        return (main, *_rejected_before(rng, acquired, main)) if rng.random() < 0.02 else (main,)
    if draw < 0.77:
        return (_disputed(rng, acquired, luas, place),)
    return ()


def _acquired(rng: random.Random) -> dt.date:
    # More land was acquired as the city grew: the triangular mode sits in the late 2010s.
    year = min(AS_OF.year, int(rng.triangular(FIRST_YEAR, AS_OF.year + 1, 2018)))
    return _between(rng, dt.date(year, 1, 1), dt.date(year, 12, 31))


def _kib_area(area_m2: float, rng: random.Random) -> tuple[Decimal, bool]:
    """The KIB area: the GIS area within 3 %, except for 5 % of rows off by 12 % to 80 %."""
    if rng.random() < 0.05:
        factor = rng.uniform(0.55, 0.88) if rng.random() < 0.5 else rng.uniform(1.12, 1.8)
    else:
        factor = rng.uniform(0.97, 1.03)
    return Decimal(round(area_m2 * factor)).quantize(CENT), abs(factor - 1) > 0.1


def _value(luas: Decimal, acquired: dt.date, place: Place | None, rng: random.Random) -> Decimal:
    base = KECAMATAN_DENSITY_PRICE.get(place.kecamatan_code if place else "", DEFAULT_DENSITY_PRICE)[1]
    price = base * math.exp(-PRICE_GROWTH * (AS_OF.year - acquired.year)) * rng.lognormvariate(0, 0.35)
    return Decimal(round(float(luas) * price, -3)).quantize(Decimal(1))


def _asal_usul(use: LandUse, rng: random.Random) -> str:
    if rng.random() < use.psu_share:
        return AsalUsul.PENYERAHAN_PSU
    return rng.choices(ASAL_USUL, cum_weights=ASAL_USUL_CUM_WEIGHTS)[0]


def _note(plotting: str, kib_differs: bool, rng: random.Random) -> str:
    draw = rng.random()
    if plotting == PlottingStatus.UNKNOWN and draw < 0.6:
        return "Lokasi belum diketahui, perlu inventarisasi lapangan"
    if plotting == PlottingStatus.APPROXIMATE and draw < 0.6:
        return "Lokasi perkiraan dari peta lama"
    if kib_differs and draw < 0.5:
        return "Luas KIB berbeda dengan hasil ukur"
    return rng.choice(NOTES) if draw > 0.97 else ""


def _agency(use: LandUse, place: Place | None, context: DemoContext, rng: random.Random) -> str:
    code = rng.choice(use.agencies)
    if code == KECAMATAN_OFFICE:
        return context.kecamatan_offices.get(place.kecamatan_code, "4.01.01") if place else "4.01.01"
    return code


def make_asset(
    use: LandUse, parcel: shapely.MultiPolygon, context: DemoContext, rng: random.Random, numbers: Numbering
) -> DemoAsset:
    """The KIB A row for one parcel, with its certificates and every derived field."""
    ref = context.index.assign(parcel)
    place = context.places.get(ref.id) if ref else None
    plotting = rng.choices(PLOTTING, cum_weights=PLOTTING_CUM_WEIGHTS)[0]
    located = plotting != PlottingStatus.UNKNOWN
    area = geodesic_area_m2(parcel)
    agency_code = _agency(use, place, context, rng)
    street, number, rt = rng.choice(STREETS), rng.randint(1, 120), rng.randint(1, 80)
    names = {
        "kel": place.kelurahan if place else "Balikpapan",
        "kec": place.kecamatan if place else "Balikpapan",
        "n": rng.randint(1, 40),
        "rt": rt,
        "street": street,
        "estate": rng.choice(ESTATES),
        "agency": context.agencies[agency_code][1],
    }
    acquired = _acquired(rng)
    luas_kib, kib_differs = _kib_area(area, rng)
    certificates = certificates_for(rng, acquired, luas_kib, place)
    status, leading, disputed = derive_certificate_status((c.stage, bool(c.nomor)) for c in certificates)
    return DemoAsset(
        kode_barang=use.kode_barang,
        nomor_register=numbers.next_register(use.kode_barang),
        nibar=numbers.next_nibar() if rng.random() < 0.7 else None,
        nama_barang=rng.choice(use.names).format(**names),
        alamat=f"Jl. {street} No. {number}, RT {rt:03d}, Kel. {names['kel']}, Kec. {names['kec']}",
        agency_code=agency_code,
        tanggal_perolehan=acquired,
        tahun_perolehan=acquired.year,
        asal_usul=_asal_usul(use, rng),
        nilai_perolehan=_value(luas_kib, acquired, place, rng),
        penggunaan=use.penggunaan,
        luas_kib_m2=luas_kib,
        keterangan=_note(plotting, kib_differs, rng),
        plotting_status=plotting,
        geom=parcel if located else None,
        luas_gis_m2=Decimal(str(area)).quantize(CENT) if located else None,  # as services._set_geometry
        kelurahan_id=ref.id if located and ref else None,
        kecamatan_id=ref.parent_id if located and ref else None,
        status_sertifikat=status,
        tahap_sertifikat=leading,
        bermasalah=disputed,
        certificates=certificates,
    )


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def generate_assets(context: DemoContext, *, count: int, seed: int) -> Iterator[DemoAsset]:
    """Exactly ``count`` demo assets, the same ones for the same seed, in grid order.

    The grid is planned at the call (a count too large for the city fails before anything is written);
    the assets come as the iterator is consumed.
    """
    city = city_from_context(context)
    grid, capacity = plan_grid(city, count)
    quotas = allocate(capacity, city.weights, count)
    cells = select_cells(grid, city, capacity, quotas, np.random.default_rng([seed, 0]))
    return _assets_in(cells, grid.cell, context, seed)


def _assets_in(
    cells: Iterator[tuple[float, float]], cell: float, context: DemoContext, seed: int
) -> Iterator[DemoAsset]:
    # Separate streams: the attributes drawn for a parcel do not depend on how parcels are chunked.
    shape_rng, attribute_rng = random.Random(f"{seed}:shapes"), random.Random(f"{seed}:attributes")
    numbers = Numbering(context.register_after, context.nibar_after)
    for chunk in _batched(cells, PARCEL_CHUNK):
        for use, parcel in parcels_in_cells(chunk, cell, shape_rng):
            yield make_asset(use, parcel, context, attribute_rng, numbers)


# --- Writers ----------------------------------------------------------------------------------------------

Progress = Callable[[int, int], None]


def _check_arguments(count: int, seed: int) -> None:
    if count < 1:
        raise DemoError("The count must be at least 1.")
    if seed < 0:
        raise DemoError("The seed must be zero or positive.")


def _report(progress: Progress | None, before: int, after: int, total: int) -> None:
    if progress and after // PROGRESS_EVERY > before // PROGRESS_EVERY:
        progress(after, total)


def populate_database(
    *,
    count: int,
    seed: int,
    existing: Literal["refuse", "append", "skip"] = "refuse",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> DemoSummary | None:
    """Write ``count`` demo assets with their certificates and events to the register, in one transaction.

    ``existing`` says what to do when the register already holds assets: refuse (DemoError), append
    (register numbers and NIBAR continue after the highest in use) or skip (write nothing, return None).
    """
    _check_arguments(count, seed)
    if batch_size < 1:
        raise DemoError("The batch size must be at least 1.")
    summary = DemoSummary()
    with transaction.atomic():
        if existing != "append" and LandAsset.objects.exists():
            if existing == "skip":
                return None
            raise DemoError("The register already holds assets: pass --append to add demo assets to them.")
        if not settings.SIPANAH_DEMO:
            raise DemoError("Demo assets are written to the database only when SIPANAH_DEMO=1 (never in production).")
        context = build_context(continue_numbering=existing == "append")
        for batch in _batched(generate_assets(context, count=count, seed=seed), batch_size):
            _insert(batch, context)
            before = summary.assets
            for asset in batch:
                summary.add(asset)
            _report(progress, before, summary.assets, count)
            reset_queries()  # with DEBUG on, Django keeps every SQL string: megabytes per batch
    return summary


def _insert(batch: list[DemoAsset], context: DemoContext) -> None:
    # bulk_create sets the primary keys on PostGIS and on SQLite >= 3.35 (RETURNING), which the children need.
    # Assets and certificates get their "created" history record, as when they are saved through the services.
    assets = bulk_create_with_history([_land_asset(a, context) for a in batch], LandAsset, default_change_reason=DEMO)
    pairs = [
        (c, Certificate(asset_id=asset.pk, **_certificate_fields(c)))
        for a, asset in zip(batch, assets, strict=True)
        for c in a.certificates
    ]
    bulk_create_with_history([cert for _demo, cert in pairs], Certificate, default_change_reason=DEMO)
    CertificateStageEvent.objects.bulk_create(
        CertificateStageEvent(
            certificate_id=cert.pk, from_stage=e.from_stage, to_stage=e.to_stage, tanggal=e.tanggal,
            nomor_dokumen=e.nomor_dokumen, catatan=e.catatan,
        )
        for demo, cert in pairs
        for e in demo.events
    )  # fmt: skip


def _land_asset(asset: DemoAsset, context: DemoContext) -> LandAsset:
    geom = None if asset.geom is None else GEOSGeometry(memoryview(shapely.to_wkb(asset.geom)), srid=STORAGE_SRID)
    return LandAsset(
        kode_barang=asset.kode_barang,
        nomor_register=asset.nomor_register,
        nibar=asset.nibar,
        nama_barang=asset.nama_barang,
        alamat=asset.alamat,
        agency_id=context.agencies[asset.agency_code][0],
        tanggal_perolehan=asset.tanggal_perolehan,
        tahun_perolehan=asset.tahun_perolehan,
        asal_usul=asset.asal_usul,
        nilai_perolehan=asset.nilai_perolehan,
        penggunaan=asset.penggunaan,
        luas_kib_m2=asset.luas_kib_m2,
        keterangan=asset.keterangan,
        geom=geom,
        plotting_status=asset.plotting_status,
        luas_gis_m2=asset.luas_gis_m2,
        kelurahan_id=asset.kelurahan_id,
        kecamatan_id=asset.kecamatan_id,
        status_sertifikat=asset.status_sertifikat,
        tahap_sertifikat=asset.tahap_sertifikat,
        bermasalah=asset.bermasalah,
    )


def _certificate_fields(c: DemoCertificate) -> dict[str, object]:
    return {
        "jenis_hak": c.jenis_hak,
        "nomor": c.nomor,
        "tanggal": c.tanggal,
        "nib": c.nib,
        "atas_nama": c.atas_nama,
        "luas_sertifikat_m2": c.luas_sertifikat_m2,
        "nomor_surat_ukur": c.nomor_surat_ukur,
        "tanggal_surat_ukur": c.tanggal_surat_ukur,
        "stage": c.stage,
        "stage_since": c.stage_since,
    }


# GeoPackage columns: the exported KIB A columns an import reads back (assets.register.kib), the asset's and its
# first certificate's.
GPKG_COLUMNS: tuple[kib.Column, ...] = tuple(c for c in kib.EXPORTED if c.import_field)


def gpkg_row(asset: DemoAsset) -> tuple[object, ...]:
    """Values in GPKG_COLUMNS order, as OGR takes them (None = null)."""
    cert = asset.certificates[0] if asset.certificates else None
    values = {
        **{c.name: getattr(asset, c.name, None) for c in GPKG_COLUMNS if not c.from_certificate},
        "tanggal_perolehan": _iso(asset.tanggal_perolehan),
        "nilai_perolehan": int(asset.nilai_perolehan),
        "luas_kib_m2": float(asset.luas_kib_m2),
    }
    if cert is not None:
        values.update(
            {c.name: getattr(cert, c.source.removeprefix(kib.CERT)) for c in GPKG_COLUMNS if c.from_certificate}
        )
        values["tanggal_sertifikat"] = _iso(cert.tanggal)
        area = cert.luas_sertifikat_m2
        values["luas_sertifikat_m2"] = float(area) if area is not None else None
    return tuple(values.get(c.name) for c in GPKG_COLUMNS)


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def export_geopackage(*, count: int, seed: int, path: Path, progress: Progress | None = None) -> DemoSummary:
    """Write ``count`` demo assets to a new GeoPackage (layer land_assets, EPSG:4326); the register is untouched."""
    _check_arguments(count, seed)
    if path.exists():
        raise DemoError(f"{path} already exists: remove it or choose another file.")
    assets = generate_assets(build_context(), count=count, seed=seed)
    partial = path.with_name(f"{path.stem}.partial{path.suffix or '.gpkg'}")  # renamed only when complete
    try:
        summary = _write_gpkg(assets, partial, count, progress)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return summary


def _write_gpkg(assets: Iterable[DemoAsset], path: Path, count: int, progress: Progress | None) -> DemoSummary:
    from osgeo import gdal, ogr, osr  # a system package (python3-gdal); only this export needs it

    # No fsync per transaction, and a fixed timestamp in gpkg_contents so that the same seed gives the same file.
    options = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_CURRENT_DATE": f"{AS_OF.isoformat()}T00:00:00.000Z"}
    previous = {key: gdal.GetConfigOption(key) for key in options}
    for key, value in options.items():
        gdal.SetConfigOption(key, value)
    try:
        dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
        if dataset is None:
            raise DemoError(f"Cannot create the GeoPackage {path}: {gdal.GetLastErrorMsg()}")
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(STORAGE_SRID)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        try:
            layer = dataset.CreateLayer(GPKG_LAYER, srs, ogr.wkbMultiPolygon, ["GEOMETRY_NAME=geom", "FID=fid"])
            for column in GPKG_COLUMNS:
                layer.CreateField(ogr.FieldDefn(column.name, getattr(ogr, f"OFT{column.ogr}")))
            summary = _write_features(dataset, layer, assets, count, progress)
        finally:
            # Close now, also on failure: a traceback would keep it open while the partial file is removed.
            dataset.Destroy()
    finally:
        for key, value in previous.items():
            gdal.SetConfigOption(key, value)
    return summary


def _write_features(
    dataset: ogr.DataSource, layer: ogr.Layer, assets: Iterable[DemoAsset], count: int, progress: Progress | None
) -> DemoSummary:
    from osgeo import ogr

    definition = layer.GetLayerDefn()
    summary = DemoSummary()
    dataset.StartTransaction()
    for asset in assets:
        feature = ogr.Feature(definition)
        for i, value in enumerate(gpkg_row(asset)):
            if value is not None:
                feature.SetField(i, value)
        if asset.geom is not None:
            feature.SetGeometryDirectly(ogr.CreateGeometryFromWkb(shapely.to_wkb(asset.geom)))
        if layer.CreateFeature(feature) != ogr.OGRERR_NONE:
            raise DemoError(f"Cannot write feature {summary.assets + 1} to the GeoPackage.")
        summary.add(asset)
        if summary.assets % GPKG_TRANSACTION_SIZE == 0:
            dataset.CommitTransaction()
            dataset.StartTransaction()
        _report(progress, summary.assets - 1, summary.assets, count)
    dataset.CommitTransaction()
    return summary
