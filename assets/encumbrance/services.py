"""Writes of the encumbrance room. Every change of a case, an agreement or a payment row goes through here, in a
transaction; a refused write raises ValidationError naming the field and the problem, and leaves nothing behind.

Nothing is deleted: a case is closed (SELESAI) or stopped (DIHENTIKAN) with a reason, an agreement ends or is
stopped with a reason, payment rows stay (a wrong one is corrected, and the history keeps what it was).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.encumbrance.models import (
    CLOSED_STAGES,
    CaseStage,
    CaseStageEvent,
    DisputeCase,
    Payment,
    Utilisation,
    UtilisationStatus,
)
from assets.encumbrance.rules import allowed_next_case_stages, clean_nik, clean_npwp
from assets.evidence.models import Document
from assets.register import permissions
from assets.register import services as register_services
from assets.register.geo import GeometryError, geodesic_area_m2, normalize_parcel_geometry
from assets.register.models import LandAsset, User

CASE_FIELDS = ("kind", "title", "parties", "description", "court_case_numbers", "next_hearing", "officer", "outcome")
UTILISATION_FIELDS = (
    "form", "partner_name", "partner_npwp", "partner_nik", "agreement_number", "agreement_date", "start_date",
    "end_date", "purpose", "tariff", "tariff_basis",
)  # fmt: skip


def _check_edit(user: User | None, assets: Iterable[LandAsset]) -> None:
    """A user (None: the system, demo and tests) may record on these assets only if they may change each."""
    if user is None:
        return
    for asset in assets:
        permissions.require_edit_asset(user, asset)


def _part(geom: GEOSGeometry | str | None, assets: list[LandAsset], field: str) -> tuple[Any, Decimal | None]:
    """The drawn part checked by the register's geometry rules (assets.register.geo) and its geodesic area. It must
    touch at least one of the assets' parcels when they have one (it may reach across a boundary)."""
    if geom is None or (isinstance(geom, str) and not geom.strip()):
        return None, None
    try:
        part = normalize_parcel_geometry(geom)
    except GeometryError as exc:
        raise ValidationError({field: str(exc)}) from exc
    located = [a.geom for a in assets if a.geom is not None]
    if located and not any(part.intersects(parcel) for parcel in located):
        raise ValidationError({field: _("The drawn part lies outside the parcel of the asset: draw it on the parcel.")})
    area = geodesic_area_m2(part)
    return part, Decimal(str(area)) if area is not None else None


def _refresh_flags(assets: Iterable[LandAsset]) -> None:
    for asset in assets:
        register_services.asset_refresh_certificate_status(asset)


# --- Dispute and occupation cases --------------------------------------------------------------------------


@transaction.atomic
def case_open(
    *, user: User | None, assets: list[LandAsset], geom: GEOSGeometry | str | None = None,
    opened_on: dt.date | None = None, **fields: Any,
) -> DisputeCase:  # fmt: skip
    """Open a case on one or several assets; its first stage event (IDENTIFIKASI) is written with it."""
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise TypeError(f"case_open() got unknown fields: {sorted(unknown)}")
    assets = list(dict.fromkeys(assets))
    if not assets:
        raise ValidationError({"assets": _("Name at least one asset the case is about.")})
    _check_edit(user, assets)
    opened_on = opened_on or timezone.localdate()
    if opened_on > timezone.localdate():
        raise ValidationError({"opened_on": _("A case cannot be opened in the future.")})
    case = DisputeCase(
        opened_on=opened_on, stage=CaseStage.IDENTIFIKASI, stage_since=opened_on, created_by=user, **fields
    )
    case.geom, case.area_m2 = _part(geom, assets, "geom")
    case.full_clean(exclude=["assets", "documents"])
    case.save()
    case.assets.set(assets)
    CaseStageEvent.objects.create(case=case, to_stage=CaseStage.IDENTIFIKASI, date=opened_on, user=user)
    _refresh_flags(assets)
    return case


_UNSET: Any = object()


