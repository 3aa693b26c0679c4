"""Template tags of the evidence room: an asset's documents panel (checklist, upload, viewer, custody of its
originals) and the overdue loans on BPKAD's home page."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from assets.evidence import selectors, services
from assets.evidence.forms import DocumentForm
from assets.evidence.models import CustodyEvent, Document, DocumentType
from assets.register import permissions

register = template.Library()


@register.inclusion_tag("evidence/_documents.html", takes_context=True)
def asset_documents(context: dict[str, Any], asset: Any) -> dict[str, Any]:
    user = context["request"].user
    if not permissions.can_view_asset_documents(user, asset):
        return {"asset": asset, "allowed": False}
    can_edit = permissions.can_edit_asset(user, asset)
    documents = [_card(doc) for doc in selectors.asset_documents(asset)]
    strings = _card_strings()
    for doc in documents:
        if doc.withdrawn_at is None:
            doc.card_html = _card_html(doc, strings, can_edit=can_edit)
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
        "can_edit": can_edit,
        "form": DocumentForm(asset=asset, auto_id="doc_%s"),
        "originals": originals,
        "far_m": services.PHOTO_FAR_M,
        "max_mb": settings.SIPANAH_EVIDENCE_LIMITS["max_file_bytes"] // (1024 * 1024),
        "max_files": settings.SIPANAH_EVIDENCE_LIMITS["max_files"],
        "lent": CustodyEvent.Kind.LENT,
        "today": timezone.localdate(),
    }


_URLS = ("document-file", "document-view", "document-thumbnail", "document-withdraw")


def _card(doc: Document) -> Document:
    """The strings a document's card shows, made here once (a page may hold hundreds of cards: template tags
    and model display methods per card cost more than the rest of the page)."""
    if not hasattr(_card, "patterns"):
        _card.patterns = {name: reverse(name, args=[987654321]) for name in _URLS}  # type: ignore[attr-defined]
    urls = {name: url.replace("987654321", str(doc.pk)) for name, url in _card.patterns.items()}  # type: ignore[attr-defined]
    label = str(DocumentType(doc.doc_type).label) if doc.doc_type in DocumentType.values else doc.doc_type
    doc.type_label = label
    doc.title = f"{label} {doc.number}".strip() if doc.number else f"{label}: {doc.original_name}"
    doc.file_url, doc.view_url, doc.thumb_url, doc.withdraw_url = (urls[name] for name in _URLS)
    doc.uploaded_label = timezone.localtime(doc.uploaded_at).strftime("%Y-%m-%d %H:%M")
    doc.uploader = doc.uploaded_by.get_username() if doc.uploaded_by else "—"
    doc.photo_line = ""
    if doc.photo_lat is not None:
        if doc.photo_distance_m is None:
            doc.photo_line = gettext("GPS position recorded")
        else:
            doc.photo_line = gettext("taken %(m)s m from the parcel") % {"m": f"{doc.photo_distance_m:.0f}"}
        if doc.photo_direction is not None:
            doc.photo_line += " · " + gettext("facing %(d)s°") % {"d": f"{doc.photo_direction:.0f}"}
    return doc


def _card_strings() -> dict[str, str]:
    return {
        "certificate": gettext("Certificate"),
        "stage": gettext("Stage change"),
        "download": gettext("Download"),
        "withdraw": gettext("Withdraw"),
        "added": gettext("added by"),
    }


def _card_html(doc: Document, strings: dict[str, str], *, can_edit: bool) -> SafeString:
    """One document's card (format_html escapes every value): built in Python, since two hundred cards through
    the template language took a quarter of a second (bench/bench_evidence.py)."""
    if doc.thumbnail:
        thumb = format_html(
            '<img src="{}" alt="{}" loading="lazy" class="evidence-card__thumb">', doc.thumb_url, doc.title
        )
    else:
        thumb = format_html('<span class="evidence-card__thumb evidence-card__thumb--none">{}</span>', doc.content_type)
    if doc.shows_inline:
        kind = "image" if doc.is_image else "pdf"
        thumb = format_html(
            '<a href="{}" target="_blank" rel="noopener" data-view="{}" data-title="{}">{}</a>',
            doc.view_url, kind, doc.title, thumb,
        )  # fmt: skip
    head = format_html("<strong>{}</strong>", doc.type_label)
    if doc.number:
        head += format_html(' · <span class="mono">{}</span>', doc.number)
    if doc.date:
        head += format_html(" · {}", doc.date.isoformat())
    lines = [head]
    if doc.issuer:
        lines.append(format_html("{}", doc.issuer))
    if doc.certificate_id:
        lines.append(format_html("{}: {}", strings["certificate"], doc.certificate))
    if doc.stage_event_id:
        lines.append(format_html("{}: {}", strings["stage"], doc.stage_event))
    lines.append(format_html('<span class="muted">{} · {}</span>', doc.original_name, filesizeformat(doc.size)))
    if doc.photo_line:
        far = doc.photo_distance_m is not None and doc.photo_distance_m > services.PHOTO_FAR_M
        distance = "" if doc.photo_distance_m is None else repr(doc.photo_distance_m)
        lines.append(
            format_html(
                '<span class="{}" data-photo-distance="{}">{}</span>',
                "badge badge--dispute" if far else "muted", distance, doc.photo_line,
            )
        )  # fmt: skip
    lines.append(
        format_html('<span class="muted">{} {}, {}</span>', strings["added"], doc.uploader, doc.uploaded_label)
    )
    links = format_html('<a href="{}">{}</a>', doc.file_url, strings["download"])
    if can_edit:
        links += format_html(' · <a href="{}">{}</a>', doc.withdraw_url, strings["withdraw"])
    lines.append(links)
    meta = mark_safe("<br>".join(lines))  # noqa: S308 - every part went through format_html
    return format_html(
        '<li class="evidence-card" data-document="{}">{}<div class="evidence-card__meta small">{}</div></li>',
        doc.pk, thumb, meta,
    )  # fmt: skip


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
