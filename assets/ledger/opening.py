"""The opening balance (saldo awal). Every history row starts when data entered Sipanah, so after a go-live the
register as of an earlier year-end is empty. An opening balance dates back the creation history rows of the assets
(and their certificates) recorded in a window — the go-live load — to the effective date, or to each asset's
acquisition date: the register, findings, dashboard, exports and API as of earlier dates then show them. Only
creation rows move, and only earlier, so the order of each asset's history never changes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from assets.ledger import rules
from assets.ledger.models import OpeningBalance
from assets.register import reads
from assets.register.history import end_of_day
from assets.register.models import Certificate, LandAsset, User

CHUNK = 1000


def _start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@transaction.atomic
def apply(*, user: User | None, mode: str, effective_date: dt.date | None, recorded_from: dt.date,
          recorded_until: dt.date, reason: str) -> OpeningBalance:  # fmt: skip
    if user is not None and not rules.can_reconcile(user):
        raise PermissionDenied(_("Only BPKAD and administrators record the opening balance."))
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    if mode not in OpeningBalance.Mode.values:
        errors["mode"] = [_("Unknown kind of opening balance.")]
    if mode == OpeningBalance.Mode.DATE and effective_date is None:
        errors["effective_date"] = [_("Give the date of the opening balance (for example 31 December 2025).")]
    if effective_date is not None and effective_date >= recorded_from:
        errors["effective_date"] = [_("The opening balance's date must be before the day its assets were recorded.")]
    if recorded_until < recorded_from or recorded_until > today:
        errors["recorded_until"] = [_("Give the days the opening balance was loaded, up to today.")]
    if not (reason or "").strip():
        errors["reason"] = [_("Say what the opening balance is (for example: KIB A per 31 December 2025).")]
    if errors:
        raise ValidationError(errors)
    window = {"history_type": "+", "history_date__gte": _start(recorded_from),
              "history_date__lt": end_of_day(recorded_until)}  # fmt: skip
    assets = LandAsset.history.model.objects.filter(**window)
    certificates = Certificate.history.model.objects.filter(**window)
    if mode == OpeningBalance.Mode.DATE:
        assert effective_date is not None  # noqa: S101 - checked above
        when = _start(effective_date)
        asset_ids = list(assets.values_list("id", flat=True))
        moved = assets.update(history_date=when)
        certs = 0
        for i in range(0, len(asset_ids), CHUNK):
            certs += certificates.filter(asset_id__in=asset_ids[i : i + CHUNK]).update(history_date=when)
    else:
        moved, certs = _by_acquisition(assets, certificates)
    return OpeningBalance.objects.create(
        mode=mode, effective_date=effective_date, recorded_from=recorded_from, recorded_until=recorded_until,
        reason=reason.strip(), assets_moved=moved, certificates_moved=certs, created_by=user,
    )  # fmt: skip


def as_of_note(as_of: dt.date, first: dt.date | None) -> str:
    """The opening balance's part of why the register as of ``as_of`` is empty (assets.register.reads)."""
    balance = OpeningBalance.objects.order_by("-created_at", "-id").first()
    if balance is None:
        return _("No opening balance (saldo awal) is recorded, so the register starts when data entered Sipanah: "
                 "BPKAD records it on the Opening balance page of Reconciliation.")  # fmt: skip
    if balance.mode == OpeningBalance.Mode.DATE and balance.effective_date is not None:
        return _("The opening balance (saldo awal, “%(reason)s”) is dated %(date)s.") % {
            "reason": balance.reason, "date": date_format(balance.effective_date, "j F Y")}  # fmt: skip
    return _("The opening balance (saldo awal, “%(reason)s”) dates each asset from its acquisition date.") % {
        "reason": balance.reason}  # fmt: skip


if as_of_note not in reads.AS_OF_NOTES:
    reads.AS_OF_NOTES.append(as_of_note)


def _by_acquisition(assets: object, certificates: object) -> tuple[int, int]:
    """Each asset (and its certificates recorded with it) dated back to its acquisition date, or 1 January of its
    acquisition year: grouped by day, one update per day."""
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for pk, tanggal, tahun in assets.values_list("id", "tanggal_perolehan", "tahun_perolehan"):  # type: ignore[attr-defined]
        day = tanggal or (dt.date(tahun, 1, 1) if tahun else None)
        if day is not None:
            by_day[day].append(pk)
    moved = certs = 0
    for day, ids in by_day.items():
        when = _start(day)
        for i in range(0, len(ids), CHUNK):
            part = ids[i : i + CHUNK]
            moved += assets.filter(id__in=part, history_date__gt=when).update(history_date=when)  # type: ignore[attr-defined]
            certs += certificates.filter(asset_id__in=part, history_date__gt=when).update(history_date=when)  # type: ignore[attr-defined]
    return moved, certs
