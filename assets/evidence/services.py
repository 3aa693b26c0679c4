"""Every write of the evidence room: documents added (checked, hashed, thumbnailed, their photo position read) and
withdrawn, and the custody log of original certificates. Nothing is ever deleted or edited in place."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.evidence import checks
from assets.evidence.models import CustodyEvent, Document, DocumentType, StoragePlace
from assets.register import geo
from assets.register.models import Certificate, CertificateStageEvent, LandAsset, Stage, User

log = logging.getLogger(__name__)

PHOTO_FAR_M = 100.0  # a photo taken farther than this from its parcel is flagged


@dataclass
class UploadResult:
    name: str
    document: Document | None = None
    error: str = ""


@dataclass
class DocumentFields:
    doc_type: str
    number: str = ""
    date: dt.date | None = None
    issuer: str = ""
    note: str = ""
    certificate: Certificate | None = None
    stage_event: CertificateStageEvent | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _check_links(asset: LandAsset, fields: DocumentFields) -> None:
    if fields.doc_type not in DocumentType.values:
        raise ValidationError({"doc_type": _("Choose a document type.")})
    if fields.certificate is not None and fields.certificate.asset_id != asset.pk:
        raise ValidationError({"certificate": _("The certificate belongs to another asset.")})
    if fields.stage_event is not None:
        event_asset = Certificate.objects.filter(pk=fields.stage_event.certificate_id).values_list(
            "asset_id", flat=True
        )
        if list(event_asset) != [asset.pk]:
            raise ValidationError({"stage_event": _("The stage change belongs to another asset.")})
        if fields.certificate is None:
            fields.certificate = fields.stage_event.certificate


def document_add(*, asset: LandAsset, user: User | None, name: str, data: bytes, fields: DocumentFields) -> Document:
    """Keep one checked file as a document of ``asset``; raises checks.UploadRefused or ValidationError, and then
    nothing is written (neither row nor file)."""
    _check_links(asset, fields)
    name = checks.check_name(name)
    checked = checks.check_file(name, data)
    stem = uuid.uuid4().hex
    document = Document(
        asset=asset,
        certificate=fields.certificate,
        stage_event=fields.stage_event,
        doc_type=fields.doc_type,
        number=fields.number.strip()[:100],
        date=fields.date,
        issuer=fields.issuer.strip()[:200],
        note=fields.note.strip(),
        original_name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content_type=checked.content_type,
        uploaded_by=user,
    )
    if checked.kind != "pdf":
        position = checks.photo_position(data)
        document.photo_lon, document.photo_lat = position.lon, position.lat
        document.photo_direction, document.photo_taken_at = position.direction, position.taken_at
        if position.lon is not None and position.lat is not None and asset.geom is not None:
            document.photo_distance_m = round(geo.distance_m(position.lon, position.lat, asset.geom), 1)
    thumb = checks.thumbnail(checked, name, data)
    stored: list[Any] = []
    try:
        with transaction.atomic():
            document.file.save(f"{stem}{checked.suffix}", ContentFile(data), save=False)
            stored.append(document.file)
            if thumb:
                document.thumbnail.save(f"{stem}.thumb.jpg", ContentFile(thumb), save=False)
                stored.append(document.thumbnail)
            document.save()
    except BaseException:
        for kept in stored:  # the row did not go in: its files go too (nothing half-written)
            kept.storage.delete(kept.name)
        raise
    return document


def documents_upload(
    *, asset: LandAsset, user: User | None, files: Iterable[tuple[str, IO[bytes], int | None]], fields: DocumentFields
) -> list[UploadResult]:
    """Several files with the same description: each kept or refused on its own, in the order given."""
    results = []
    max_bytes = checks.limits()["max_file_bytes"]
    for name, handle, size in files:
        try:
            if size is not None and size > max_bytes:
                raise checks.UploadRefused(
                    _("“%(name)s” is refused: %(size)s MB is more than the %(max)s MB a document may have.")
                    % {"name": name, "size": f"{size / 1048576:.1f}", "max": f"{max_bytes / 1048576:g}"}
                )
            document = document_add(asset=asset, user=user, name=name, data=checks.read_all(handle), fields=fields)
        except checks.UploadRefused as exc:
            results.append(UploadResult(name, error=str(exc)))
        except ValidationError as exc:
            results.append(UploadResult(name, error=" ".join(exc.messages)))
        else:
            results.append(UploadResult(name, document=document))
    return results


def document_withdraw(*, document: Document, user: User | None, reason: str) -> Document:
    """Withdraw a document (who, when, why); its file and row stay, shown as withdrawn."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the document is withdrawn.")})
    with transaction.atomic():
        updated = Document.objects.filter(pk=document.pk, withdrawn_at__isnull=True).update(
            withdrawn_at=timezone.now(), withdrawn_by=user, withdrawal_reason=reason
        )
        if not updated:
            raise ValidationError(_("This document was already withdrawn."))
    document.refresh_from_db()
    return document