@transaction.atomic
def case_update(
    *, case: DisputeCase, user: User | None, assets: list[LandAsset] | None = None, geom: Any = _UNSET,
    **fields: Any,
) -> DisputeCase:  # fmt: skip
    """Change a case's description, parties, court numbers, next hearing, officer, outcome, drawn part or
    assets. The stage moves only through :func:`case_move`."""
    unknown = set(fields) - set(CASE_FIELDS)
    if unknown:
        raise TypeError(f"case_update() got unknown fields: {sorted(unknown)}")
    before = list(case.assets.all())
    _check_edit(user, before)
    after = list(dict.fromkeys(assets)) if assets is not None else before
    if not after:
        raise ValidationError({"assets": _("Name at least one asset the case is about.")})
    _check_edit(user, after)
    for name, value in fields.items():
        setattr(case, name, value)
    if geom is not _UNSET:
        case.geom, case.area_m2 = _part(geom, after, "geom")
    case.full_clean(exclude=["assets", "documents"])
    case.save()
    if assets is not None:
        case.assets.set(after)
    _refresh_flags({a.pk: a for a in [*before, *after]}.values())
    return case


@transaction.atomic
def case_move(
    *, case: DisputeCase, user: User | None, to_stage: str, date: dt.date, note: str = "", court_case_number: str = ""
) -> CaseStageEvent:
    """Move a case to its next stage (a dated event; events are only added). Closing (SELESAI) or stopping
    (DIHENTIKAN) needs the reason in ``note``; the case keeps it and the assets' dispute flag is recomputed."""
    case = DisputeCase.objects.select_for_update().get(pk=case.pk)
    assets = list(case.assets.all())
    _check_edit(user, assets)
    if to_stage not in allowed_next_case_stages(case.stage):
        if case.stage in CLOSED_STAGES:
            raise ValidationError({"to_stage": _("This case is closed; open a new case instead.")})
        raise ValidationError(
            {"to_stage": _("A case in %(current)s cannot move to %(target)s.")
             % {"current": CaseStage(case.stage).label, "target": CaseStage(to_stage).label
                if to_stage in CaseStage.values else to_stage}}
        )  # fmt: skip
    if date > timezone.localdate():
        raise ValidationError({"date": _("A stage change cannot be dated in the future.")})
    if date < case.stage_since:
        raise ValidationError(
            {"date": _("The date is before the current stage began (%(since)s).") % {"since": case.stage_since}}
        )
    note = (note or "").strip()
    if to_stage in CLOSED_STAGES and not note:
        raise ValidationError({"note": _("Say why the case is closed or stopped.")})
    event = CaseStageEvent.objects.create(
        case=case, from_stage=case.stage, to_stage=to_stage, date=date, note=note,
        court_case_number=court_case_number.strip(), user=user,
    )  # fmt: skip
    case.stage, case.stage_since = to_stage, date
    number = court_case_number.strip()
    if number and number not in case.court_case_numbers:
        case.court_case_numbers = "; ".join(n for n in (case.court_case_numbers, number) if n)[:300]
    if to_stage in CLOSED_STAGES:
        case.closed_on, case.close_reason, case.next_hearing = date, note, None
    case.save()
    _refresh_flags(assets)
    return event


def case_attach_documents(*, case: DisputeCase, user: User | None, documents: Iterable[Document]) -> None:
    """Link documents already kept for one of the case's assets (through assets.evidence) to the case."""
    assets = {a.pk: a for a in case.assets.all()}
    _check_edit(user, assets.values())
    documents = list(documents)
    _documents_of(assets, documents)
    case.documents.add(*documents)


def _documents_of(assets: dict[int, LandAsset], documents: list[Document]) -> None:
    for document in documents:
        if document.asset_id not in assets:
            raise ValidationError({"documents": _("%(doc)s belongs to another asset.") % {"doc": document}})


# --- Pemanfaatan --------------------------------------------------------------------------------------------


