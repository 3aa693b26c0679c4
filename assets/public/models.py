"""What BPKAD publishes, the lookups answered (for their verification code) and the reports and requests received."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from assets.register.models import Agency, LandAsset


class PublicationPolicy(models.Model):
    """BPKAD's choice of what the public pages show: one row (``current()``), edited in the admin."""

    enabled = models.BooleanField(_("public pages enabled"), default=True)
    publish_kode_barang = models.BooleanField(_("publish the kode barang"), default=False)
    publish_certificate_status = models.BooleanField(_("publish the certificate status"), default=False)
    contact = models.TextField(
        _("contact shown with every answer"),
        default="BPKAD Kota Balikpapan, Bidang Aset: datang langsung atau hubungi kantor BPKAD pada jam kerja.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(table_name="assets_historicalpublicationpolicy")

    class Meta:
        verbose_name = _("publication policy")
        verbose_name_plural = _("publication policy")

    def __str__(self) -> str:
        return str(_("Publication policy"))

    @classmethod
    def current(cls) -> PublicationPolicy:
        """The policy BPKAD saved, or the defaults (a read never writes: the admin saves the one row)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class PublicExclusion(models.Model):
    """An asset, or every asset of an agency, hidden from the public pages (withdrawn, never deleted, to publish
    it again)."""

    asset = models.ForeignKey(
        LandAsset, verbose_name=_("asset"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("hidden since"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(_("published again on"), null=True, blank=True)
    history = HistoricalRecords(table_name="assets_historicalpublicexclusion")

    class Meta:
        verbose_name = _("hidden from the public")
        verbose_name_plural = _("hidden from the public")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(asset__isnull=False, agency__isnull=True)
                | models.Q(asset__isnull=True, agency__isnull=False),
                name="public_exclusion_asset_or_agency",
            )
        ]

    def __str__(self) -> str:
        return str(self.asset or self.agency)


def _new_code() -> str:
    """A verification code people can read out on the phone: CT-XXXX-XXXX (no 0/O, 1/I)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"CT-{raw[:4]}-{raw[4:]}"


class PublicLookup(models.Model):
    """One answer given to the public, kept so that its printed verification code can be checked by BPKAD."""

    code = models.CharField(_("verification code"), max_length=16, unique=True, default=_new_code)
    created_at = models.DateTimeField(_("answered at"), auto_now_add=True)
    method = models.CharField(_("asked by"), max_length=16)  # point, coordinates, kelurahan, file
    query_geom = models.GeometryField(_("place asked about"), srid=4326)
    answer = models.JSONField(_("answer"))  # exactly what was shown: published fields only

    class Meta:
        verbose_name = _("public lookup")
        verbose_name_plural = _("public lookups")

    def __str__(self) -> str:
        return self.code


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class PublicReport(models.Model):
    """A report of an occupation or encroachment, or a request to use (sewa) a parcel, from the public. Never
    published; the sender follows its status through the private link holding ``token``."""

    class Kind(models.TextChoices):
        OCCUPATION = "okupasi", _("Occupation or encroachment of city land")
        LEASE_REQUEST = "sewa", _("Request to use (sewa) city land")

    class Status(models.TextChoices):
        RECEIVED = "diterima", _("Received")
        REVIEWING = "ditinjau", _("Being reviewed by BPKAD")
        FOLLOWED_UP = "ditindaklanjuti", _("Followed up")
        CLOSED = "selesai", _("Closed")
        REJECTED = "ditolak", _("Not followed up")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    token = models.CharField(max_length=64, unique=True, default=_new_token, editable=False)
    location = models.PointField(_("location"), srid=4326)
    description = models.TextField(_("description"))
    photo = models.FileField(_("photo"), upload_to="public/%Y/%m", blank=True)
    contact_name = models.CharField(_("your name"), max_length=200)
    contact_phone = models.CharField(_("phone"), max_length=40, blank=True)
    contact_email = models.EmailField(_("e-mail"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED)
    status_note = models.TextField(_("note to the sender"), blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(table_name="assets_historicalpublicreport", excluded_fields=["token"])

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("public report")
        verbose_name_plural = _("public reports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
