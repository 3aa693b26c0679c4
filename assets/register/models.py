"""Data model of the KIB A land register (Permendagri 108/2016 codes, 47/2021 books): assets, certificates and
their stages, agencies, administrative areas, users."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractUser
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from assets.register.geo import STORAGE_SRID

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

KODE_BARANG_RE = re.compile(r"^\d+(\.\d+)*$")
# Permendagri 108/2016: Akun.Kelompok.Jenis.Objek.RincianObjek[.SubRincian[.SubSubRincian]], land = 1.3.1
KODE_BARANG_LAND_RE = re.compile(r"^1\.3\.1\.\d{2}\.\d{2}(\.\d{2}(\.\d{3})?)?$")


def validate_kode_barang(value: str) -> None:
    if not KODE_BARANG_RE.match(value or ""):
        raise ValidationError(
            _("%(value)s is not a kode barang: expected dotted digits such as 1.3.1.01.01.01.001."),
            code="format",
            params={"value": value},
        )
    if not value.startswith("1.3.1."):
        raise ValidationError(
            _("%(value)s is not a land code: KIB A codes start with 1.3.1 (Permendagri 108/2016)."),
            code="not_land",
            params={"value": value},
        )
    if not KODE_BARANG_LAND_RE.match(value):
        raise ValidationError(
            _(
                "%(value)s does not follow the Permendagri 108/2016 format 1.3.1.XX.XX[.XX[.XXX]] "
                "(for example 1.3.1.01.01.01.001)."
            ),
            code="format",
            params={"value": value},
        )


validate_nomor_register = RegexValidator(r"^\d{1,6}$", _("The register number must be 1 to 6 digits."))
validate_nib = RegexValidator(
    r"^(\d{13}|\d{14})$", _("NIB must be 13 digits (PMNA 3/1997) or 14 digits (ATR/BPN 1/2021).")
)


# The languages a user may choose for their e-mails (and pages), named in their own language.
LANGUAGE_CHOICES = [("id", "Bahasa Indonesia"), ("en", "English")]


class User(AbstractUser):
    """A Sipanah user. Officers (pengurus barang) belong to one agency (OPD)."""

    agency = models.ForeignKey(
        "assets.Agency",
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="users",
    )
    # The basemap this user last chose on a map ("" = the first configured, "none" = no basemap, else a basemap's
    # key): read by every map through assets.register.basemaps.basemap_for, set by the maps' layer control.
    map_basemap = models.CharField(_("basemap of the maps"), max_length=40, blank=True, default="")
    # The daily e-mail of what waits (assets.work.digest, ``manage.py send_work_digest``): on unless the user opts
    # out; written in ``language`` ("" = the site's default, Indonesian); ``digest_sent_on`` keeps a second run
    # on the same day from mailing the user twice.
    digest_opt_out = models.BooleanField(_("no daily e-mail of my work"), default=False)
    language = models.CharField(_("language"), max_length=8, blank=True, default="", choices=LANGUAGE_CHOICES)
    digest_sent_on = models.DateField(_("digest last sent on"), null=True, blank=True, editable=False)

    # The user's role names, set on the instance by assets.register.permissions (RoleBackend, user_roles).
    _sipanah_roles: frozenset[str]


class AdministrativeArea(models.Model):
    class Level(models.TextChoices):
        KOTA = "kota", _("Kota")
        KECAMATAN = "kecamatan", _("Kecamatan")
        KELURAHAN = "kelurahan", _("Kelurahan")

    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    code = models.CharField(_("Kemendagri code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent area"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    geom = models.MultiPolygonField(_("boundary"), srid=STORAGE_SRID)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("administrative area")
        verbose_name_plural = _("administrative areas")
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Agency(models.Model):
    """An OPD (perangkat daerah) that uses assets: the pengguna barang."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")

    def __str__(self) -> str:
        return self.name


