"""Reads of the encumbrance room: the querysets pages, work queues and findings show."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import F, Prefetch, QuerySet, Sum
from django.utils import timezone

from assets.encumbrance.models import (
    IN_USE_STATUSES,
    CaseStageEvent,
    DisputeCase,
    Payment,
    Utilisation,
)
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
    qs = Payment.objects.select_related("utilisation__asset__agency").filter(
        due_date__lt=today, paid_amount__lt=F("amount_due")
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


# --- per asset, for the audit findings ----------------------------------------------------------------------


def open_cases_by_asset(asset_ids: Iterable[int], as_of: dt.date | None = None) -> dict[int, list[DisputeCase]]:
    """The cases open on ``as_of`` (today when None) per asset: opened by then and not closed by then. As of a past
    date each case's ``stage`` and ``stage_since`` are those of its last stage event up to that date."""
    ids = set(asset_ids)
    result: dict[int, list[DisputeCase]] = defaultdict(list)
    through = DisputeCase.assets.through.objects.filter(landasset_id__in=ids)
    if as_of is None:
        through = through.filter(disputecase__closed_on__isnull=True)
    else:
        through = through.filter(disputecase__opened_on__lte=as_of).exclude(disputecase__closed_on__lte=as_of)
    pairs = list(through.values_list("landasset_id", "disputecase_id"))
    by_id = {c.pk: c for c in DisputeCase.objects.filter(pk__in={c for _a, c in pairs}).select_related("officer")}
    if as_of is not None:
        events = CaseStageEvent.objects.filter(case_id__in=by_id, date__lte=as_of).order_by("date", "id")
        for event in events:
            case = by_id[event.case_id]
            case.stage, case.stage_since = event.to_stage, event.date
    for asset_id, case_id in pairs:
        result[asset_id].append(by_id[case_id])
    return result


def in_use_by_asset(asset_ids: Iterable[int]) -> dict[int, list[Utilisation]]:
    result: dict[int, list[Utilisation]] = defaultdict(list)
    for u in Utilisation.objects.filter(asset_id__in=set(asset_ids), status__in=IN_USE_STATUSES).defer("geom"):
        result[u.asset_id].append(u)
    return result


def assets_with_any_utilisation(asset_ids: Iterable[int]) -> set[int]:
    return set(Utilisation.objects.filter(asset_id__in=set(asset_ids)).values_list("asset_id", flat=True))


def used_area_by_asset(asset_ids: Iterable[int]) -> dict[int, Decimal]:
    """The sum of the drawn used parts of the agreements still in use, per asset."""
    rows = (
        Utilisation.objects.filter(asset_id__in=set(asset_ids), status__in=IN_USE_STATUSES, area_m2__isnull=False)
        .values("asset_id")
        .annotate(total=Sum("area_m2"))
    )
    return {r["asset_id"]: r["total"] for r in rows}
