"""Matching the official register's rows with Sipanah's assets: set-based, in memory, no query per row.

1. by NIBAR (one dict lookup per row), 2. by kode barang + nomor register, 3. for the rest, likely pairs within the
same agency and acquisition year, scored on area, value and address (the nearest candidates by area only, so a
group of n rows costs n log n, never n²). Everything left is only on one side.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# The fields compared on a pair, in display order (the berita acara's and the item page's).
FIELDS: tuple[str, ...] = (
    "nilai_perolehan",
    "luas_kib_m2",
    "tahun_perolehan",
    "nomor_sertifikat",
    "tanggal_sertifikat",
    "agency",
    "alamat",
    "jenis_hak",
)
CERTIFICATE_FIELDS = frozenset({"nomor_sertifikat", "tanggal_sertifikat", "jenis_hak"})
PROPOSAL_THRESHOLD = 60  # a pair scoring less is not proposed
CANDIDATES = 6  # candidates by area on each side of an official row's area, within its agency and year


@dataclass(slots=True)
class Record:
    """One side's row as the matcher sees it (an official row, or a Sipanah asset with its leading certificate)."""

    id: int
    nibar: str = ""
    kode_barang: str = ""
    nomor_register: str = ""
    agency: int | None = None
    tahun_perolehan: int | None = None
    nilai_perolehan: Decimal | None = None
    luas_kib_m2: Decimal | None = None
    alamat: str = ""
    jenis_hak: str = ""
    nomor_sertifikat: str = ""
    tanggal_sertifikat: dt.date | None = None
    _tokens: frozenset[str] | None = field(default=None, repr=False)

    def tokens(self) -> frozenset[str]:
        if self._tokens is None:
            self._tokens = frozenset(t for t in normal_address(self.alamat).split() if len(t) > 1)
        return self._tokens


@dataclass(slots=True)
class Pair:
    official: int | None  # Record.id of the official row
    asset: int | None  # Record.id of the asset
    method: str  # "nibar", "kode_register", "proposed", ""
    score: int | None = None
    differences: list[str] = field(default_factory=list)
    agency: int | None = None
    sipanah_nilai: Decimal | None = None


_ABBREVIATIONS = {"jl": "jalan", "jln": "jalan", "kel": "kelurahan", "kec": "kecamatan", "no": "nomor", "rt": "rt",
                  "gg": "gang", "km": "km"}  # fmt: skip


def normal_address(text: str) -> str:
    words = re.sub(r"[^0-9a-z]+", " ", (text or "").lower()).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


def normal_register(value: str) -> str:
    text = (value or "").strip()
    return text.zfill(4) if text.isdigit() else text