# --- Custody of original certificates --------------------------------------------------------------------


def _check_original(certificate: Certificate) -> None:
    if certificate.stage != Stage.SERTIFIKAT_TERBIT or not certificate.nomor:
        raise ValidationError(_("Only an issued certificate (with its number) has an original to keep."))


def custody_state(certificate: Certificate) -> CustodyEvent | None:
    """The certificate's latest custody event (None: never recorded)."""
    return CustodyEvent.objects.filter(certificate=certificate).order_by("-created_at", "-id").first()


def _receipt(certificate: Certificate, receipt: Document | None) -> None:
    if receipt is not None and receipt.asset_id != certificate.asset_id:
        raise ValidationError({"receipt": _("The receipt scan belongs to another asset.")})


def custody_store(
    *, certificate: Certificate, place: StoragePlace, user: User | None, date: dt.date, note: str = "",
    receipt: Document | None = None,
) -> CustodyEvent:  # fmt: skip
    """The original is put in (or moved to) a storage place. Refused while it is out on loan (record the return)."""
    _check_original(certificate)
    _receipt(certificate, receipt)
    if not place.active:
        raise ValidationError({"place": _("This storage place is no longer in use.")})
    with transaction.atomic():
        current = custody_state(certificate)
        if current is not None and current.kind == CustodyEvent.Kind.LENT:
            raise ValidationError(_("The original is out on loan: record its return first."))
        return CustodyEvent.objects.create(
            certificate=certificate, kind=CustodyEvent.Kind.STORED, place=place, date=date, note=note.strip(),
            receipt=receipt, user=user,
        )  # fmt: skip


def custody_lend(
    *, certificate: Certificate, user: User | None, borrower: str, purpose: str, date: dt.date,
    due_date: dt.date | None = None, note: str = "", receipt: Document | None = None,
) -> CustodyEvent:  # fmt: skip
    """The original leaves its storage place: who took it, for what, when it is due back."""
    _check_original(certificate)
    _receipt(certificate, receipt)
    errors: dict[str, str] = {}
    if not borrower.strip():
        errors["borrower"] = _("Name who borrows the original.")
    if not purpose.strip():
        errors["purpose"] = _("Say what the original is borrowed for.")
    due_date = due_date or date + dt.timedelta(days=checks.limits()["loan_days"])
    if due_date < date:
        errors["due_date"] = _("The due date is before the loan date.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = custody_state(certificate)
        if current is None or current.kind == CustodyEvent.Kind.LENT:
            raise ValidationError(_("The original is not in a storage place, so it cannot be lent."))
        return CustodyEvent.objects.create(
            certificate=certificate, kind=CustodyEvent.Kind.LENT, place=current.place, borrower=borrower.strip(),
            purpose=purpose.strip(), due_date=due_date, date=date, note=note.strip(), receipt=receipt, user=user,
        )  # fmt: skip


def custody_return(
    *, loan: CustodyEvent, user: User | None, date: dt.date, place: StoragePlace | None = None, note: str = "",
    receipt: Document | None = None,
) -> CustodyEvent:  # fmt: skip
    """The original came back (to its place, or to ``place``): a new line pointing at the loan."""
    _receipt(loan.certificate, receipt)
    if loan.kind != CustodyEvent.Kind.LENT:
        raise ValidationError(_("Only a loan can be returned."))
    if date < loan.date:
        raise ValidationError({"date": _("The return date is before the loan date.")})
    with transaction.atomic():
        if CustodyEvent.objects.filter(loan=loan).exists():
            raise ValidationError(_("This loan was already returned."))
        return CustodyEvent.objects.create(
            certificate=loan.certificate, kind=CustodyEvent.Kind.RETURNED, place=place or loan.place, loan=loan,
            date=date, note=note.strip(), receipt=receipt, user=user,
        )  # fmt: skip
