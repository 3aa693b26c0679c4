"""The activity log: every recorded change (asset and certificate history, stage events), newest first."""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from assets.evidence.models import Document, DocumentType
from assets.ledger.models import AgencyTransfer, Decision
from assets.lib import formats
from assets.register.history import end_of_day
from assets.register.models import (
    Certificate,
    CertificateStageEvent,
    LandAsset,
    Stage,
)

# --- Activity log ---------------------------------------------------------------------------------------


@dataclass
class Activity:
    when: dt.datetime
    kind: str  # asset, certificate, stage
    action: str
    asset_id: int | None
    object_label: str
    user: str
    changes: list[tuple[str, str, str]]  # (field, before, after)
    note: str = ""


_HISTORY_ACTIONS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}
_SKIP_FIELDS = {"version"}


def _field_label(model: Any, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 - a field gone from the model still shows by name
        return name


def _model_field(model: Any, name: str) -> Any:
    try:
        return model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a field gone from the model shows its raw value
        return None


def _show(value: Any, field: Any = None) -> str:
    """A field's value as people read it: the label of a choice (Hak Pakai, not HP), the name of a related object
    (the agency, not its id), yes/no, numbers in the language's format."""
    if value is None or value == "":
        return "—"
    if hasattr(value, "wkt"):
        return _("geometry (%(n)s points)") % {"n": value.num_points}
    if field is not None:
        if getattr(field, "choices", None):
            return str(dict(field.flatchoices).get(value, value))
        if getattr(field, "many_to_one", False) and not hasattr(value, "_meta"):
            related = field.related_model._default_manager.filter(pk=value).first()
            return str(related) if related is not None else str(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, Decimal | float):
        return formats.number(value, getattr(field, "decimal_places", None) or 2)
    return str(value)


def _chunks(qs: QuerySet, size: int = 500) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in qs.iterator(chunk_size=size):
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _history_activities(model: Any, qs: QuerySet, kind: str) -> Iterator[Activity]:
    history = model.history.model
    # The previous record of each row, fetched per chunk in two queries (record.prev_record is one query per row).
    previous_id = (
        history.objects.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date"))
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    qs = qs.select_related("history_user").annotate(previous_id=Subquery(previous_id))
    for chunk in _chunks(qs):
        wanted = [r.previous_id for r in chunk if r.history_type == "~" and r.previous_id]
        previous_rows = history.objects.in_bulk(wanted) if wanted else {}
        yield from _history_chunk(model, chunk, previous_rows, kind)


def _history_chunk(model: Any, chunk: list[Any], previous_rows: dict[int, Any], kind: str) -> Iterator[Activity]:
    for record in chunk:
        changes: list[tuple[str, str, str]] = []
        if record.history_type == "~":
            previous = previous_rows.get(record.previous_id)
            if previous is not None:
                delta = record.diff_against(previous, excluded_fields=_SKIP_FIELDS)
                changes = [
                    (_field_label(model, c.field), _show(c.old, field), _show(c.new, field))
                    for c in delta.changes
                    for field in [_model_field(model, c.field)]
                ]
        asset_id = record.id if kind == "asset" else record.asset_id
        user = record.history_user.get_username() if record.history_user else ""
        yield Activity(
            when=record.history_date,
            kind=kind,
            action=str(_HISTORY_ACTIONS.get(record.history_type, record.history_type)),
            asset_id=asset_id,
            object_label=str(record.instance) if kind == "asset" else f"{_('certificate')} #{record.id}",
            user=user,
            changes=changes,
            note=record.history_change_reason or "",
        )


def _event_activities(qs: QuerySet) -> Iterator[Activity]:
    for event in qs.select_related("user", "certificate").iterator(chunk_size=500):
        before = Stage(event.from_stage).label if event.from_stage else "—"
        note = " ".join(x for x in (event.nomor_dokumen, event.catatan) if x)
        yield Activity(
            when=event.created_at,
            kind="stage",
            action=str(_("stage changed")),
            asset_id=event.certificate.asset_id,
            object_label=f"{_('certificate')} #{event.certificate_id}",
            user=event.user.get_username() if event.user else "",
            changes=[(str(_("stage")), str(before), f"{Stage(event.to_stage).label} ({event.tanggal.isoformat()})")],
            note=note,
        )


def _document_activities(added: QuerySet, withdrawn: QuerySet) -> Iterator[Activity]:
    """A document's addition and its withdrawal: two lines, each at its own time (documents are never deleted)."""

    labels = {value: str(label) for value, label in DocumentType.choices}

    def lines(qs: QuerySet, withdrawal: bool) -> Iterator[Activity]:
        for doc in qs.select_related("uploaded_by", "withdrawn_by").iterator(chunk_size=500):
            who = doc.withdrawn_by if withdrawal else doc.uploaded_by
            yield Activity(
                when=doc.withdrawn_at if withdrawal else doc.uploaded_at,
                kind="document",
                action=str(_("document withdrawn") if withdrawal else _("document added")),
                asset_id=doc.asset_id,
                object_label=f"{labels.get(doc.doc_type, doc.doc_type)} #{doc.pk}",
                user=who.get_username() if who else "",
                changes=[(str(_("file")), "—", f"{doc.original_name} (SHA-256 {doc.sha256[:12]}…)")]
                if not withdrawal
                else [],
                note=doc.withdrawal_reason if withdrawal else " ".join(x for x in (doc.number, doc.note) if x),
            )

    return heapq.merge(lines(added, False), lines(withdrawn, True), key=lambda a: a.when, reverse=True)


def _ledger_activities(decisions: QuerySet, proposed: QuerySet, decided: QuerySet) -> Iterator[Activity]:
    """Reconciliation decisions and transfers between agencies (assets.ledger): a transfer's proposal and its
    decision are two lines, each at its own time."""

    def decision_lines() -> Iterator[Activity]:
        for d in decisions.select_related("user", "item").iterator(chunk_size=500):
            yield Activity(
                when=d.created_at, kind="ledger", action=str(d.get_action_display()), asset_id=d.item.asset_id,
                object_label=f"{_('reconciliation run')} #{d.run_id}, {_('line')} {d.item_id}",
                user=d.user.get_username() if d.user else "",
                changes=[(d.field, d.sipanah_value or "—", d.official_value or "—")] if d.field else [],
                note=d.reason,
            )  # fmt: skip

    def transfer_lines(qs: QuerySet, decision: bool) -> Iterator[Activity]:
        for t in qs.select_related("proposed_by", "decided_by", "from_agency", "to_agency").iterator(chunk_size=500):
            who = t.decided_by if decision else t.proposed_by
            yield Activity(
                when=t.decided_at if decision else t.proposed_at, kind="ledger",
                action=str(t.get_status_display() if decision else _("transfer proposed")), asset_id=t.asset_id,
                object_label=f"{t.get_kind_display()} #{t.pk}", user=who.get_username() if who else "",
                changes=[(str(_("agency")), str(t.from_agency), str(t.to_agency))],
                note=(f"SK {t.sk_nomor}, {t.effective_date.isoformat()}" if t.sk_nomor and t.effective_date else
                      t.decision_note) if decision else t.reason,
            )  # fmt: skip

    return heapq.merge(decision_lines(), transfer_lines(proposed, False), transfer_lines(decided, True),
                       key=lambda a: a.when, reverse=True)  # fmt: skip


@dataclass(frozen=True)
class LogFilter:
    asset_id: int | None = None
    user: str = ""
    kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> LogFilter:
        def day(key: str) -> dt.date | None:
            raw = (params.get(key) or "").strip()
            if not raw:
                return None
            try:
                return dt.date.fromisoformat(raw)
            except ValueError as exc:
                raise ValueError(_("%(key)s must be a date written YYYY-MM-DD.") % {"key": key}) from exc

        raw_asset = (params.get("asset") or "").strip()
        if raw_asset and not raw_asset.isdigit():
            raise ValueError(_("asset must be an asset number."))
        kind = (params.get("kind") or "").strip()
        if kind and kind not in ("asset", "certificate", "stage", "document", "ledger"):
            raise ValueError(_("kind must be asset, certificate, stage, document or ledger."))
        return cls(
            asset_id=int(raw_asset) if raw_asset else None,
            user=(params.get("user") or "").strip(),
            kind=kind,
            date_from=day("from"),
            date_to=day("to"),
        )


def activity_log(flt: LogFilter, *, limit: int | None = None) -> list[Activity]:
    """Every recorded change, newest first: asset and certificate history and the stage events."""
    asset_qs = LandAsset.history.all()
    cert_qs = Certificate.history.all()
    event_qs = CertificateStageEvent.objects.all()
    added_qs = Document.objects.all()
    withdrawn_qs = Document.objects.filter(withdrawn_at__isnull=False)
    decision_qs = Decision.objects.all()
    proposed_qs = AgencyTransfer.objects.all()
    decided_qs = AgencyTransfer.objects.filter(decided_at__isnull=False)
    if flt.asset_id is not None:
        decision_qs = decision_qs.filter(item__asset_id=flt.asset_id)
        proposed_qs = proposed_qs.filter(asset_id=flt.asset_id)
        decided_qs = decided_qs.filter(asset_id=flt.asset_id)
        added_qs = added_qs.filter(asset_id=flt.asset_id)
        withdrawn_qs = withdrawn_qs.filter(asset_id=flt.asset_id)
        asset_qs = asset_qs.filter(id=flt.asset_id)
        cert_qs = cert_qs.filter(asset_id=flt.asset_id)
        event_qs = event_qs.filter(certificate__asset_id=flt.asset_id)
    if flt.user:
        asset_qs = asset_qs.filter(history_user__username=flt.user)
        cert_qs = cert_qs.filter(history_user__username=flt.user)
        event_qs = event_qs.filter(user__username=flt.user)
        added_qs = added_qs.filter(uploaded_by__username=flt.user)
        withdrawn_qs = withdrawn_qs.filter(withdrawn_by__username=flt.user)
        decision_qs = decision_qs.filter(user__username=flt.user)
        proposed_qs = proposed_qs.filter(proposed_by__username=flt.user)
        decided_qs = decided_qs.filter(decided_by__username=flt.user)
    if flt.date_from:
        start = end_of_day(flt.date_from - dt.timedelta(days=1))
        asset_qs, cert_qs = asset_qs.filter(history_date__gte=start), cert_qs.filter(history_date__gte=start)
        event_qs = event_qs.filter(created_at__gte=start)
        added_qs, withdrawn_qs = added_qs.filter(uploaded_at__gte=start), withdrawn_qs.filter(withdrawn_at__gte=start)
        decision_qs, proposed_qs = decision_qs.filter(created_at__gte=start), proposed_qs.filter(proposed_at__gte=start)
        decided_qs = decided_qs.filter(decided_at__gte=start)
    if flt.date_to:
        end = end_of_day(flt.date_to)
        asset_qs, cert_qs = asset_qs.filter(history_date__lt=end), cert_qs.filter(history_date__lt=end)
        event_qs = event_qs.filter(created_at__lt=end)
        added_qs, withdrawn_qs = added_qs.filter(uploaded_at__lt=end), withdrawn_qs.filter(withdrawn_at__lt=end)
        decision_qs, proposed_qs = decision_qs.filter(created_at__lt=end), proposed_qs.filter(proposed_at__lt=end)
        decided_qs = decided_qs.filter(decided_at__lt=end)
    sources = []
    if flt.kind in ("", "asset"):
        sources.append(
            _history_activities(LandAsset, asset_qs.order_by("-history_date", "-history_id")[:limit], "asset")
        )
    if flt.kind in ("", "certificate"):
        sources.append(
            _history_activities(Certificate, cert_qs.order_by("-history_date", "-history_id")[:limit], "certificate")
        )
    if flt.kind in ("", "stage"):
        sources.append(_event_activities(event_qs.order_by("-created_at", "-id")[:limit]))
    if flt.kind in ("", "document"):
        sources.append(
            _document_activities(
                added_qs.order_by("-uploaded_at", "-id")[:limit], withdrawn_qs.order_by("-withdrawn_at", "-id")[:limit]
            )
        )
    if flt.kind in ("", "ledger"):
        sources.append(
            _ledger_activities(
                decision_qs.order_by("-created_at", "-id")[:limit],
                proposed_qs.order_by("-proposed_at", "-id")[:limit],
                decided_qs.order_by("-decided_at", "-id")[:limit],
            )
        )
    merged = heapq.merge(*sources, key=lambda a: a.when, reverse=True)
    result = []
    for activity in merged:
        result.append(activity)
        if limit is not None and len(result) >= limit:
            break
    return result