def _clean_utilisation(utilisation: Utilisation) -> None:
    errors: dict[str, str] = {}
    if utilisation.partner_npwp:
        npwp = clean_npwp(utilisation.partner_npwp)
        if npwp is None:
            errors["partner_npwp"] = _("An NPWP has 15 or 16 digits.")
        else:
            utilisation.partner_npwp = npwp
    if utilisation.partner_nik:
        nik = clean_nik(utilisation.partner_nik)
        if nik is None:
            errors["partner_nik"] = _("A NIK has 16 digits.")
        else:
            utilisation.partner_nik = nik
    if utilisation.start_date and utilisation.end_date and utilisation.end_date < utilisation.start_date:
        errors["end_date"] = _("The end lies before the start.")
    if utilisation.agreement_date and utilisation.end_date and utilisation.agreement_date > utilisation.end_date:
        errors["agreement_date"] = _("The agreement is dated after its end.")
    if errors:
        raise ValidationError(errors)
    utilisation.full_clean(exclude=["documents"])


@transaction.atomic
def utilisation_create(
    *, user: User | None, asset: LandAsset, geom: GEOSGeometry | str | None = None, **fields: Any
) -> Utilisation:
    unknown = set(fields) - set(UTILISATION_FIELDS)
    if unknown:
        raise TypeError(f"utilisation_create() got unknown fields: {sorted(unknown)}")
    _check_edit(user, [asset])
    utilisation = Utilisation(asset=asset, created_by=user, status=UtilisationStatus.AKTIF, **fields)
    utilisation.geom, utilisation.area_m2 = _part(geom, [asset], "geom")
    _clean_utilisation(utilisation)
    utilisation.save()
    return utilisation


@transaction.atomic
def utilisation_update(
    *, utilisation: Utilisation, user: User | None, geom: Any = _UNSET, status: str | None = None,
    status_reason: str | None = None, **fields: Any,
) -> Utilisation:  # fmt: skip
    """Change an agreement's terms, drawn part or status. Stopping it (DIHENTIKAN) needs a reason."""
    unknown = set(fields) - set(UTILISATION_FIELDS)
    if unknown:
        raise TypeError(f"utilisation_update() got unknown fields: {sorted(unknown)}")
    _check_edit(user, [utilisation.asset])
    for name, value in fields.items():
        setattr(utilisation, name, value)
    if geom is not _UNSET:
        utilisation.geom, utilisation.area_m2 = _part(geom, [utilisation.asset], "geom")
    if status_reason is not None:
        utilisation.status_reason = status_reason.strip()
    if status is not None and status != utilisation.status:
        if status == UtilisationStatus.DIHENTIKAN and not (status_reason or "").strip():
            raise ValidationError({"status_reason": _("Say why the agreement is stopped.")})
        utilisation.status = status
    _clean_utilisation(utilisation)
    utilisation.save()
    return utilisation


def utilisation_attach_documents(*, utilisation: Utilisation, user: User | None, documents: Iterable[Document]) -> None:
    """Link documents already kept for the agreement's asset (through assets.evidence) to the agreement."""
    _check_edit(user, [utilisation.asset])
    documents = list(documents)
    _documents_of({utilisation.asset_id: utilisation.asset}, documents)
    utilisation.documents.add(*documents)


@transaction.atomic
def payment_add(
    *, utilisation: Utilisation, user: User | None, due_date: dt.date, amount_due: Decimal, note: str = ""
) -> Payment:
    """Add a row to the payment schedule."""
    _check_edit(user, [utilisation.asset])
    payment = Payment(utilisation=utilisation, due_date=due_date, amount_due=amount_due, note=note)
    payment.full_clean()
    payment.save()
    return payment


@transaction.atomic
def payment_record(
    *, payment: Payment, user: User | None, paid_amount: Decimal, paid_date: dt.date | None, receipt_number: str = ""
) -> Payment:
    """Record what was paid on a schedule row (the total paid so far, when, and the receipt)."""
    _check_edit(user, [payment.utilisation.asset])
    if paid_amount < 0:
        raise ValidationError({"paid_amount": _("A payment cannot be negative.")})
    if paid_amount > 0 and paid_date is None:
        raise ValidationError({"paid_date": _("Say when it was paid.")})
    if paid_date is not None and paid_date > timezone.localdate():
        raise ValidationError({"paid_date": _("A payment cannot be dated in the future.")})
    payment.paid_amount, payment.paid_date, payment.receipt_number = paid_amount, paid_date, receipt_number.strip()
    payment.full_clean()
    payment.save()
    return payment
