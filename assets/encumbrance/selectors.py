"""Reads of the encumbrance room: the querysets pages, work queues and findings show."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import shapely
from django.contrib.gis.db.models.functions import AsWKB
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from assets.encumbrance.models import (
    CLOSED_STAGES,
    IN_USE_STATUSES,
    CaseStageEvent,
    DisputeCase,
    Payment,
    Utilisation,
)
from assets.register import geo
from assets.register.history import end_of_day
from assets.register.models import LandAsset

ALERT_DAYS = (90, 30)  # an agreement's end is announced this many days ahead
HEARING_DAYS = 14


def cases() -> QuerySet[DisputeCase]:
    return DisputeCase.objects.select_related("officer").prefetch_related(
        Prefetch("assets", queryset=LandAsset.objects.select_related("agency").defer("geom"))
    )


def open_cases() -> QuerySet[DisputeCase]:
    return cases().filter(closed_on__isnull=True)


def case_detail(pk: int) -> DisputeCase:
    events = CaseStageEvent.objects.select_related("user").order_by("date", "id")
    return cases().prefetch_related(Prefetch("events", queryset=events), "documents").get(pk=pk)


def asset_cases(asset: LandAsset) -> QuerySet[DisputeCase]:
    """An asset's cases, open ones first."""
    return cases().filter(assets=asset).order_by(F("closed_on").desc(nulls_first=True), "-opened_on", "-id")


def utilisations() -> QuerySet[Utilisation]:
    return Utilisation.objects.select_related("asset__agency").defer("asset__geom")


def asset_utilisations(asset: LandAsset) -> QuerySet[Utilisation]:
    return utilisations().filter(asset=asset).prefetch_related("payments")


def for_agency(qs: QuerySet, agency_id: int | None, path: str) -> QuerySet:
    """``qs`` limited to one agency's assets (``path``: the lookup to the asset's agency id), or all when None."""
    return qs if agency_id is None else qs.filter(**{path: agency_id}).distinct()


def ending_between(start: dt.date, end: dt.date, agency_id: int | None = None) -> QuerySet[Utilisation]:
    """Agreements still in use whose end date lies in [start, end]."""
    qs = utilisations().filter(status__in=IN_USE_STATUSES, end_date__gte=start, end_date__lte=end)
    return for_agency(qs, agency_id, "asset__agency_id").order_by("end_date", "id")


def expired_in_use(today: dt.date | None = None, agency_id: int | None = None) -> QuerySet[Utilisation]:
    """Agreements past their end date but still marked as in use (aktif or diperpanjang)."""
    today = today or timezone.localdate()
    qs = utilisations().filter(status__in=IN_USE_STATUSES, end_date__lt=today)
    return for_agency(qs, agency_id, "asset__agency_id").order_by("end_date", "id")


def overdue_payments(today: dt.date | None = None, agency_id: int | None = None) -> QuerySet[Payment]:
    """Schedule rows due before ``today`` and not paid in full."""
    today = today or timezone.localdate()
    qs = (
        Payment.objects.select_related("utilisation__asset__agency")
        .defer("utilisation__geom", "utilisation__asset__geom")
        .filter(due_date__lt=today, paid_amount__lt=F("amount_due"))
    )
    return for_agency(qs, agency_id, "utilisation__asset__agency_id").order_by("due_date", "id")


def hearings_within(
    days: int = HEARING_DAYS, today: dt.date | None = None, agency_id: int | None = None
) -> QuerySet[DisputeCase]:
    """Open cases with a hearing from today to ``days`` days ahead."""
    today = today or timezone.localdate()
    qs = open_cases().filter(next_hearing__gte=today, next_hearing__lte=today + dt.timedelta(days=days))
    return for_agency(qs, agency_id, "assets__agency_id").order_by("next_hearing", "id")


def revenue_by_year(agency_id: int | None = None) -> list[tuple[int, Decimal, Decimal]]:
    """(year of the due date, due, paid) per year, to the rupiah."""
    qs = for_agency(Payment.objects.all(), agency_id, "utilisation__asset__agency_id")
    totals: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for due_date, due, paid in qs.values_list("due_date", "amount_due", "paid_amount"):
        totals[due_date.year][0] += due
        totals[due_date.year][1] += paid
    return [(year, due, paid) for year, (due, paid) in sorted(totals.items())]