class Signatory(models.Model):
    """Who signs printed outputs (KIB A, cards, berita acara, audit report): name, NIP and title per role, per
    agency (``agency`` empty: a city-level role such as the head of BPKAD). Kept in Sipanah, edited in the admin;
    ``assets.register.signatories`` reads them for the signature blocks."""

    class Role(models.TextChoices):
        PENGGUNA_BARANG = "pengguna_barang", _("Pengguna Barang (head of agency)")
        KUASA_PENGGUNA_BARANG = "kuasa_pengguna_barang", _("Kuasa Pengguna Barang")
        PENGURUS_BARANG = "pengurus_barang", _("Pengurus Barang")
        PENGELOLA_BARANG = "pengelola_barang", _("Pengelola Barang (Sekretaris Daerah)")
        KEPALA_BPKAD = "kepala_bpkad", _("Head of BPKAD")
        PENGURUS_BARANG_PENGELOLA = "pengurus_barang_pengelola", _("Pengurus Barang Pengelola (BPKAD)")

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), null=True, blank=True, on_delete=models.PROTECT, related_name="signatories"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    name = models.CharField(_("name"), max_length=200)
    nip = models.CharField(_("NIP"), max_length=32, blank=True)
    title = models.CharField(_("title (jabatan)"), max_length=200, blank=True)

    class Meta:
        ordering = ["agency__code", "role"]
        verbose_name = _("signatory")
        verbose_name_plural = _("signatories")
        constraints = [
            models.UniqueConstraint(fields=["agency", "role"], name="signatory_one_per_agency_role"),
            models.UniqueConstraint(
                fields=["role"], condition=models.Q(agency__isnull=True), name="signatory_one_per_city_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.name}"


class AsalUsul(models.TextChoices):
    PEMBELIAN = "PEMBELIAN", _("Purchase (pembelian)")
    HIBAH = "HIBAH", _("Grant (hibah)")
    TUKAR_MENUKAR = "TUKAR_MENUKAR", _("Exchange (tukar-menukar)")
    PENYERAHAN_PSU = "PENYERAHAN_PSU", _("Handover of PSU / fasum-fasos")
    PUTUSAN_PENGADILAN = "PUTUSAN_PENGADILAN", _("Court decision")
    LAINNYA = "LAINNYA", _("Other")


class PlottingStatus(models.TextChoices):
    LOCATED = "located", _("Located")
    APPROXIMATE = "approximate", _("Approximate")
    UNKNOWN = "unknown", _("Location unknown")


class CertificateStatus(models.TextChoices):
    BELUM = "belum", _("Not certified")
    PROSES = "proses", _("In process")
    TERBIT = "terbit", _("Certified")


class Stage(models.TextChoices):
    BELUM = "BELUM", _("Not started")
    PERSIAPAN_BERKAS = "PERSIAPAN_BERKAS", _("Preparing documents")
    DIAJUKAN_KE_BPN = "DIAJUKAN_KE_BPN", _("Submitted to BPN")
    PENGUKURAN = "PENGUKURAN", _("Survey")
    PETA_BIDANG_TERBIT = "PETA_BIDANG_TERBIT", _("Parcel map issued")
    SK_HAK_TERBIT = "SK_HAK_TERBIT", _("Rights decree issued")
    SERTIFIKAT_TERBIT = "SERTIFIKAT_TERBIT", _("Certificate issued")
    DITOLAK = "DITOLAK", _("Rejected")
    SENGKETA = "SENGKETA", _("In dispute")
    DIBLOKIR = "DIBLOKIR", _("Blocked")


MAIN_STAGES: tuple[str, ...] = (
    Stage.BELUM,
    Stage.PERSIAPAN_BERKAS,
    Stage.DIAJUKAN_KE_BPN,
    Stage.PENGUKURAN,
    Stage.PETA_BIDANG_TERBIT,
    Stage.SK_HAK_TERBIT,
    Stage.SERTIFIKAT_TERBIT,
)
DISPUTE_STAGES: tuple[str, ...] = (Stage.SENGKETA, Stage.DIBLOKIR)


class JenisHak(models.TextChoices):
    HP = "HP", _("Hak Pakai")
    HPL = "HPL", _("Hak Pengelolaan")
    HM = "HM", _("Hak Milik")
    HGB = "HGB", _("Hak Guna Bangunan")
    HGU = "HGU", _("Hak Guna Usaha")
    LAINNYA = "LAINNYA", _("Other")


class HistoryValidity(models.Model):
    """Columns of the history tables (django-simple-history's ``bases``) that give each history row the interval in
    which it is the object's recorded state, so that "as of D" is one WHERE clause (assets.register.history).

    Written only by the database triggers of assets.register.history_validity, never by Django:
    ``history_valid_until`` is the history_date of the object's next history row (ordered by history_date, then
    history_id; NULL for the newest); ``history_valid_from`` is set on the object's first row only when that row
    is not a creation ("+"): the object was bulk-created without history, and its earliest recorded state stands in
    from its created_at (NULL otherwise: a row is valid from its history_date)."""

    history_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    history_valid_from = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class UnrecordedRow(models.Model):
    """A live asset or certificate without any history row (written by a plain bulk_create): as of a date it counts
    in its current state since its created_at. Kept by the triggers of assets.register.history_validity (a row
    goes in with the live row and out with its first history row), so an as-of read finds these rows without
    comparing the live table with its history."""

    table = models.CharField(max_length=40)
    row_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "row_id"], name="assets_unrecordedrow_unique")]


