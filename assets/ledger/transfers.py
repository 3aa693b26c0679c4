"""Transfers of assets between agencies (mutasi / alih status penggunaan): propose, approve with the SK, reject,
cancel. An approval changes the asset's agency through the register's services, inside
``services.agency_transfer()`` (the only way an existing asset's agency changes), with a history row dated on the
effective date, so the asset's history and the register as of a date follow it."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.evidence.models import Document
from assets.ledger.models import AgencyTransfer, ReconciliationRun
from assets.register import permissions
from assets.register import services as register
from assets.register.history import end_of_day
from assets.register.models import Agency, LandAsset, User

OPEN = AgencyTransfer.Status.PROPOSED


def can_propose(user: User, asset: LandAsset) -> bool:
    """The owning agency's officer, BPKAD and admins."""
    return permissions.can_edit_asset(user, asset)


def can_decide(user: User) -> bool:
    return permissions.can_edit_all(user)


@transaction.atomic
def propose(
    *,
    asset: LandAsset,
    to_agency: Agency,
    user: User | None,
    reason: str,
    kind: str = AgencyTransfer.Kind.MUTASI,
    run: ReconciliationRun | None = None,
) -> AgencyTransfer:
    asset = LandAsset.objects.select_for_update().get(pk=asset.pk)
    if user is not None and not can_propose(user, asset):
        raise PermissionDenied(permissions.edit_asset_refusal(user, asset) or _("Your role does not allow this."))
    errors: dict[str, list[str]] = {}
    if to_agency.pk == asset.agency_id:
        errors["to_agency"] = [_("The asset already belongs to %(agency)s.") % {"agency": to_agency}]
    if not (reason or "").strip():
        errors["reason"] = [_("Say why the asset is transferred.")]
    if kind not in AgencyTransfer.Kind.values:
        errors["kind"] = [_("Unknown kind of transfer.")]
    if AgencyTransfer.objects.filter(asset=asset, status=OPEN).exists():
        errors["asset"] = [_("This asset already has a proposed transfer: decide on it first.")]
    if errors:
        raise ValidationError(errors)
    return AgencyTransfer.objects.create(
        asset=asset,
        kind=kind,
        from_agency_id=asset.agency_id,
        to_agency=to_agency,
        reason=reason.strip(),
        proposed_by=user,
        run=run,
    )


def _locked(transfer: AgencyTransfer, user: User | None) -> AgencyTransfer:
    if user is not None and not can_decide(user):
        raise PermissionDenied(_("Only BPKAD approves or rejects a transfer."))
    locked = AgencyTransfer.objects.select_for_update().get(pk=transfer.pk)
    if locked.status != OPEN:
        raise ValidationError(_("This transfer is %(status)s already.") % {"status": locked.get_status_display()})
    return locked


