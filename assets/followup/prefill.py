"""What a field result gives the case or agreement opened from it: the asset, the kind of case from the occupation
seen, a description naming the campaign, the team and what was recorded, and the result's photos as documents."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.encumbrance.models import CaseKind
from assets.evidence.models import Document
from assets.field.models import FieldResult, Occupation

CASE_KIND = {Occupation.PIHAK_LAIN: CaseKind.OKUPASI, Occupation.SENGKETA: CaseKind.KLAIM}


def summary(result: FieldResult) -> str:
    """The result in a few lines, for the case's description (what the team saw, where and when)."""
    a = result.assignment
    lines = [
        _("From the field inventory %(campaign)s, %(team)s (%(user)s, received %(date)s):") % {
            "campaign": a.campaign.name, "team": a.team.name, "user": result.submitted_by.get_username(),
            "date": timezone.localtime(result.received_at).strftime("%Y-%m-%d %H:%M")},
        _("Found: %(found)s.") % {"found": result.get_found_display()},
    ]  # fmt: skip
    if result.occupation:
        lines.append(_("Occupation: %(occupation)s.") % {"occupation": result.get_occupation_display()})
    if result.use:
        lines.append(_("Use seen: %(use)s.") % {"use": result.use})
    if result.patok is not None:
        lines.append(_("Boundary markers (patok) present: %(yes)s.") % {"yes": _("yes") if result.patok else _("no")})
    if result.lat is not None and result.lon is not None:
        lines.append(_("Position: %(lat).6f, %(lon).6f (± %(acc)s m).") % {
            "lat": result.lat, "lon": result.lon, "acc": round(result.accuracy_m or 0)})  # fmt: skip
    if result.notes.strip():
        lines.append(_("Notes: %(notes)s") % {"notes": result.notes.strip()})
    return "\n".join(lines)


def case_initial(result: FieldResult) -> dict[str, Any]:
    kind = CASE_KIND.get(result.occupation, CaseKind.OKUPASI)  # type: ignore[call-overload]
    title = _("%(kind)s seen in the field inventory %(campaign)s") % {
        "kind": result.get_occupation_display() if result.occupation else _("Follow-up"),
        "campaign": result.assignment.campaign.name}  # fmt: skip
    return {"kind": kind, "title": title[:200], "description": summary(result)}


def utilisation_initial(result: FieldResult) -> dict[str, Any]:
    return {"purpose": (result.use or "")[:300]}


def photo_documents(result: FieldResult) -> QuerySet[Document]:
    """The result's photos, kept as documents of its asset (the withdrawn ones left out)."""
    return Document.objects.filter(pk__in=result.photos.values("document_id"), withdrawn_at__isnull=True).order_by("pk")
