"""The attributes of each parcel's KIB A row: names, addresses, dates, values, numbers and certificates."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from itertools import accumulate

import shapely

from assets.demo.context import DemoContext, Place
from assets.demo.records import DemoAsset, DemoCertificate, DemoError, DemoEvent
from assets.demo.tables import (
    AS_OF,
    DEFAULT_DENSITY_PRICE,
    KECAMATAN_DENSITY_PRICE,
    KECAMATAN_OFFICE,
    NIBAR_PREFIX,
    LandUse,
)
from assets.register.geo import geodesic_area_m2
from assets.register.models import AsalUsul, JenisHak, PlottingStatus, Stage
from assets.register.rules import derive_certificate_status

FIRST_YEAR = 1975
MAX_REGISTER = 999_999  # nomor_register has at most 6 digits
PEMKOT = "Pemerintah Kota Balikpapan"
CENT = Decimal("0.01")
PRICE_GROWTH = 0.11  # per year: land bought in 1975 cost about 0.4 % of today's price

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
