"""Dispute and occupation cases on the city's land, and pemanfaatan agreements (sewa, pinjam pakai, KSP, BGS/BSG,
KSPI; Permendagri 19/2016) with their payment schedules. Nothing here is deleted: a case is closed or stopped with
a reason, an agreement ends or is stopped with a reason; stage events only grow. Every write goes through
assets.encumbrance.services."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.gis.db import models
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from assets.evidence.models import Document
from assets.register.geo import STORAGE_SRID
from assets.register.models import LandAsset, User


class CaseKind(models.TextChoices):
    OKUPASI = "OKUPASI", _("Occupation (okupasi / dikuasai pihak lain)")
    KLAIM = "KLAIM", _("Claim by heirs or a third party (klaim ahli waris / pihak ketiga)")
    TUMPANG_TINDIH = "TUMPANG_TINDIH", _("Overlap with another party's certificate (tumpang tindih)")
    SENGKETA_BATAS = "SENGKETA_BATAS", _("Boundary dispute (sengketa batas)")
    PERKARA = "PERKARA", _("Court case (perkara pengadilan)")
    BLOKIR = "BLOKIR", _("Blocked by BPN (blokir BPN)")


class CaseStage(models.TextChoices):
    IDENTIFIKASI = "IDENTIFIKASI", _("Identification")
    KLARIFIKASI = "KLARIFIKASI", _("Clarification / mediation")
    GUGATAN = "GUGATAN", _("Lawsuit filed (gugatan)")
    PUTUSAN_PN = "PUTUSAN_PN", _("Decision of the district court (PN)")
    PUTUSAN_PT = "PUTUSAN_PT", _("Decision on appeal (PT)")
    PUTUSAN_MA = "PUTUSAN_MA", _("Decision of the Supreme Court (MA)")
    INKRACHT = "INKRACHT", _("Final and binding (inkracht)")
    EKSEKUSI = "EKSEKUSI", _("Execution (eksekusi)")
    SELESAI = "SELESAI", _("Settled (selesai)")
    DIHENTIKAN = "DIHENTIKAN", _("Stopped (dihentikan)")


# The path of a case; a step may be skipped (mediation that settles, a PN decision nobody appeals).
CASE_PATH: tuple[str, ...] = (
    CaseStage.IDENTIFIKASI,
    CaseStage.KLARIFIKASI,
    CaseStage.GUGATAN,
    CaseStage.PUTUSAN_PN,
    CaseStage.PUTUSAN_PT,
    CaseStage.PUTUSAN_MA,
    CaseStage.INKRACHT,
    CaseStage.EKSEKUSI,
    CaseStage.SELESAI,
)
CLOSED_STAGES: tuple[str, ...] = (CaseStage.SELESAI, CaseStage.DIHENTIKAN)


class DisputeCase(models.Model):
    """A dispute or occupation case on one or several assets (certified or not). Open while ``closed_on`` is
    empty; the register's dispute flag (``LandAsset.bermasalah``) counts open cases (register.services)."""

    assets = models.ManyToManyField(LandAsset, verbose_name=_("assets"), related_name="dispute_cases")
    kind = models.CharField(_("kind of case"), max_length=16, choices=CaseKind.choices)
    title = models.CharField(_("short description"), max_length=200)
    parties = models.TextField(_("other parties"), blank=True)
    description = models.TextField(_("description"), blank=True)
    geom = models.MultiPolygonField(_("disputed part"), srid=STORAGE_SRID, null=True, blank=True)
    area_m2 = models.DecimalField(_("disputed area (m²)"), max_digits=14, decimal_places=2, null=True, blank=True)
    stage = models.CharField(_("stage"), max_length=16, choices=CaseStage.choices, default=CaseStage.IDENTIFIKASI)
    stage_since = models.DateField(_("in this stage since"))
    opened_on = models.DateField(_("opened on"))
    court_case_numbers = models.CharField(_("court case numbers"), max_length=300, blank=True)
    next_hearing = models.DateField(_("next hearing"), null=True, blank=True)
    officer = models.ForeignKey(
        User, verbose_name=_("responsible officer"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="dispute_cases",
    )  # fmt: skip
    outcome = models.TextField(_("outcome"), blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    close_reason = models.TextField(_("reason for closing"), blank=True)
    documents = models.ManyToManyField(Document, verbose_name=_("documents"), blank=True, related_name="dispute_cases")
    created_by = models.ForeignKey(
        User, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], m2m_fields=[assets])

    class Meta:
        ordering = ["-opened_on", "-id"]
        verbose_name = _("dispute case")
        verbose_name_plural = _("dispute cases")
        indexes = [
            models.Index(fields=["closed_on", "kind"]),
            models.Index(fields=["next_hearing"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.closed_on is None


class CaseStageEvent(models.Model):
    """One stage change of a case (append-only): the case's dated trail."""

    case = models.ForeignKey(DisputeCase, verbose_name=_("case"), on_delete=models.PROTECT, related_name="events")
    from_stage = models.CharField(_("from"), max_length=16, choices=CaseStage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=16, choices=CaseStage.choices)
    date = models.DateField(_("date"))
    court_case_number = models.CharField(_("court case number"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)
    user = models.ForeignKey(
        User, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("case stage change")
        verbose_name_plural = _("case stage changes")

    def __str__(self) -> str:
        return f"{self.from_stage or '-'} → {self.to_stage} ({self.date})"


class UtilisationForm(models.TextChoices):
    SEWA = "SEWA", _("Lease (sewa)")
    PINJAM_PAKAI = "PINJAM_PAKAI", _("Loan for use (pinjam pakai)")
    KSP = "KSP", _("Utilisation partnership (KSP)")
    BGS = "BGS", _("Build-use-transfer (BGS)")
    BSG = "BSG", _("Build-transfer-use (BSG)")
    KSPI = "KSPI", _("Infrastructure partnership (KSPI)")


class UtilisationStatus(models.TextChoices):
    AKTIF = "AKTIF", _("Active")
    BERAKHIR = "BERAKHIR", _("Ended")
    DIPERPANJANG = "DIPERPANJANG", _("Extended")
    DIHENTIKAN = "DIHENTIKAN", _("Stopped")


# The statuses under which the partner still uses the land.
IN_USE_STATUSES: tuple[str, ...] = (UtilisationStatus.AKTIF, UtilisationStatus.DIPERPANJANG)


class Utilisation(models.Model):
    """A pemanfaatan agreement on one asset: who uses which part, on what terms, until when."""

    asset = models.ForeignKey(LandAsset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="utilisations")
    form = models.CharField(_("form of utilisation"), max_length=16, choices=UtilisationForm.choices)
    partner_name = models.CharField(_("partner"), max_length=200)
    partner_npwp = models.CharField(_("partner NPWP"), max_length=32, blank=True)
    partner_nik = models.CharField(_("partner NIK"), max_length=32, blank=True)
    agreement_number = models.CharField(_("agreement number"), max_length=100)
    agreement_date = models.DateField(_("agreement date"))
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    geom = models.MultiPolygonField(_("used part"), srid=STORAGE_SRID, null=True, blank=True)
    area_m2 = models.DecimalField(_("used area (m²)"), max_digits=14, decimal_places=2, null=True, blank=True)
    purpose = models.CharField(_("purpose"), max_length=300)
    tariff = models.DecimalField(
        _("tariff or contribution (Rp)"), max_digits=18, decimal_places=0, default=0, validators=[MinValueValidator(0)]
    )
    tariff_basis = models.CharField(_("tariff basis"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=UtilisationStatus.choices, default=UtilisationStatus.AKTIF
    )
    status_reason = models.TextField(_("reason for the status"), blank=True)
    documents = models.ManyToManyField(Document, verbose_name=_("documents"), blank=True, related_name="utilisations")
    created_by = models.ForeignKey(
        User, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("utilisation (pemanfaatan)")
        verbose_name_plural = _("utilisations (pemanfaatan)")
        indexes = [models.Index(fields=["status", "end_date"])]

    def __str__(self) -> str:
        return f"{self.get_form_display()} {self.agreement_number}: {self.partner_name}"


class Payment(models.Model):
    """One row of an agreement's payment schedule (retribusi / PAD): what is due when, and what was paid."""

    utilisation = models.ForeignKey(
        Utilisation, verbose_name=_("utilisation"), on_delete=models.PROTECT, related_name="payments"
    )
    due_date = models.DateField(_("due date"))
    amount_due = models.DecimalField(
        _("amount due (Rp)"), max_digits=18, decimal_places=0, validators=[MinValueValidator(0)]
    )
    paid_amount = models.DecimalField(
        _("paid (Rp)"), max_digits=18, decimal_places=0, default=0, validators=[MinValueValidator(0)]
    )
    paid_date = models.DateField(_("paid on"), null=True, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["utilisation", "due_date", "id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payment schedule")
        indexes = [models.Index(fields=["due_date"])]

    def __str__(self) -> str:
        return f"{self.due_date}: {self.amount_due}"

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount_due - self.paid_amount, Decimal(0))