class CertificateStatusSpan(models.Model):
    """The certificate status and stage of an asset as of any date, as spans of time: in ``(valid_from,
    valid_until]`` (an instant ``t`` with valid_from < t <= valid_until, NULL: no end) the certificates the as-of rule
    finds for the asset have the highest status code ``status_code`` (2 terbit, 1 proses, 0 belum) and the highest
    stage rank ``stage_rank`` (assets.register.history); an instant no span covers: no certificate, BELUM.

    Written only by the database triggers of assets.register.history_validity, from the certificates' history rows
    and their validity intervals (and the live certificates without history), never by Django; ``asset_id`` is no
    foreign key: the spans of a deleted asset still answer for the dates it stood in the register."""

    asset_id = models.BigIntegerField(db_index=True)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    status_code = models.SmallIntegerField()
    stage_rank = models.SmallIntegerField()


# The columns that make a register total's group (TotalsGroup): unique per group (and per day as of a date)
TOTALS_GROUP = ("agency_id", "kecamatan_id", "kelurahan_id", "status_sertifikat", "tahap_sertifikat",
                "plotting_status", "removed")  # fmt: skip


class TotalsGroup(models.Model):
    """The group of a register total (the register's dimensions) and its sums (hundredths of m², whole rupiah): live
    (RegisterTotal) and as of a date (AsOfPiece, AsOfTotal)."""

    agency_id = models.BigIntegerField()
    kecamatan_id = models.BigIntegerField(default=0)
    kelurahan_id = models.BigIntegerField(default=0)
    status_sertifikat = models.CharField(max_length=8)
    tahap_sertifikat = models.CharField(max_length=24)
    plotting_status = models.CharField(max_length=16)
    removed = models.BooleanField(default=False)
    n = models.IntegerField(default=0)
    located = models.IntegerField(default=0)
    luas_kib_c = models.BigIntegerField(default=0)
    luas_gis_c = models.BigIntegerField(default=0)
    nilai = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class AsOfPiece(TotalsGroup):
    """One asset's contribution to the register totals in ``(valid_from, valid_until]`` (assets.register.asof_totals).
    Written only by the database triggers; ``asset_id`` is no foreign key (a deleted asset's past stays)."""

    asset_id = models.BigIntegerField(db_index=True)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)


class AsOfTotal(TotalsGroup):
    """What a day adds to (or takes from) a group of the register totals: the totals as of D are the sums of the rows
    dated D or earlier (assets.register.asof_totals). Written only by the database triggers."""

    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", *TOTALS_GROUP], name="assets_asoftotal_group")]