@transaction.atomic
def approve(
    *,
    transfer: AgencyTransfer,
    user: User | None,
    sk_nomor: str,
    sk_tanggal: dt.date | None,
    effective_date: dt.date | None,
    document: Document | None,
    note: str = "",
) -> AgencyTransfer:
    """Approve with the SK (number, date, its scan among the asset's documents) and apply on the effective date."""
    transfer = _locked(transfer, user)
    asset = LandAsset.objects.select_for_update().get(pk=transfer.asset_id)
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    if not (sk_nomor or "").strip():
        errors["sk_nomor"] = [_("An approval needs the number of its decree (SK).")]
    if sk_tanggal is None:
        errors["sk_tanggal"] = [_("An approval needs the date of its decree (SK).")]
    elif sk_tanggal > today:
        errors["sk_tanggal"] = [_("The date %(date)s is in the future.") % {"date": sk_tanggal.isoformat()}]
    if document is None or document.asset_id != asset.pk or document.withdrawn_at is not None:
        errors["document"] = [
            _("Choose the scan of the SK among the asset's documents (upload it on the asset's page first).")
        ]
    last = asset.history.order_by("-history_date").values_list("history_date", flat=True).first()
    if effective_date is None:
        errors["effective_date"] = [_("An approval needs the date the transfer takes effect.")]
    elif effective_date > today:
        errors["effective_date"] = [
            _("The transfer takes effect on %(date)s: approve it on or after that day.")
            % {"date": effective_date.isoformat()}
        ]
    elif last is not None and end_of_day(effective_date) < last:
        errors["effective_date"] = [
            _(
                "The asset's history has a later change (%(last)s) than the effective date: the history is never "
                "rewritten, so the effective date can be %(first)s or later."
            )
            % {
                "last": timezone.localtime(last).date().isoformat(),
                "first": timezone.localtime(last).date().isoformat(),
            }
        ]
    if asset.agency_id != transfer.from_agency_id:
        errors["asset"] = [_("The asset no longer belongs to %(agency)s.") % {"agency": transfer.from_agency}]
    if errors:
        raise ValidationError(errors)
    assert effective_date is not None and document is not None  # noqa: S101 - checked above
    transfer.status = AgencyTransfer.Status.APPROVED
    transfer.sk_nomor, transfer.sk_tanggal, transfer.sk_document = sk_nomor.strip(), sk_tanggal, document
    transfer.effective_date, transfer.decided_by, transfer.decided_at = effective_date, user, timezone.now()
    transfer.decision_note = note
    transfer.save()
    asset._change_reason = (
        _("Transfer SK %(sk)s, effective %(date)s") % {"sk": transfer.sk_nomor, "date": effective_date.isoformat()}
    )[:100]
    asset._history_user = user  # type: ignore[attr-defined]
    if effective_date < today:  # the history row (and so the register as of a date) follows the effective date
        start = dt.datetime.combine(effective_date, dt.time(12))
        when = timezone.make_aware(start)
        if last is not None and last >= when:
            when = last + dt.timedelta(microseconds=1)  # after the last change, still on the effective date
        asset._history_date = when  # type: ignore[attr-defined]
    with register.agency_transfer():
        register.asset_update(asset=asset, user=None, data={"agency_id": transfer.to_agency_id})
    return transfer


@transaction.atomic
def reject(*, transfer: AgencyTransfer, user: User | None, note: str) -> AgencyTransfer:
    transfer = _locked(transfer, user)
    if not (note or "").strip():
        raise ValidationError({"note": [_("Say why the transfer is rejected.")]})
    transfer.status, transfer.decided_by, transfer.decided_at = AgencyTransfer.Status.REJECTED, user, timezone.now()
    transfer.decision_note = note.strip()
    transfer.save()
    return transfer


@transaction.atomic
def cancel(*, transfer: AgencyTransfer, user: User | None, note: str) -> AgencyTransfer:
    """The proposer (or BPKAD) withdraws a proposal; it stays, cancelled, with the reason."""
    locked = AgencyTransfer.objects.select_for_update().get(pk=transfer.pk)
    if user is not None and not (can_decide(user) or locked.proposed_by_id == user.pk):
        raise PermissionDenied(_("Only who proposed the transfer, or BPKAD, may cancel it."))
    if locked.status != OPEN:
        raise ValidationError(_("This transfer is %(status)s already.") % {"status": locked.get_status_display()})
    if not (note or "").strip():
        raise ValidationError({"note": [_("Say why the transfer is cancelled.")]})
    locked.status, locked.decided_by, locked.decided_at = AgencyTransfer.Status.CANCELLED, user, timezone.now()
    locked.decision_note = note.strip()
    locked.save()
    return locked


def visible(user: User) -> QuerySet[AgencyTransfer]:
    """The transfers a user sees: every one for BPKAD, admins and auditors; an officer's those from or to their
    agency."""
    qs = AgencyTransfer.objects.select_related("asset", "from_agency", "to_agency", "proposed_by", "decided_by")
    if permissions.user_roles(user) & {permissions.BPKAD, permissions.ADMIN, permissions.AUDITOR}:
        return qs
    if user.agency_id is None:
        return qs.none()
    return qs.filter(Q(from_agency_id=user.agency_id) | Q(to_agency_id=user.agency_id))


def in_period(qs: QuerySet[AgencyTransfer], start: dt.date | None, end: dt.date | None) -> QuerySet[AgencyTransfer]:
    """The approved transfers effective in [start, end] (the transfers report)."""
    qs = qs.filter(status=AgencyTransfer.Status.APPROVED)
    if start:
        qs = qs.filter(effective_date__gte=start)
    if end:
        qs = qs.filter(effective_date__lte=end)
    return qs.order_by("effective_date", "id")