def open_cases_by_kecamatan_stage(agency_id: int | None = None) -> list[tuple[str, dict[str, int], int]]:
    """Open cases per kecamatan of their assets and stage: rows of (kecamatan name, count per stage, total). A case on
    assets in two kecamatan counts in each; assets without a kecamatan under "—"."""
    pairs = DisputeCase.assets.through.objects.filter(disputecase__closed_on__isnull=True)
    pairs = for_agency(pairs, agency_id, "landasset__agency_id")
    seen: set[tuple[str, int]] = set()
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = pairs.values_list("landasset__kecamatan__name", "disputecase_id", "disputecase__stage")
    for kecamatan, case_id, stage in rows:
        name = kecamatan or "—"
        if (name, case_id) not in seen:
            seen.add((name, case_id))
            table[name][stage] += 1
    return [(name, dict(table[name]), sum(table[name].values())) for name in sorted(table)]


# --- per asset, for the audit findings ----------------------------------------------------------------------


def open_cases_by_asset(asset_ids: Iterable[int], as_of: dt.date | None = None) -> dict[int, list[DisputeCase]]:
    """The cases open on ``as_of`` (today when None) per asset. As of a past date, as recorded by the end of that day
    (the register's as-of rule, register.history.open_case_asset_ids): opened and recorded by then, not closed by a
    stage event dated and recorded by then; each case's ``stage`` and ``stage_since`` are those of its last stage
    event so dated and recorded."""
    ids = set(asset_ids)
    result: dict[int, list[DisputeCase]] = defaultdict(list)
    # every open case is read and the assets kept in Python: there are far fewer cases than assets, and an IN list
    # of a whole register's ids costs more than the rows (docs/encumbrance.md, the findings' timings)
    through = DisputeCase.assets.through.objects.all()
    if as_of is None:
        pairs = list(through.filter(disputecase__closed_on__isnull=True).values_list("landasset_id", "disputecase_id"))
    else:
        recorded = end_of_day(as_of)
        through = through.filter(disputecase__opened_on__lte=as_of, disputecase__created_at__lt=recorded)
        closed = set(
            CaseStageEvent.objects.filter(to_stage__in=CLOSED_STAGES, date__lte=as_of, created_at__lt=recorded)
            .values_list("case_id", flat=True)
        )  # fmt: skip
        pairs = [p for p in through.values_list("landasset_id", "disputecase_id") if p[1] not in closed]
    pairs = [p for p in pairs if p[0] in ids]
    wanted = DisputeCase.objects.filter(pk__in={c for _a, c in pairs}).select_related("officer").defer("geom")
    by_id = {c.pk: c for c in wanted}
    if as_of is not None:
        events = CaseStageEvent.objects.filter(
            case_id__in=by_id, date__lte=as_of, created_at__lt=end_of_day(as_of)
        ).order_by("date", "id")
        for event in events:
            case = by_id[event.case_id]
            case.stage, case.stage_since = event.to_stage, event.date
    for asset_id, case_id in pairs:
        result[asset_id].append(by_id[case_id])
    return result


def utilisations_at(as_of: dt.date | None = None) -> QuerySet[Utilisation]:
    """The agreements now, or as recorded by the end of ``as_of`` (their history: django-simple-history)."""
    if as_of is None:
        return Utilisation.objects.defer("geom")
    return Utilisation.history.as_of(end_of_day(as_of))


def in_use_by_asset(asset_ids: Iterable[int], as_of: dt.date | None = None) -> dict[int, list[Utilisation]]:
    ids = set(asset_ids)
    result: dict[int, list[Utilisation]] = defaultdict(list)
    for u in utilisations_at(as_of).filter(status__in=IN_USE_STATUSES):
        if u.asset_id in ids:
            result[u.asset_id].append(u)
    return result


def assets_with_any_utilisation(asset_ids: Iterable[int], as_of: dt.date | None = None) -> set[int]:
    if as_of is None:
        return set(Utilisation.objects.values_list("asset_id", flat=True).distinct()) & set(asset_ids)
    return {u.asset_id for u in utilisations_at(as_of)} & set(asset_ids)