class LandAsset(models.Model):
    """One KIB A row. Geometry and everything derived from it are written by assets.register.services."""

    kode_barang = models.CharField(_("kode barang"), max_length=32, validators=[validate_kode_barang])
    nomor_register = models.CharField(_("register number"), max_length=6, validators=[validate_nomor_register])
    nibar = models.CharField(_("NIBAR"), max_length=32, null=True, blank=True, unique=True)
    nama_barang = models.CharField(_("name / type of land"), max_length=200)
    alamat = models.TextField(_("address"), blank=True)
    # no index of its own: the (agency, status) and (agency, kode, register) indexes lead with it (docs/benchmarks.md,
    # "Index review")
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="assets", db_index=False
    )
    tanggal_perolehan = models.DateField(_("acquisition date"), null=True, blank=True)
    tahun_perolehan = models.PositiveSmallIntegerField(
        _("acquisition year"), validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    asal_usul = models.CharField(_("origin"), max_length=32, choices=AsalUsul.choices)
    nilai_perolehan = models.DecimalField(
        _("acquisition value (Rp)"), max_digits=18, decimal_places=0, validators=[MinValueValidator(0)]
    )
    penggunaan = models.CharField(_("use"), max_length=200, blank=True)
    luas_kib_m2 = models.DecimalField(
        _("KIB area (m²)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    keterangan = models.TextField(_("notes"), blank=True)

    geom = models.MultiPolygonField(_("geometry"), srid=STORAGE_SRID, null=True, blank=True)
    plotting_status = models.CharField(
        _("plotting status"), max_length=16, choices=PlottingStatus.choices, default=PlottingStatus.UNKNOWN
    )

    # Derived on every write by assets.services; never edited by hand.
    luas_gis_m2 = models.DecimalField(_("GIS area (m²)"), max_digits=14, decimal_places=2, null=True, blank=True)
    kelurahan = models.ForeignKey(
        AdministrativeArea,
        verbose_name=_("kelurahan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="kelurahan_assets",
    )
    kecamatan = models.ForeignKey(
        AdministrativeArea,
        verbose_name=_("kecamatan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="kecamatan_assets",
    )
    status_sertifikat = models.CharField(
        _("certificate status"), max_length=8, choices=CertificateStatus.choices, default=CertificateStatus.BELUM
    )
    tahap_sertifikat = models.CharField(
        _("certificate stage"), max_length=24, choices=Stage.choices, default=Stage.BELUM
    )
    bermasalah = models.BooleanField(_("in dispute or blocked"), default=False)

    # Penghapusan (write-off): the record stays, marked removed with its SK; BPKAD can reverse it.
    removed_at = models.DateField(_("removal date"), null=True, blank=True)
    removal_sk_nomor = models.CharField(_("removal decree (SK) number"), max_length=100, blank=True)
    removal_note = models.TextField(_("removal note"), blank=True)

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # the history's NIBAR is never looked up by value (the search is a substring match, which no btree serves)
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[HistoryValidity], no_db_index=["nibar"])
    # The reason simple_history writes into the history row of the next save (services.asset_remove, the importer).
    _change_reason: str

    class Meta:
        ordering = ["kode_barang", "nomor_register"]
        verbose_name = _("land asset")
        verbose_name_plural = _("land assets")
        constraints = [
            models.UniqueConstraint(fields=["kode_barang", "nomor_register"], name="landasset_kode_register_unique"),
        ]
        indexes = [
            models.Index(fields=["status_sertifikat"]),
            models.Index(fields=["tahap_sertifikat"]),
            models.Index(fields=["agency", "status_sertifikat"]),
            # an agency's page of the register in register order (an officer's list): without it PostgreSQL walks
            # the whole register in kode order and drops the other agencies' rows (0.3 s at 100k)
            models.Index(fields=["agency", "kode_barang", "nomor_register"], name="landasset_agency_order"),
            models.Index(fields=["tahun_perolehan"]),
            # the "parcels without location" work queue (assets.register.work.unlocated): its rows only
            models.Index(
                fields=["agency"],
                condition=models.Q(plotting_status=PlottingStatus.UNKNOWN, removed_at__isnull=True),
                name="landasset_unlocated",
            ),
        ]
        permissions = [("export_landasset", _("Can export land assets"))]

    def __str__(self) -> str:
        return f"{self.kode_barang}/{self.nomor_register} {self.nama_barang}"

    def clean(self) -> None:
        errors: dict[str, list[StrOrPromise]] = {}
        # the stored value (a GEOS geometry, or hex EWKB from services.prepare_parcels): only its presence matters,
        # so no GEOS object is built here from the hex text (a bulk import would pay for it once per asset)
        has_geom = self.__dict__.get("geom") is not None
        if not has_geom and self.plotting_status != PlottingStatus.UNKNOWN:
            errors.setdefault("plotting_status", []).append(_("An asset without geometry has an unknown location."))
        if has_geom and self.plotting_status == PlottingStatus.UNKNOWN:
            errors.setdefault("plotting_status", []).append(
                _("An asset with geometry is located or approximately located.")
            )
        if self.tanggal_perolehan and self.tahun_perolehan and self.tanggal_perolehan.year != self.tahun_perolehan:
            errors.setdefault("tahun_perolehan", []).append(
                _("The acquisition year %(year)s differs from the acquisition date %(date)s.")
                % {"year": self.tahun_perolehan, "date": self.tanggal_perolehan.isoformat()}
            )
        if errors:
            raise ValidationError(errors)


class Certificate(models.Model):
    """A land certificate (or a certification case still in progress) for one asset."""

    asset = models.ForeignKey(LandAsset, verbose_name=_("asset"), on_delete=models.CASCADE, related_name="certificates")
    jenis_hak = models.CharField(_("type of right"), max_length=16, choices=JenisHak.choices, blank=True)
    nomor = models.CharField(_("certificate number"), max_length=64, blank=True)
    tanggal = models.DateField(_("certificate date"), null=True, blank=True)
    nib = models.CharField(_("NIB"), max_length=14, blank=True, validators=[validate_nib])
    atas_nama = models.CharField(_("in the name of"), max_length=200, blank=True)
    luas_sertifikat_m2 = models.DecimalField(
        _("certificate area (m²)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    nomor_surat_ukur = models.CharField(_("survey certificate number"), max_length=64, blank=True)
    tanggal_surat_ukur = models.DateField(_("survey certificate date"), null=True, blank=True)
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices, default=Stage.BELUM)
    stage_since = models.DateField(_("in this stage since"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[HistoryValidity])

    class Meta:
        ordering = ["asset", "id"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        # (stage, stage_since): the "stuck" work queue's range per pipeline stage (assets.audit.work)
        # no index on nib: it is searched by substring (icontains), which no btree serves
        indexes = [models.Index(fields=["stage", "stage_since"])]

    def __str__(self) -> str:
        label = f"{self.get_jenis_hak_display() if self.jenis_hak else ''} {self.nomor}".strip()
        return label or str(_("Certificate in process"))

    def clean(self) -> None:
        if self.stage == Stage.SERTIFIKAT_TERBIT and not (self.nomor and self.tanggal and self.jenis_hak):
            raise ValidationError(
                _("An issued certificate needs its type of right, number and date."), code="incomplete"
            )


class CertificateStageEvent(models.Model):
    """One stage change of a certificate: the pipeline's audit trail and the source of time-in-stage."""

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="events")
    from_stage = models.CharField(_("from"), max_length=24, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=24, choices=Stage.choices)
    tanggal = models.DateField(_("date"))
    nomor_dokumen = models.CharField(_("document number"), max_length=100, blank=True)
    catatan = models.TextField(_("note"), blank=True)
    user = models.ForeignKey(
        User, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tanggal", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")

    def __str__(self) -> str:
        before = self.get_from_stage_display() if self.from_stage else "-"
        return f"{before} → {self.get_to_stage_display()} ({self.tanggal})"


class RegisterTotal(TotalsGroup):
    """Counts and sums of the assets per group of the register's dimensions (assets.register.aggregates).

    Written only by the database triggers on the assets table, never by Django. Ids are 0 for "none"; areas are
    hundredths of m² and values whole rupiah (integers: exact sums on both databases).
    """

    class Meta:
        constraints = [models.UniqueConstraint(fields=list(TOTALS_GROUP), name="assets_registertotal_group")]

    def __str__(self) -> str:
        return f"{self.agency_id}/{self.kelurahan_id}/{self.status_sertifikat}: {self.n}"
