"""The dashboard's numbers and charts: the register by kecamatan, agency and acquisition period and certificate
status, certification per period, and the share certified per kecamatan and kelurahan (choropleths).

Each chart is a ``Chart``: its numbers (the rows of its XLSX sheet) and the SVG drawn from those same numbers, so
the page, the SVG/PNG downloads and the workbook cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from assets.audit import svg
from assets.encumbrance import selectors as encumbrance_selectors
from assets.encumbrance.models import CLOSED_STAGES, CaseStage
from assets.lib import cells
from assets.register import palette, selectors
from assets.register.history import AssetState, Names, end_of_day
from assets.register.models import (
    AdministrativeArea,
    CertificateStageEvent,
    CertificateStatus,
    Stage,
)

NO_LOCATION = gettext_lazy("No location recorded")

# --- Numbers --------------------------------------------------------------------------------------------


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
    """Rows of (kecamatan or agency name, cells per certificate status, row total); assets without a kecamatan
    come last, as "No location recorded"."""
    table: dict[str, dict[str, Cell]] = defaultdict(lambda: {s: Cell() for s in CertificateStatus.values})
    unlocated = str(NO_LOCATION)
    for a in assets:
        if key == "kecamatan":
            label = n.area(a.kecamatan_id) if a.kecamatan_id else unlocated
        else:
            label = n.agency(a.agency_id)
        table[label][a.status].add(a)
    rows = []
    for label in sorted(table, key=lambda name: (name == unlocated, name)):
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


@dataclass(frozen=True)
class Period:
    first: int
    last: int

    @property
    def label(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}–{self.last}"


def periods(years: Iterable[int]) -> list[Period]:
    """Consecutive periods covering the years: single years up to 12 of them, else 5-year periods (up to 60
    years) or decades, aligned on multiples of their length; the last one ends at the last year."""
    years = sorted(set(years))
    if not years:
        return []
    span = years[-1] - years[0] + 1
    width = 1 if span <= 12 else 5 if span <= 60 else 10
    start = years[0] - years[0] % width
    out = []
    while start <= years[-1]:
        out.append(Period(start, min(start + width - 1, years[-1])))
        start += width
    return out


def _period_of(year: int, bins: Sequence[Period]) -> Period:
    return next(p for p in bins if p.first <= year <= p.last)


def by_acquisition_period(assets: Sequence[AssetState]) -> list[tuple[Period, dict[str, int]]]:
    """Assets per acquisition period (tahun perolehan) and certificate status."""
    bins = periods(a.tahun_perolehan for a in assets)
    table = {p: dict.fromkeys(CertificateStatus.values, 0) for p in bins}
    for a in assets:
        table[_period_of(a.tahun_perolehan, bins)][a.status] += 1
    return list(table.items())


def progress_by_period(progress: Sequence[tuple[int, int, int]]) -> list[tuple[Period, int, int]]:
    """certification_progress summed per period: (period, cases started, certificates issued)."""
    bins = periods(year for year, _s, _i in progress)
    sums = {p: [0, 0] for p in bins}
    for year, started, issued in progress:
        cell = sums[_period_of(year, bins)]
        cell[0] += started
        cell[1] += issued
    return [(p, s, i) for p, (s, i) in sums.items()]


@dataclass(frozen=True)
class AreaShare:
    id: int
    code: str
    name: str
    total: int
    certified: int

    @property
    def share(self) -> float | None:
        return self.certified / self.total if self.total else None


def share_certified(assets: Iterable[AssetState], level: str) -> list[AreaShare]:
    """Per kecamatan or kelurahan (every area of the level, those without assets too): assets and certified ones."""
    attr = "kecamatan_id" if level == AdministrativeArea.Level.KECAMATAN else "kelurahan_id"
    total: dict[int, int] = defaultdict(int)
    certified: dict[int, int] = defaultdict(int)
    for a in assets:
        pk = getattr(a, attr)
        if pk:
            total[pk] += 1
            certified[pk] += a.status == CertificateStatus.TERBIT
    areas = AdministrativeArea.objects.filter(level=level).order_by("name").values_list("id", "code", "name")
    return [AreaShare(pk, code, name, total[pk], certified[pk]) for pk, code, name in areas]


# --- Charts ---------------------------------------------------------------------------------------------


@dataclass
class Chart:
    """One chart of the dashboard: its numbers (header and rows of its XLSX sheet) and its drawing."""

    slug: str
    title: str
    header: list[str]
    rows: list[list[Any]]
    draw: Callable[[int], str]  # width in pixels -> SVG
    wide: int = 600  # the width of the download and of the page on a wide screen
    narrow: int = 360  # the width drawn for a phone (or a narrow column)

    def svg(self, width: int | None = None) -> str:
        return self.draw(width or self.wide)


def status_series() -> list[tuple[str, str]]:
    return [(str(label), palette.STATUS_COLOURS[value]) for value, label in CertificateStatus.choices]


def _status_chart(slug: str, title: str, first: str, rows: list[tuple[str, dict[str, Cell], Cell]]) -> Chart:
    statuses = CertificateStatus.values
    series = status_series()
    data = [(label, [float(cells[s].count) for s in statuses]) for label, cells, _total in rows]
    return Chart(
        slug=slug,
        title=title,
        header=[first, *[name for name, _c in series], _("Total")],
        rows=[[label, *[cells[s].count for s in statuses], total.count] for label, cells, total in rows],
        draw=lambda width: svg.bar_chart(data, series, title=title, width=width, empty=_("No assets.")),
    )


def _share_chart(slug: str, title: str, level: str, shares: list[AreaShare], *, link: Callable[[str, str], str],
                 labels: bool, first: str) -> Chart:  # fmt: skip
    shapes = {area.id: area.geom for area in selectors.area_shapes(level)}

    areas = [
        svg.ShareArea(s.name, shapes[s.id], s.total, s.certified, link(level, s.code)) for s in shares if s.id in shapes
    ]
    legend = _("Share of assets certified (by count)")
    return Chart(
        slug=slug,
        title=title,
        header=[first, _("Kemendagri code"), _("Assets"), _("Certified"), _("Share certified (%)")],
        rows=[
            [s.name, s.code, s.total, s.certified, None if s.share is None else round(s.share * 100, 1)] for s in shares
        ],
        draw=lambda width: svg.choropleth(areas, title=title, width=width, labels=labels, legend_title=legend),
    )


def charts(
    assets: Sequence[AssetState], n: Names, *, as_of: dt.date | None, link: Callable[[str, str], str] | None = None
) -> dict[str, Chart]:
    """Every chart of the dashboard for the register as of ``as_of`` (``assets`` is that register).

    ``link(level, code)``: the page an area of a choropleth opens (the register filtered to it); none by default."""
    link = link or (lambda _level, _code: "")
    statuses = CertificateStatus.values
    series = status_series()
    kecamatan = _status_chart(
        "kecamatan",
        _("Assets by kecamatan and certificate status"),
        _("Kecamatan"),
        breakdown(assets, "kecamatan", n),
    )
    agency = _status_chart(
        "agency", _("Assets by agency and certificate status"), _("Agency"), breakdown(assets, "agency", n)
    )
    acquired = by_acquisition_period(assets)
    acquired_data = [(p.label, [float(counts[s]) for s in statuses]) for p, counts in acquired]
    acquired_title = _("Assets by acquisition period and certificate status")
    acquisition = Chart(
        slug="acquisition",
        title=acquired_title,
        header=[_("Period"), *[name for name, _c in series], _("Total")],
        rows=[[p.label, *[c[s] for s in statuses], sum(c.values())] for p, c in acquired],
        draw=lambda width: svg.bar_chart(
            acquired_data, series, title=acquired_title, width=width, empty=_("No assets.")
        ),
    )
    progress = progress_by_period(certification_progress(as_of))
    progress_series = [
        (_("Cases started"), palette.STATUS_COLOURS[CertificateStatus.PROSES]),
        (_("Certificates issued"), palette.STATUS_COLOURS[CertificateStatus.TERBIT]),
    ]
    progress_data = [(p.label, [float(s), float(i)]) for p, s, i in progress]
    progress_title = _("Certification cases started and certificates issued per period")
    progress_chart = Chart(
        slug="progress",
        title=progress_title,
        header=[_("Period"), _("Cases started"), _("Certificates issued")],
        rows=[[p.label, s, i] for p, s, i in progress],
        draw=lambda width: svg.bar_chart(
            progress_data,
            progress_series,
            title=progress_title,
            width=width,
            stacked=False,
            empty=_("No stage changes recorded."),
        ),
    )
    level = AdministrativeArea.Level
    share_kecamatan = _share_chart(
        "share-kecamatan",
        _("Share certified per kecamatan"),
        level.KECAMATAN,
        share_certified(assets, level.KECAMATAN),
        link=link,
        labels=True,
        first=_("Kecamatan"),
    )
    share_kelurahan = _share_chart(
        "share-kelurahan",
        _("Share certified per kelurahan"),
        level.KELURAHAN,
        share_certified(assets, level.KELURAHAN),
        link=link,
        labels=False,
        first=_("Kelurahan"),
    )
    result = [
        kecamatan,
        share_kecamatan,
        agency,
        share_kelurahan,
        acquisition,
        progress_chart,
        *encumbrance_charts(as_of),
    ]
    return {c.slug: c for c in result}


def encumbrance_charts(as_of: dt.date | None = None) -> list[Chart]:
    """Pemanfaatan revenue per year (due vs paid) and open dispute cases by kecamatan and stage (assets.encumbrance),
    now or as recorded by the end of ``as_of`` (the page's date)."""
    revenue = encumbrance_selectors.revenue_by_year(as_of=as_of)
    revenue_title = _("Utilisation revenue per year (Rp million)")
    revenue_series = [(_("Due"), svg.PALETTE[1]), (_("Paid"), svg.PALETTE[4])]
    revenue_data = [(str(year), [float(due) / 1e6, float(paid) / 1e6]) for year, due, paid in revenue]
    stages = [s for s in CaseStage if s not in CLOSED_STAGES]
    cases = encumbrance_selectors.open_cases_by_kecamatan_stage(as_of=as_of)
    cases_title = _("Open dispute cases by kecamatan and stage")
    cases_series = [(str(s.label), colour) for s, colour in zip(stages, svg.PALETTE, strict=False)]
    cases_data = [(name, [float(counts.get(s, 0)) for s in stages]) for name, counts, _total in cases]
    return [
        Chart(
            slug="revenue",
            title=revenue_title,
            header=[_("Year"), _("Due (Rp)"), _("Paid (Rp)"), _("Outstanding (Rp)")],
            rows=[[year, due, paid, due - paid] for year, due, paid in revenue],
            draw=lambda width: svg.bar_chart(
                revenue_data,
                revenue_series,
                title=revenue_title,
                width=width,
                stacked=False,
                empty=_("No payment row."),
            ),  # fmt: skip
        ),
        Chart(
            slug="cases",
            title=cases_title,
            header=[_("Kecamatan"), *[str(s.label) for s in stages], _("Total")],
            rows=[[name, *[counts.get(s, 0) for s in stages], total] for name, counts, total in cases],
            draw=lambda width: svg.bar_chart(
                cases_data, cases_series, title=cases_title, width=width, empty=_("No case.")
            ),
        ),
    ]


def xlsx_file(charts: Iterable[Chart], *, as_of: dt.date | None) -> IO[bytes]:
    """The charts' numbers as a workbook, one sheet per chart (its title in the first row, the as-of date in the
    second, then the header and the rows), in a temporary file (rewound)."""
    wb = Workbook(write_only=True)
    day = as_of.isoformat() if as_of else _("now (current register)")
    for i, chart in enumerate(charts, start=1):
        ws = wb.create_sheet(_sheet_title(chart.title, i))
        ws.column_dimensions["A"].width = 44  # names of agencies and kelurahan
        for letter in "BCDEF":
            ws.column_dimensions[letter].width = 16
        ws.append(cells.xlsx_row(ws, [chart.title]))
        ws.append(cells.xlsx_row(ws, [_("Register as of"), day]))
        ws.append(cells.xlsx_row(ws, list(chart.header)))
        for row in chart.rows:
            ws.append(cells.xlsx_row(ws, list(row)))
    target = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it
    wb.save(target)
    target.seek(0)
    return target


XLSX_HEADER_ROW = 3  # the row of each sheet holding the chart's column names; its numbers follow


def _sheet_title(title: str, i: int) -> str:
    for ch in "[]:*?/\\":
        title = title.replace(ch, " ")
    return f"{i} {title}"[:31]