def used_area_by_asset(asset_ids: Iterable[int], as_of: dt.date | None = None) -> dict[int, Decimal]:
    """The sum of the drawn used parts of the agreements in use, per asset."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for assets in in_use_by_asset(asset_ids, as_of).values():
        for u in assets:
            if u.area_m2 is not None:
                totals[u.asset_id] += u.area_m2
    return dict(totals)


def overdue_payments_at(as_of: dt.date) -> list[Payment]:
    """The schedule rows overdue on ``as_of`` as recorded by the end of that day (due before it, not paid in full
    then), for the findings as of a date."""
    rows = Payment.history.as_of(end_of_day(as_of)).filter(due_date__lt=as_of, paid_amount__lt=F("amount_due"))
    return sorted(rows, key=lambda p: (p.due_date, p.pk))


@dataclass(frozen=True)
class EncumberedArea:
    cases: int
    disputed_m2: float  # the disputed parts of open cases inside the shape, overlaps counted once
    agreements: int
    used_m2: float  # the used parts of agreements in use inside the shape, overlaps counted once


def _area_inside(wkbs: list[bytes], shape: shapely.Geometry) -> float:
    if not wkbs:
        return 0.0
    union = shapely.union_all(shapely.from_wkb(wkbs))
    inside = shapely.intersection(union, shape)
    return float(geo.geodesic_areas_m2([inside])[0] or 0.0) if not inside.is_empty else 0.0


def encumbered_inside(shape: GEOSGeometry, assets: QuerySet[LandAsset]) -> EncumberedArea:
    """The planners' query: how much of the drawn shape is disputed (open cases) or let out (agreements in use),
    for the cases and agreements on the selected ``assets`` whose drawn part meets the shape (geodesic m²). The
    parts meeting the shape are found first (few), then kept when one of their assets is in the selection."""
    query = geo.to_shapely(shape)
    cases = {
        pk: bytes(wkb)
        for pk, wkb in DisputeCase.objects.filter(closed_on__isnull=True, geom__intersects=shape)
        .annotate(wkb=AsWKB("geom"))
        .values_list("pk", "wkb")
    }
    links = list(
        DisputeCase.assets.through.objects.filter(disputecase_id__in=cases).values_list(
            "disputecase_id", "landasset_id"
        )
    )
    used = list(
        Utilisation.objects.filter(status__in=IN_USE_STATUSES, geom__intersects=shape)
        .annotate(wkb=AsWKB("geom"))
        .values_list("asset_id", "wkb")
    )
    candidates = {a for _c, a in links} | {a for a, _w in used}
    selected = set(assets.filter(pk__in=candidates).values_list("pk", flat=True)) if candidates else set()
    case_parts = [cases[c] for c in sorted({c for c, a in links if a in selected})]
    used_parts = [bytes(w) for a, w in used if a in selected]
    return EncumberedArea(
        cases=len(case_parts),
        disputed_m2=round(_area_inside(case_parts, query), 2),
        agreements=len(used_parts),
        used_m2=round(_area_inside(used_parts, query), 2),
    )


def parts_in(
    envelope: GEOSGeometry, assets: QuerySet[LandAsset] | None = None
) -> tuple[list[tuple[int, str, str, bytes]], list[tuple[int, str, str, bytes]]]:
    """The map's layers in one envelope (lon/lat): (id, kind, stage, WKB) of the disputed parts of open cases and
    (id, form, status, WKB) of the used parts of agreements in use, kept when one of their assets is in ``assets``
    (None: the whole register)."""
    cases = list(
        DisputeCase.objects.filter(closed_on__isnull=True, geom__intersects=envelope)
        .annotate(wkb=AsWKB("geom"))
        .values_list("pk", "kind", "stage", "wkb")
    )
    used = list(
        Utilisation.objects.filter(status__in=IN_USE_STATUSES, geom__intersects=envelope)
        .annotate(wkb=AsWKB("geom"))
        .values_list("pk", "form", "status", "wkb", "asset_id")
    )
    if assets is not None:
        links = list(
            DisputeCase.assets.through.objects.filter(disputecase_id__in=[c[0] for c in cases]).values_list(
                "disputecase_id", "landasset_id"
            )
        )
        candidates = {a for _c, a in links} | {u[4] for u in used}
        selected = set(assets.filter(pk__in=candidates).values_list("pk", flat=True)) if candidates else set()
        kept = {c for c, a in links if a in selected}
        cases = [c for c in cases if c[0] in kept]
        used = [u for u in used if u[4] in selected]
    return (
        [(pk, kind, stage, bytes(wkb)) for pk, kind, stage, wkb in cases],
        [(pk, form, status, bytes(wkb)) for pk, form, status, wkb, _a in used],
    )
