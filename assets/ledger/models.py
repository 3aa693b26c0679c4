"""Reconciliation with the official BMD register (SIMDA BMD / e-BMD): runs, their snapshot rows, the pairs found
and the decisions taken on them. A run never writes to the register by itself: only a decision to accept an
official value does, through assets.register.services, and its history row names the run."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assets.register.models import Agency, LandAsset, User


class ReconciliationRun(models.Model):
    """One upload of the official KIB A export (a snapshot) matched against Sipanah's live register."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class State(models.TextChoices):
        """Where the background worker is with the upload (assets.ledger.jobs): its lines exist once ready."""

        QUEUED = "queued", _("Waiting for the worker")
        RUNNING = "running", _("Being read and matched")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    source_name = models.CharField(_("official file"), max_length=255)
    file_format = models.CharField(_("format"), max_length=40, blank=True)
    system = models.CharField(_("official system"), max_length=40, blank=True)  # SIMDA BMD, e-BMD
    snapshot_date = models.DateField(_("register date of the official export"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(_("note"), blank=True)
    # the reading's warnings and the rows it could not read (row number, field, message)
    read_report = models.JSONField(_("reading report"), default=dict, blank=True)
    official_rows = models.PositiveIntegerField(_("official rows"), default=0)
    register_rows = models.PositiveIntegerField(_("Sipanah assets"), default=0)
    match_seconds = models.FloatField(_("matching time (s)"), default=0)
    created_by = models.ForeignKey(User, verbose_name=_("uploaded by"), null=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # the background reading and matching of a web upload (a run started from the command line is ready at once)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.READY)
    file = models.FileField(_("uploaded file"), upload_to="ledger/%Y/%m/", max_length=500, blank=True)
    failure = models.TextField(_("why it failed"), blank=True)
    started_at = models.DateTimeField(_("matching started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("matching finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")

    def __str__(self) -> str:
        return f"#{self.pk} {self.source_name}"


class OfficialRow(models.Model):
    """One row of the official export, as read by the importer's readers (never written to the register)."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(_("row"))
    nibar = models.CharField(_("NIBAR"), max_length=32, blank=True)
    kode_barang = models.CharField(_("kode barang"), max_length=32)
    nomor_register = models.CharField(_("register number"), max_length=6)
    nama_barang = models.CharField(_("name / type of land"), max_length=200, blank=True)
    alamat = models.TextField(_("address"), blank=True)
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), null=True, on_delete=models.PROTECT,
                               related_name="+")  # fmt: skip
    tahun_perolehan = models.PositiveSmallIntegerField(_("acquisition year"), null=True)
    tanggal_perolehan = models.DateField(_("acquisition date"), null=True)
    nilai_perolehan = models.DecimalField(_("acquisition value (Rp)"), max_digits=18, decimal_places=0, null=True)
    luas_kib_m2 = models.DecimalField(_("KIB area (m²)"), max_digits=14, decimal_places=2, null=True)
    asal_usul = models.CharField(_("origin"), max_length=32, blank=True)
    penggunaan = models.CharField(_("use"), max_length=200, blank=True)
    jenis_hak = models.CharField(_("type of right"), max_length=16, blank=True)
    nomor_sertifikat = models.CharField(_("certificate number"), max_length=64, blank=True)
    tanggal_sertifikat = models.DateField(_("certificate date"), null=True)

    class Meta:
        ordering = ["run", "number"]
        verbose_name = _("official row")
        verbose_name_plural = _("official rows")
        # the matching's joins (assets.ledger.services.match_run): by NIBAR, by kode barang + register number
        indexes = [
            models.Index(fields=["run", "nibar"], name="ledger_official_nibar"),
            models.Index(fields=["run", "kode_barang", "nomor_register"], name="ledger_official_kode"),
        ]

    def __str__(self) -> str:
        return f"{self.kode_barang}/{self.nomor_register} {self.nama_barang}"


class Category(models.TextChoices):
    EQUAL = "equal", _("Matched and equal")
    DIFFERS = "differs", _("Matched with differences")
    PROPOSED = "proposed", _("Likely pair (to confirm)")
    ONLY_SIPANAH = "only_sipanah", _("Only in Sipanah")
    ONLY_OFFICIAL = "only_official", _("Only in the official register")


class Method(models.TextChoices):
    NIBAR = "nibar", _("NIBAR")
    KODE_REGISTER = "kode_register", _("kode barang + register")
    PROPOSED = "proposed", _("proposed by similarity")
    MANUAL = "manual", _("paired by hand")
    NONE = "", _("not paired")


class ReconciliationItem(models.Model):
    """One line of a run: an official row and/or a Sipanah asset, its category and the fields that differ.

    Pairing by hand or rejecting a proposed pair never deletes a line: the superseded one is kept inactive,
    pointing to the line that replaced it."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="items")
    official = models.ForeignKey(OfficialRow, null=True, blank=True, on_delete=models.CASCADE, related_name="items")
    asset = models.ForeignKey(LandAsset, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    method = models.CharField(_("matched by"), max_length=16, choices=Method.choices, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    differences = models.JSONField(_("fields that differ"), default=list, blank=True)
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # the asset's value when the run matched it (the berita acara's "Sipanah" side)
    sipanah_nilai = models.DecimalField(_("Sipanah value (Rp)"), max_digits=18, decimal_places=0, null=True,
                                        blank=True)  # fmt: skip
    active = models.BooleanField(default=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved = models.BooleanField(_("resolved"), default=False)

    class Meta:
        ordering = ["run", "id"]
        verbose_name = _("reconciliation line")
        verbose_name_plural = _("reconciliation lines")
        indexes = [models.Index(fields=["run", "active", "category", "id"])]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.pk} {self.category}"

    @property
    def key(self) -> str:
        """What identifies the line across runs: the asset, else the official row's NIBAR or kode/register."""
        if self.asset_id:
            return f"asset:{self.asset_id}"
        row = self.official
        assert row is not None  # noqa: S101 - a line has an asset or an official row
        return f"nibar:{row.nibar}" if row.nibar else f"kode:{row.kode_barang}/{row.nomor_register}"


class Decision(models.Model):
    """A user's decision on a line (one field, or the whole line): the latest per (line, field) counts."""

    class Action(models.TextChoices):
        ACCEPT = "accept", _("Official value accepted into Sipanah")
        KEEP = "keep", _("Sipanah's value kept (to send back to the BMD administrator)")
        CONFIRM = "confirm", _("Proposed pair confirmed")
        REJECT = "reject", _("Proposed pair rejected")
        PAIR = "pair", _("Paired by hand")
        CREATE = "create", _("Asset created in Sipanah from the official row")

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="decisions")
    item = models.ForeignKey(ReconciliationItem, on_delete=models.CASCADE, related_name="decisions")
    field = models.CharField(_("field"), max_length=32, blank=True)  # "" = the whole line
    action = models.CharField(_("decision"), max_length=8, choices=Action.choices)
    official_value = models.TextField(_("official value"), blank=True)
    sipanah_value = models.TextField(_("Sipanah value"), blank=True)
    reason = models.TextField(_("reason"), blank=True)
    user = models.ForeignKey(User, verbose_name=_("user"), null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True)
    # the asset this decision created (an official row Sipanah lacked, accepted)
    created_asset = models.ForeignKey(LandAsset, verbose_name=_("asset created"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")  # fmt: skip

    class Meta:
        ordering = ["run", "id"]
        verbose_name = _("reconciliation decision")
        verbose_name_plural = _("reconciliation decisions")

    def __str__(self) -> str:
        return f"{self.item_id} {self.field or '*'} {self.action}"


class AgencyTransfer(models.Model):
    """A transfer of an asset between agencies (mutasi) or a change of its use status (alih status penggunaan):
    proposed by the owning agency's officer or BPKAD, approved by BPKAD with its SK (number, date, scan), effective
    on a date. The only way an asset's agency changes."""

    class Kind(models.TextChoices):
        MUTASI = "mutasi", _("Transfer between agencies (mutasi)")
        ALIH_STATUS = "alih_status", _("Change of use status (alih status penggunaan)")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    asset = models.ForeignKey(LandAsset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="transfers")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.MUTASI)
    from_agency = models.ForeignKey(Agency, verbose_name=_("from agency"), on_delete=models.PROTECT, related_name="+")
    to_agency = models.ForeignKey(Agency, verbose_name=_("to agency"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED)
    reason = models.TextField(_("reason"))
    proposed_by = models.ForeignKey(User, verbose_name=_("proposed by"), null=True, on_delete=models.SET_NULL,
                                    related_name="+")  # fmt: skip
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    sk_nomor = models.CharField(_("decree (SK) number"), max_length=100, blank=True)
    sk_tanggal = models.DateField(_("decree (SK) date"), null=True, blank=True)
    sk_document = models.ForeignKey("assets.Document", verbose_name=_("decree (SK) scan"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")  # fmt: skip
    effective_date = models.DateField(_("effective date"), null=True, blank=True)
    decided_by = models.ForeignKey(User, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    run = models.ForeignKey(ReconciliationRun, verbose_name=_("from reconciliation run"), null=True, blank=True,
                            on_delete=models.SET_NULL, related_name="transfers")  # fmt: skip

    class Meta:
        ordering = ["-proposed_at", "-id"]
        verbose_name = _("agency transfer")
        verbose_name_plural = _("agency transfers")
        indexes = [models.Index(fields=["status", "effective_date"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}: {self.asset_id} {self.from_agency_id} → {self.to_agency_id}"


class OpeningBalance(models.Model):
    """The opening balance (saldo awal): the assets recorded when Sipanah went live, dated back so that the register
    as of an earlier date shows what the city held then. Their creation history rows are moved to the effective date
    (or to each asset's acquisition date); this row keeps who did it, when, and how many rows moved."""

    class Mode(models.TextChoices):
        DATE = "date", _("On the effective date")
        ACQUISITION = "acquisition", _("Since each asset's acquisition date")

    mode = models.CharField(_("dated"), max_length=16, choices=Mode.choices, default=Mode.DATE)
    effective_date = models.DateField(_("effective date"), null=True, blank=True)
    recorded_from = models.DateField(_("recorded from"))
    recorded_until = models.DateField(_("recorded until"))
    reason = models.TextField(_("reason"))
    assets_moved = models.PositiveIntegerField(_("assets dated back"), default=0)
    certificates_moved = models.PositiveIntegerField(_("certificates dated back"), default=0)
    created_by = models.ForeignKey(User, verbose_name=_("recorded by"), null=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("opening balance")
        verbose_name_plural = _("opening balances")

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.effective_date or ''}".strip()


class SubUnit(models.Model):
    """A sub-unit of an agency (kuasa pengguna barang / UPT: a school, a puskesmas) that holds some of its assets."""

    agency = models.ForeignKey(Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="sub_units")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["agency__code", "code"]
        verbose_name = _("sub-unit (kuasa pengguna barang / UPT)")
        verbose_name_plural = _("sub-units (kuasa pengguna barang / UPT)")
        constraints = [models.UniqueConstraint(fields=["agency", "code"], name="subunit_code_per_agency")]

    def __str__(self) -> str:
        return f"{self.name} ({self.agency.code})"


class AssetSubUnit(models.Model):
    """The sub-unit an asset is held by (none: the agency itself)."""

    asset = models.OneToOneField(LandAsset, primary_key=True, on_delete=models.CASCADE, related_name="sub_unit_link")
    sub_unit = models.ForeignKey(SubUnit, verbose_name=_("sub-unit"), null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")  # fmt: skip  # none: held by the agency itself
    set_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("asset's sub-unit")
        verbose_name_plural = _("assets' sub-units")

    def __str__(self) -> str:
        return f"{self.asset_id} → {self.sub_unit_id or '-'}"


class OfficerSubUnit(models.Model):
    """An officer bound to a sub-unit: they change only the assets of that sub-unit (assets.ledger.subunits)."""

    user = models.OneToOneField(User, primary_key=True, verbose_name=_("user"), on_delete=models.CASCADE,
                                related_name="sub_unit_link")  # fmt: skip
    sub_unit = models.ForeignKey(SubUnit, verbose_name=_("sub-unit"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("officer's sub-unit")
        verbose_name_plural = _("officers' sub-units")

    def __str__(self) -> str:
        return f"{self.user_id} → {self.sub_unit_id}"
