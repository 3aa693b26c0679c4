"""Writes of the public pages: a report or request received (nothing half-written), its status changed by BPKAD."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from assets.evidence import checks
from assets.public.models import PublicReport
from assets.register.models import User


class ReportRefused(ValueError):
    pass


@transaction.atomic
def receive_report(
    *,
    kind: str,
    location: object,
    description: str,
    contact_name: str,
    contact_phone: str,
    contact_email: str,
    photo_name: str = "",
    photo_data: bytes = b"",
) -> PublicReport:
    """Store a report or request. A photo must be an image that passes the evidence room's file checks (type read
    from the bytes, size and pixel limits); the stored name is ours, never the sender's."""
    report = PublicReport(
        kind=kind,
        location=location,
        description=description,
        contact_name=contact_name,
        contact_phone=contact_phone,
        contact_email=contact_email,
    )
    if photo_data:
        name = photo_name or "photo"
        try:
            checked = checks.check_file(name, photo_data)
        except checks.UploadRefused as exc:
            raise ReportRefused(str(exc)) from None
        if not checked.content_type.startswith("image/"):
            raise ReportRefused(
                _("“%(name)s” is refused: send a photo (JPEG or PNG), not a document.") % {"name": name}
            )
        report.photo.save(f"report{checked.suffix}", ContentFile(photo_data), save=False)
    report.full_clean(exclude=["photo"])
    report.save()
    return report


@transaction.atomic
def set_status(report: PublicReport, *, status: str, note: str, user: User) -> PublicReport:
    report.status = status
    report.status_note = note
    report._history_user = user  # type: ignore[attr-defined] - django-simple-history reads it
    report.save(update_fields=["status", "status_note", "updated_at"])
    return report
