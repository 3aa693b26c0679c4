"""Reads of the encumbrance room: the querysets pages, work queues and findings show."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import shapely
from django.contrib.gis.db.models.functions import AsWKB
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import Case, Exists, F, OuterRef, Prefetch, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from assets.encumbrance.models import (
    CLOSED_STAGES,
    IN_USE_STATUSES,
    CaseKind,
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


def payments_at(as_of: dt.date | None = None) -> QuerySet[Payment]:
    """The schedule rows now, or as recorded by the end of ``as_of`` (their history)."""
    return Payment.objects.all() if as_of is None else Payment.history.as_of(end_of_day(as_of))


def revenue_by_year(agency_id: int | None = None, as_of: dt.date | None = None) -> list[tuple[int, Decimal, Decimal]]:
    """(year of the due date, due, paid) per year, to the rupiah; as of a date, the schedule and payments as recorded
    by the end of that day."""
    qs = for_agency(payments_at(as_of), agency_id, "utilisation__asset__agency_id")
    totals: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for due_date, due, paid in qs.values_list("due_date", "amount_due", "paid_amount"):
        totals[due_date.year][0] += due
        totals[due_date.year][1] += paid
    return [(year, due, paid) for year, (due, paid) in sorted(totals.items())]


def open_cases_by_kecamatan_stage(
    agency_id: int | None = None, as_of: dt.date | None = None
) -> list[tuple[str, dict[str, int], int]]:
    """Open cases per kecamatan of their assets and stage: rows of (kecamatan name, count per stage, total). A case on
    assets in two kecamatan counts in each; assets without a kecamatan under "—". As of a date: the cases open then
    (open_case_ids), their stage then (case_rows_at), the assets' kecamatan and agency then (the register's
    history); cases on assets the register did not hold then are left out."""
    seen: set[tuple[str, int]] = set()
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if as_of is None:
        pairs = DisputeCase.assets.through.objects.filter(disputecase__closed_on__isnull=True)
        pairs = for_agency(pairs, agency_id, "landasset__agency_id")
        rows = list(pairs.values_list("landasset__kecamatan__name", "disputecase_id", "disputecase__stage"))
    else:
        stage_of = dict(case_rows_at(as_of).values_list("id", "stage"))
        links = list(
            DisputeCase.assets.through.objects.filter(disputecase_id__in=stage_of).values_list(
                "landasset_id", "disputecase_id"
            )
        )
        assets = LandAsset.history.as_of(end_of_day(as_of)).filter(id__in={a for a, _c in links})
        if agency_id is not None:
            assets = assets.filter(agency_id=agency_id)
        kecamatan = dict(assets.values_list("id", "kecamatan__name"))
        rows = [(kecamatan[a], c, stage_of[c]) for a, c in links if a in kecamatan]
    for name, case_id, stage in rows:
        name = name or "—"
        if (name, case_id) not in seen:
            seen.add((name, case_id))
            table[name][stage] += 1
    return [(name, dict(table[name]), sum(table[name].values())) for name in sorted(table)]


# --- as of a date: the cases open and the agreements in use then --------------------------------------------------


def open_case_ids(as_of: dt.date) -> QuerySet[DisputeCase]:
    """The ids (a values queryset) of the cases open on ``as_of``, as recorded by the end of that day: the
    register's rule (register.history.open_case_asset_ids): opened and recorded by then, not closed by a SELESAI
    or DIHENTIKAN event dated and recorded by then."""
    recorded = end_of_day(as_of)
    closed = CaseStageEvent.objects.filter(to_stage__in=CLOSED_STAGES, date__lte=as_of, created_at__lt=recorded)
    return (
        DisputeCase.objects.filter(opened_on__lte=as_of, created_at__lt=recorded)
        .exclude(pk__in=closed.values("case_id"))
        .values("pk")
    )


def case_rows_at(as_of: dt.date | None = None) -> QuerySet:
    """The open cases: now their rows, as of a date the rows of the cases then open (open_case_ids) as recorded by
    the end of that day, one per case (the historical table's rows: same columns, ``id`` the case's)."""
    if as_of is None:
        return DisputeCase.objects.filter(closed_on__isnull=True)
    versions = DisputeCase.history.as_of(end_of_day(as_of)).filter(id__in=open_case_ids(as_of))
    return DisputeCase.history.model._default_manager.filter(history_id__in=versions.values("history_id"))


def utilisation_rows_at(as_of: dt.date | None = None) -> QuerySet:
    """The agreements in use (aktif, diperpanjang): now their rows, as of a date their rows as recorded by the end of
    that day, one per agreement (the historical table's rows: same columns, ``id`` the agreement's)."""
    if as_of is None:
        return Utilisation.objects.filter(status__in=IN_USE_STATUSES)
    versions = Utilisation.history.as_of(end_of_day(as_of)).filter(status__in=IN_USE_STATUSES)
    return Utilisation.history.model._default_manager.filter(history_id__in=versions.values("history_id"))


# --- per asset, for the audit findings ----------------------------------------------------------------------


def open_cases_by_asset(asset_ids: Iterable[int] | None, as_of: dt.date | None = None) -> dict[int, list[DisputeCase]]:
    """The cases open on ``as_of`` (today when None) per asset (of ``asset_ids``; None: every asset). As of a past
    date, as recorded by the end of that day (the register's as-of rule, register.history.open_case_asset_ids):
    opened and recorded by then, not closed by a stage event dated and recorded by then; each case's ``stage`` and
    ``stage_since`` are those of its last stage event so dated and recorded."""
    ids = None if asset_ids is None else set(asset_ids)
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
    pairs = [p for p in pairs if ids is None or p[0] in ids]
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


# --- the audit findings' rows: one SQL statement each on the live tables; as of a date, from the history ------------
# Rows are plain tuples (no model instances): the findings wrap each in a FindingRow and nothing else
# (docs/encumbrance.md, "Findings"; bench/bench_encumbrance.py times them against hand-written SQL).


class CaseRow(NamedTuple):
    asset_id: int
    case_id: int
    title: str
    kind: str
    stage: str
    opened_on: dt.date
    next_hearing: dt.date | None
    court_case_numbers: str
    parties: str
    officer_first: str  # the officer's names: "" when none, or when not asked (open_case_rows)
    officer_last: str
    officer_username: str

    @property
    def officer(self) -> str:
        """The responsible officer's full name, else username; "" when none."""
        return f"{self.officer_first or ''} {self.officer_last or ''}".strip() or (self.officer_username or "")


_CASE_COLUMNS = (
    "landasset_id", "disputecase_id", "disputecase__title", "disputecase__kind", "disputecase__stage",
    "disputecase__opened_on", "disputecase__next_hearing", "disputecase__court_case_numbers",
    "disputecase__parties",
)  # fmt: skip
_OFFICER_COLUMNS = ("disputecase__officer__first_name", "disputecase__officer__last_name",
                    "disputecase__officer__username")  # fmt: skip


def open_case_rows(
    as_of: dt.date | None = None,
    *,
    hearing_between: tuple[dt.date, dt.date] | None = None,
    kind: str | None = None,
    without_agreement: bool = False,
    with_officer: bool = False,
) -> list[CaseRow]:
    """(asset, case) pairs of the cases open on ``as_of`` (today when None; as of a date by the register's rule,
    open_cases_by_asset), optionally only those with a hearing in [first, last], of one ``kind``, or on assets
    without any agreement (then or now); the officer's names when ``with_officer`` (a join). Ordered by the kind's
    label in the active language (as the findings list them), opening date, case and asset."""
    rank = {kind: i for i, (kind, _label) in enumerate(sorted(CaseKind.choices, key=lambda c: str(c[1])))}
    if as_of is None:
        qs = DisputeCase.assets.through.objects.filter(disputecase__closed_on__isnull=True)
        if hearing_between is not None:
            qs = qs.filter(disputecase__next_hearing__range=hearing_between)
        if kind is not None:
            qs = qs.filter(disputecase__kind=kind)
        if without_agreement:
            qs = qs.exclude(Exists(Utilisation.objects.filter(asset_id=OuterRef("landasset_id"))))
        by_label = Case(*[When(disputecase__kind=k, then=Value(i)) for k, i in rank.items()], default=Value(len(rank)))
        qs = qs.order_by(by_label, "disputecase__opened_on", "disputecase_id", "landasset_id")
        if with_officer:
            return list(map(CaseRow._make, qs.values_list(*_CASE_COLUMNS, *_OFFICER_COLUMNS)))
        return [CaseRow(*row, "", "", "") for row in qs.values_list(*_CASE_COLUMNS)]
    rows = []
    with_agreement = {u.asset_id for u in utilisations_at(as_of)} if without_agreement else set()
    for asset_id, cases in open_cases_by_asset(None, as_of).items():
        if asset_id in with_agreement:
            continue
        for case in cases:
            if kind is not None and case.kind != kind:
                continue
            if hearing_between is not None and not (
                case.next_hearing and hearing_between[0] <= case.next_hearing <= hearing_between[1]
            ):
                continue
            officer = case.officer
            names = (officer.first_name, officer.last_name, officer.username) if officer else ("", "", "")
            rows.append(CaseRow(asset_id, case.pk, case.title, case.kind, case.stage, case.opened_on,
                                case.next_hearing, case.court_case_numbers, case.parties, *names))  # fmt: skip
    rows.sort(key=lambda r: (rank[r.kind], r.opened_on, r.case_id, r.asset_id))
    return rows


def expired_in_use_rows(today: dt.date, as_of: dt.date | None = None) -> list[tuple[int, int, str, str, str, dt.date]]:
    """(asset, agreement, form, number, partner, end) of the agreements in use whose end is before ``today``, oldest
    end first; as of a date from the agreements' history."""
    qs = utilisations_at(as_of).filter(status__in=IN_USE_STATUSES, end_date__lt=today)
    columns = ("asset_id", "id", "form", "agreement_number", "partner_name", "end_date")
    return list(qs.order_by("end_date", "id").values_list(*columns))


def overdue_payment_rows(
    today: dt.date, as_of: dt.date | None = None
) -> list[tuple[int, str, str, dt.date, Decimal, Decimal]]:
    """(asset, agreement number, partner, due date, amount due, paid) of the schedule rows due before ``today`` and
    not paid in full, oldest first; as of a date from the payments' history."""
    payments = Payment.objects.all() if as_of is None else Payment.history.as_of(end_of_day(as_of))
    qs = payments.filter(due_date__lt=today, paid_amount__lt=F("amount_due"))
    columns = ("utilisation__asset_id", "utilisation__agreement_number", "utilisation__partner_name", "due_date",
               "amount_due", "paid_amount")  # fmt: skip
    return list(qs.order_by("due_date", "id").values_list(*columns))


def used_area_rows(as_of: dt.date | None = None) -> list[tuple[int, Decimal]]:
    """(asset, the summed area of the drawn used parts of its agreements in use)."""
    qs = utilisations_at(as_of).filter(status__in=IN_USE_STATUSES, area_m2__isnull=False)
    return list(qs.order_by().values("asset_id").annotate(used=Sum("area_m2")).values_list("asset_id", "used"))


def used_over_parcel_rows(tolerance_pct: Decimal, tolerance_m2: Decimal) -> list[tuple[int, Decimal]]:
    """The live register's (asset, used area) where the agreements in use together cover more than the parcel (GIS
    area, else KIB) by more than the larger of ``tolerance_pct`` % of it and ``tolerance_m2``: grouped and compared
    in SQL. The findings compare again in Decimal (the database's arithmetic may be binary floating point), so a
    row at the edge is decided as on a past date."""
    parcel = Coalesce("asset__luas_gis_m2", "asset__luas_kib_m2")
    slack = tolerance_m2 - Decimal("0.01")  # a cent of m² below the exact bound: the Decimal check decides
    qs = (
        Utilisation.objects.filter(status__in=IN_USE_STATUSES, area_m2__isnull=False)
        .order_by()
        .values("asset_id")
        .annotate(used=Sum("area_m2"), parcel=parcel)
        .filter(parcel__isnull=False)
        .alias(excess=F("used") - F("parcel"))
        .filter(excess__gt=Greatest(F("parcel") * (tolerance_pct / 100) - Decimal("0.01"), Value(slack)))
    )
    return list(qs.values_list("asset_id", "used"))


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
    envelope: GEOSGeometry,
    selected: Callable[[set[int]], set[int]] | None = None,
    as_of: dt.date | None = None,
) -> tuple[list[tuple[int, str, str, bytes]], list[tuple[int, str, str, bytes]]]:
    """The map's layers in one envelope (lon/lat): (id, kind, stage, WKB) of the disputed parts of open cases and
    (id, form, status, WKB) of the used parts of agreements in use, now or as of a date (case_rows_at,
    utilisation_rows_at), kept when one of their assets is in the selection: ``selected`` gives which of some
    asset ids it holds (None: the whole register)."""
    cases = list(
        case_rows_at(as_of)
        .filter(geom__intersects=envelope)
        .annotate(wkb=AsWKB("geom"))
        .values_list("id", "kind", "stage", "wkb")
    )
    used = list(
        utilisation_rows_at(as_of)
        .filter(geom__intersects=envelope)
        .annotate(wkb=AsWKB("geom"))
        .values_list("id", "form", "status", "wkb", "asset_id")
    )
    if selected is not None:
        links = list(
            DisputeCase.assets.through.objects.filter(disputecase_id__in=[c[0] for c in cases]).values_list(
                "disputecase_id", "landasset_id"
            )
        )
        candidates = {a for _c, a in links} | {u[4] for u in used}
        chosen = selected(candidates) if candidates else set()
        kept = {c for c, a in links if a in chosen}
        cases = [c for c in cases if c[0] in kept]
        used = [u for u in used if u[4] in chosen]
    return (
        [(pk, kind, stage, bytes(wkb)) for pk, kind, stage, wkb in cases],
        [(pk, form, status, bytes(wkb)) for pk, form, status, wkb, _a in used],
    )
