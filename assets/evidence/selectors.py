"""Reads of the evidence room: an asset's documents, its checklist, the custody of originals, overdue loans."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from assets.evidence.models import CustodyEvent, Document, DocumentRequirement, DocumentType
from assets.register.history import end_of_day
from assets.register.models import MAIN_STAGES, Certificate, LandAsset, Stage

# Longest list of ids put into one IN (...): SQLite takes at most 32,766 parameters per statement.
IN_LIST_MAX = 5000

# Where a side state stands in the pipeline for the checklist: a rejected, disputed or blocked case was submitted.
_SIDE_STAGE_RANK = {Stage.DITOLAK: 2, Stage.SENGKETA: 2, Stage.DIBLOKIR: 2}


def stage_rank(stage: str) -> int:
    if stage in MAIN_STAGES:
        return MAIN_STAGES.index(stage)
    return _SIDE_STAGE_RANK.get(stage, 0)  # type: ignore[call-overload]


def asset_documents(asset: LandAsset) -> QuerySet[Document]:
    """Every document of an asset, withdrawn ones too (shown apart), newest first."""
    return (
        Document.objects.filter(asset=asset)
        .select_related("uploaded_by", "withdrawn_by", "certificate", "stage_event")
        .order_by("withdrawn_at", "-uploaded_at", "-id")
    )


def active_requirements() -> list[DocumentRequirement]:
    return list(DocumentRequirement.objects.filter(active=True))


def required_types(asal_usul: str, stage: str, requirements: Iterable[DocumentRequirement]) -> list[str]:
    """The document types an asset of this origin and certificate stage should have, in the checklist's order."""
    rank = stage_rank(stage)
    wanted: list[str] = []
    for req in requirements:
        if req.asal_usul and req.asal_usul != asal_usul:
            continue
        if req.from_stage and stage_rank(req.from_stage) > rank:
            continue
        if req.doc_type not in wanted:
            wanted.append(req.doc_type)
    order = list(DocumentType.values)
    return sorted(wanted, key=order.index)


def present_types(asset_ids: Iterable[int] | None = None, as_of: dt.date | None = None) -> dict[int, set[str]]:
    """Per asset the types of the documents it holds (not withdrawn; as of the end of a day when given)."""
    qs = Document.objects.all()
    if as_of is None:
        qs = qs.filter(withdrawn_at__isnull=True)
    else:
        end = end_of_day(as_of)
        qs = qs.filter(uploaded_at__lt=end).filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=end))
    wanted = None if asset_ids is None else set(asset_ids)
    if wanted is not None and len(wanted) <= IN_LIST_MAX:
        qs = qs.filter(asset_id__in=list(wanted))
    found: dict[int, set[str]] = defaultdict(set)
    for asset_id, doc_type in qs.values_list("asset_id", "doc_type").distinct():
        if wanted is None or asset_id in wanted:
            found[asset_id].add(doc_type)
    return found


@dataclass
class ChecklistLine:
    doc_type: str
    label: str
    present: bool


def checklist(asset: LandAsset, requirements: list[DocumentRequirement] | None = None) -> list[ChecklistLine]:
    reqs = active_requirements() if requirements is None else requirements
    have = present_types([asset.pk]).get(asset.pk, set())
    return [
        ChecklistLine(t, str(DocumentType(t).label), t in have)
        for t in required_types(asset.asal_usul, asset.tahap_sertifikat, reqs)
    ]


def checklist_status(asset: Any, present: set[str], requirements: list[DocumentRequirement]) -> str:
    """One cell: "complete (3/3)", or the missing types, for an asset (or a record that reads like one)."""
    wanted = required_types(asset.asal_usul, asset.tahap_sertifikat, requirements)
    missing = [t for t in wanted if t not in present]
    if not missing:
        return gettext("complete (%(n)s/%(n)s)") % {"n": len(wanted)}
    return gettext("missing %(missing)s (%(have)s/%(n)s)") % {
        "missing": ", ".join(str(DocumentType(t).label) for t in missing),
        "have": len(wanted) - len(missing),
        "n": len(wanted),
    }


def document_counts(asset_ids: Iterable[int]) -> dict[int, int]:
    """Per asset its documents that are not withdrawn."""
    rows = (
        Document.objects.filter(asset_id__in=list(asset_ids), withdrawn_at__isnull=True)
        .values("asset_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {r["asset_id"]: r["n"] for r in rows}


# --- Custody ---------------------------------------------------------------------------------------------


def custody_log(certificate: Certificate) -> QuerySet[CustodyEvent]:
    return (
        CustodyEvent.objects.filter(certificate=certificate)
        .select_related("place", "user", "receipt", "loan")
        .order_by("created_at", "id")
    )


def open_loans() -> QuerySet[CustodyEvent]:
    """Loans of originals not yet returned."""
    returned = CustodyEvent.objects.filter(loan=OuterRef("pk"))
    return (
        CustodyEvent.objects.filter(kind=CustodyEvent.Kind.LENT)
        .filter(~Exists(returned))
        .select_related("certificate__asset__agency", "place")
        .order_by("due_date", "id")
    )


def overdue_loans(today: dt.date | None = None) -> QuerySet[CustodyEvent]:
    return open_loans().filter(due_date__lt=today or timezone.localdate())


def latest_custody(certificate_ids: Iterable[int], as_of: dt.date | None = None) -> dict[int, CustodyEvent]:
    """Per certificate its latest custody event (recorded by the end of ``as_of`` when given)."""
    wanted = set(certificate_ids)
    qs = CustodyEvent.objects.select_related("place")
    if len(wanted) <= IN_LIST_MAX:  # beyond it, every event (a few per original) rather than a huge IN list
        qs = qs.filter(certificate_id__in=list(wanted))
    if as_of is not None:
        qs = qs.filter(created_at__lt=end_of_day(as_of))
    latest: dict[int, CustodyEvent] = {}
    for event in qs.order_by("certificate_id", "created_at", "id"):
        if event.certificate_id in wanted:
            latest[event.certificate_id] = event
    return latest


def photo_points(asset: LandAsset) -> QuerySet[Document]:
    """The asset's photos that carry a GPS position (not withdrawn)."""
    return Document.objects.filter(
        asset=asset, withdrawn_at__isnull=True, photo_lon__isnull=False, photo_lat__isnull=False
    ).order_by("uploaded_at", "id")