def _normal(name: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if name == "alamat":
        return normal_address(value) or None
    if name == "nomor_sertifikat":
        return re.sub(r"\s+", "", str(value)).lstrip("0").upper() or None
    if name in ("nilai_perolehan", "luas_kib_m2"):
        return Decimal(value).normalize()
    return value


def differences(official: Record, asset: Record) -> list[str]:
    """The compared fields whose values differ (blank and missing are the same)."""
    found = []
    for name in FIELDS:
        a, b = getattr(official, name), getattr(asset, name)
        if a != b and _normal(name, a) != _normal(name, b):  # equal values need no normalising (most of them)
            found.append(name)
    return found


def _closeness(a: Decimal | None, b: Decimal | None) -> float:
    if a is None or b is None:
        return 0.0
    if a == b:
        return 1.0
    top = max(abs(a), abs(b))
    return max(0.0, 1.0 - float(abs(a - b) / top)) if top else 0.0


def score(official: Record, asset: Record) -> int:
    """0-100: area (40 %), value (30 %) and address words in common (30 %)."""
    return round(100 * _similarity(official, asset))


def _similarity(official: Record, asset: Record) -> float:
    a, b = official.tokens(), asset.tokens()
    address = len(a & b) / len(a | b) if a and b else 0.0
    return (0.4 * _closeness(official.luas_kib_m2, asset.luas_kib_m2)
            + 0.3 * _closeness(official.nilai_perolehan, asset.nilai_perolehan) + 0.3 * address)  # fmt: skip


def match(official: Iterable[Record], register: Iterable[Record]) -> list[Pair]:
    """Every official row and every asset, once each: paired (by NIBAR, kode + register, or proposed) or alone."""
    official = list(official)
    register = list(register)
    pairs: list[Pair] = []
    free_assets: dict[int, Record] = {r.id: r for r in register}
    left: list[Record] = []

    by_nibar = {r.nibar: r for r in register if r.nibar}
    for row in official:
        asset = by_nibar.get(row.nibar) if row.nibar else None
        if asset is not None and asset.id in free_assets:
            del free_assets[asset.id]
            pairs.append(
                Pair(row.id, asset.id, "nibar", None, differences(row, asset), asset.agency, asset.nilai_perolehan)
            )
        else:
            left.append(row)

    by_kode = {(r.kode_barang, normal_register(r.nomor_register)): r for r in free_assets.values()}
    rest: list[Record] = []
    for row in left:
        asset = by_kode.get((row.kode_barang, normal_register(row.nomor_register)))
        if asset is not None and asset.id in free_assets:
            del free_assets[asset.id]
            pairs.append(
                Pair(
                    row.id,
                    asset.id,
                    "kode_register",
                    None,
                    differences(row, asset),
                    asset.agency,
                    asset.nilai_perolehan,
                )
            )
        else:
            rest.append(row)

    return pairs + propose(rest, list(free_assets.values()))


def propose(rest: list[Record], free: list[Record]) -> list[Pair]:
    """Step 3, on what steps 1 and 2 left (official rows and assets paired with nothing): likely pairs, best first,
    each row and asset at most once; then the rows and assets left alone."""
    free_assets: dict[int, Record] = {r.id: r for r in free}
    pairs: list[Pair] = []
    unsorted: dict[tuple[int | None, int | None], list[Record]] = defaultdict(list)
    for asset in free_assets.values():
        unsorted[(asset.agency, asset.tahun_perolehan)].append(asset)
    groups = {key: _Sorted(items) for key, items in unsorted.items()}
    candidates: list[tuple[float, int, Record, Record]] = []
    for row in rest:
        group = groups.get((row.agency, row.tahun_perolehan))
        if not group or row.agency is None:
            continue
        at = bisect.bisect_left(group.keys, _area(row))
        for asset in group[max(0, at - CANDIDATES) : at + CANDIDATES]:
            value = _similarity(row, asset)
            if round(100 * value) >= PROPOSAL_THRESHOLD:
                candidates.append((-value, row.id, row, asset))
    candidates.sort(key=lambda c: (c[0], c[1], c[3].id))
    proposed: set[int] = set()
    for negative, _row_id, row, asset in candidates:
        if row.id in proposed or asset.id not in free_assets:
            continue
        proposed.add(row.id)
        del free_assets[asset.id]
        pairs.append(
            Pair(
                row.id,
                asset.id,
                "proposed",
                round(-100 * negative),
                differences(row, asset),
                asset.agency,
                asset.nilai_perolehan,
            )
        )
    pairs += [Pair(row.id, None, "", agency=row.agency) for row in rest if row.id not in proposed]
    pairs += [Pair(None, a.id, "", agency=a.agency, sipanah_nilai=a.nilai_perolehan) for a in free_assets.values()]
    return pairs


def _area(record: Record) -> float:
    return float(record.luas_kib_m2) if record.luas_kib_m2 is not None else -1.0


class _Sorted(list):
    """A group of assets sorted by area, with the areas for bisect."""

    def __init__(self, items: list[Record]):
        super().__init__(sorted(items, key=_area))
        self.keys = [_area(r) for r in self]
