"""The dashboard's numbers: the register by kecamatan or agency and certificate status, certification per year."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from assets.register.history import AssetState, Names, end_of_day
from assets.register.models import (
    CertificateStageEvent,
    CertificateStatus,
    Stage,
)

# --- Dashboard ------------------------------------------------------------------------------------------


@dataclass
class Cell:
    count: int = 0
    luas_m2: Decimal = Decimal(0)
    nilai: Decimal = Decimal(0)

    def add(self, asset: AssetState) -> None:
        self.count += 1
        self.luas_m2 += asset.luas_kib_m2
        self.nilai += asset.nilai_perolehan


def breakdown(assets: Iterable[AssetState], key: str, n: Names) -> list[tuple[str, dict[str, Cell], Cell]]:
    """Rows of (kecamatan or agency name, cells per certificate status, row total)."""
    table: dict[str, dict[str, Cell]] = defaultdict(lambda: {s: Cell() for s in CertificateStatus.values})
    for a in assets:
        label = n.area(a.kecamatan_id) if key == "kecamatan" else n.agency(a.agency_id)
        table[label][a.status].add(a)
    rows = []
    for label in sorted(table):
        total = Cell()
        for cell in table[label].values():
            total.count += cell.count
            total.luas_m2 += cell.luas_m2
            total.nilai += cell.nilai
        rows.append((label, table[label], total))
    return rows


def certification_progress(as_of: dt.date | None = None) -> list[tuple[int, int, int]]:
    """Per year: (year, cases started that year, certificates issued that year), from the stage events."""
    events = CertificateStageEvent.objects.all()
    if as_of:
        events = events.filter(tanggal__lte=as_of, created_at__lt=end_of_day(as_of))
    started: dict[int, int] = defaultdict(int)
    issued: dict[int, int] = defaultdict(int)
    for from_stage, to_stage, tanggal in events.values_list("from_stage", "to_stage", "tanggal").iterator():
        if to_stage == Stage.SERTIFIKAT_TERBIT:
            issued[tanggal.year] += 1
        elif from_stage in ("", Stage.BELUM) and to_stage != Stage.BELUM:
            started[tanggal.year] += 1
    years = sorted(set(started) | set(issued))
    return [(y, started[y], issued[y]) for y in years]
