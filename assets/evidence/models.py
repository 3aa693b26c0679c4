"""Documents (with their files), the document checklist, storage places and the custody log of original
certificates. Nothing here is deleted: documents are withdrawn, the custody log only grows."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assets.register.models import AsalUsul, Certificate, CertificateStageEvent, LandAsset, Stage, User


class DocumentType(models.TextChoices):
    SERTIFIKAT = "SERTIFIKAT", _("Certificate (sertifikat)")
    SURAT_UKUR = "SURAT_UKUR", _("Survey certificate (surat ukur)")
    PETA_BIDANG = "PETA_BIDANG", _("Parcel map (peta bidang)")
    BAST = "BAST", _("Handover record (BAST)")
    SK_PENETAPAN_STATUS = "SK_PENETAPAN_STATUS", _("Decree on status of use (SK penetapan status)")
    AKTA_PEMBELIAN = "AKTA_PEMBELIAN", _("Deed or receipt of purchase (akta/kuitansi)")
    SK_HIBAH = "SK_HIBAH", _("Grant decree (SK hibah)")
    BERITA_ACARA = "BERITA_ACARA", _("Official record (berita acara)")
    FOTO_LAPANGAN = "FOTO_LAPANGAN", _("Field photo (foto lapangan)")
    LAINNYA = "LAINNYA", _("Other")


def document_path(instance: Document, filename: str) -> str:
    """Where a document's file lies under MEDIA_ROOT: never the uploaded name (services name it)."""
    return f"evidence/{instance.asset_id}/{filename}"


class Document(models.Model):
    """One file of proof about an asset, optionally about one of its certificates or stage changes."""

    asset = models.ForeignKey(LandAsset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="documents")
    certificate = models.ForeignKey(
        Certificate, verbose_name=_("certificate"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="documents",
    )  # fmt: skip
    stage_event = models.ForeignKey(
        CertificateStageEvent, verbose_name=_("stage change"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="documents",
    )  # fmt: skip
    doc_type = models.CharField(_("document type"), max_length=24, choices=DocumentType.choices)
    number = models.CharField(_("document number"), max_length=100, blank=True)
    date = models.DateField(_("document date"), null=True, blank=True)
    issuer = models.CharField(_("issued by"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)

    file = models.FileField(_("file"), upload_to=document_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.BigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("content type"), max_length=64)
    thumbnail = models.FileField(_("thumbnail"), upload_to=document_path, max_length=255, blank=True)

    # Photos: where and in which direction they were taken (EXIF GPS), and how far that is from the parcel.
    photo_lon = models.FloatField(_("photo longitude"), null=True, blank=True)
    photo_lat = models.FloatField(_("photo latitude"), null=True, blank=True)
    photo_direction = models.FloatField(_("photo direction (degrees)"), null=True, blank=True)
    photo_taken_at = models.DateTimeField(_("photo taken at"), null=True, blank=True)
    photo_distance_m = models.FloatField(_("distance from the parcel (m)"), null=True, blank=True)

    uploaded_by = models.ForeignKey(
        User, verbose_name=_("uploaded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        User, verbose_name=_("withdrawn by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawal_reason = models.TextField(_("reason for withdrawal"), blank=True)

    class Meta:
        ordering = ["asset", "-uploaded_at", "-id"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [
            models.Index(fields=["asset", "withdrawn_at"]),
            models.Index(fields=["doc_type"]),
            models.Index(fields=["uploaded_at"]),
        ]

    def __str__(self) -> str:
        label = str(DocumentType(self.doc_type).label) if self.doc_type in DocumentType.values else self.doc_type
        return f"{label} {self.number}".strip() if self.number else f"{label}: {self.original_name}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def shows_inline(self) -> bool:
        """Whether a browser shows the file itself (TIFF and HEIC: only their thumbnail)."""
        return self.content_type in ("application/pdf", "image/jpeg", "image/png")


class DocumentRequirement(models.Model):
    """One line of the checklist (BPKAD edits it in the admin): assets of this origin (any when blank) that have
    reached this certificate stage (any when blank) should have a document of this type."""

    asal_usul = models.CharField(_("origin"), max_length=32, choices=AsalUsul.choices, blank=True)
    from_stage = models.CharField(_("from certificate stage"), max_length=24, choices=Stage.choices, blank=True)
    doc_type = models.CharField(_("document type"), max_length=24, choices=DocumentType.choices)
    active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["asal_usul", "from_stage", "doc_type"]
        verbose_name = _("required document")
        verbose_name_plural = _("document checklist")
        constraints = [
            models.UniqueConstraint(fields=["asal_usul", "from_stage", "doc_type"], name="documentrequirement_unique")
        ]

    def __str__(self) -> str:
        origin = self.get_asal_usul_display() if self.asal_usul else _("every origin")
        return f"{self.get_doc_type_display()} ({origin})"


class StoragePlace(models.Model):
    """Where BPKAD keeps original certificates: a safe, a filing box, a cabinet, with its code."""

    class Kind(models.TextChoices):
        BRANKAS = "BRANKAS", _("Safe (brankas)")
        FILING_BOX = "FILING_BOX", _("Filing box")
        LEMARI = "LEMARI", _("Cabinet (lemari arsip)")
        LAINNYA = "LAINNYA", _("Other")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    location = models.CharField(_("room / location"), max_length=200, blank=True)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("storage place")
        verbose_name_plural = _("storage places")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CustodyEvent(models.Model):
    """One line of an original certificate's custody log. Append-only: a loan is closed by a RETURNED line that
    points at it, never by editing it."""

    class Kind(models.TextChoices):
        STORED = "STORED", _("Stored")
        LENT = "LENT", _("Lent out")
        RETURNED = "RETURNED", _("Returned")

    certificate = models.ForeignKey(
        Certificate, verbose_name=_("certificate"), on_delete=models.PROTECT, related_name="custody_events"
    )
    kind = models.CharField(_("event"), max_length=16, choices=Kind.choices)
    place = models.ForeignKey(
        StoragePlace, verbose_name=_("storage place"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="events",
    )  # fmt: skip
    borrower = models.CharField(_("borrowed by"), max_length=200, blank=True)
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    due_date = models.DateField(_("due back"), null=True, blank=True)
    loan = models.OneToOneField(
        "self", verbose_name=_("loan"), null=True, blank=True, on_delete=models.PROTECT, related_name="return_event"
    )
    date = models.DateField(_("date"))
    note = models.TextField(_("note"), blank=True)
    receipt = models.ForeignKey(
        Document, verbose_name=_("receipt scan"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        User, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["certificate", "created_at", "id"]
        verbose_name = _("custody event")
        verbose_name_plural = _("custody log")
        indexes = [models.Index(fields=["kind", "due_date"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date}"
