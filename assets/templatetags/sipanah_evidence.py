"""Template tags of the evidence room: an asset's documents panel (checklist, upload, viewer, custody of its
originals) and the overdue loans on BPKAD's home page."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

from assets.evidence import selectors, services
from assets.evidence.forms import DocumentForm
from assets.evidence.models import CustodyEvent
from assets.register import permissions

register = template.Library()


@register.inclusion_tag("evidence/_documents.html", takes_context=True)
def asset_documents(context: dict[str, Any], asset: Any) -> dict[str, Any]:
    user = context["request"].user
    if not permissions.can_view_asset_documents(user, asset):
        return {"asset": asset, "allowed": False}
    documents = list(selectors.asset_documents(asset))
    originals = []
    for certificate in asset.certificates.all():
        if certificate.stage == "SERTIFIKAT_TERBIT" and certificate.nomor:
            originals.append((certificate, services.custody_state(certificate)))
    return {
        "asset": asset,
        "allowed": True,
        "active": [d for d in documents if d.withdrawn_at is None],
        "withdrawn": [d for d in documents if d.withdrawn_at is not None],
        "checklist": selectors.checklist(asset),
        "can_edit": permissions.can_edit_asset(user, asset),
        "form": DocumentForm(asset=asset, auto_id="doc_%s"),
        "originals": originals,
        "far_m": services.PHOTO_FAR_M,
        "max_mb": settings.SIPANAH_EVIDENCE_LIMITS["max_file_bytes"] // (1024 * 1024),
        "max_files": settings.SIPANAH_EVIDENCE_LIMITS["max_files"],
        "lent": CustodyEvent.Kind.LENT,
        "today": timezone.localdate(),
    }


@register.inclusion_tag("evidence/_overdue.html", takes_context=True)
def overdue_loans(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    if not permissions.can_manage_custody(user):
        return {"show": False}
    today = timezone.localdate()
    loans = list(selectors.overdue_loans(today)[:50])
    return {"show": True, "loans": loans, "today": today}


@register.filter
def days_since(day: Any, today: Any) -> int:
    return (today - day).days if day and today else 0
