"""Django admin for every model. Asset and certificate writes go through assets.services."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.gis.admin import GISModelAdmin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from assets.evidence.models import CustodyEvent, Document, DocumentRequirement, StoragePlace
from assets.ledger.models import OfficerSubUnit, SubUnit
from assets.public.models import PublicationPolicy, PublicExclusion, PublicReport
from assets.register import overlaps, services
from assets.register.forms import ParcelGeometryField, ParcelMapWidget, VersionedAssetForm
from assets.register.models import (
    AdministrativeArea,
    Agency,
    Certificate,
    CertificateStageEvent,
    LandAsset,
    Signatory,
    User,
)


class SipanahGISAdmin(GISModelAdmin):
    gis_widget = ParcelMapWidget


@admin.register(AdministrativeArea)
class AdministrativeAreaAdmin(SipanahGISAdmin):
    gis_widget_kwargs = {"parcel": False}  # a boundary: drawn and edited, no parcel check or neighbouring parcels
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Signatory)
class SignatoryAdmin(admin.ModelAdmin):
    list_display = ("role", "agency", "name", "nip", "title")
    list_filter = ("role",)
    search_fields = ("name", "nip", "agency__name")
    autocomplete_fields = ("agency",)


@admin.register(User)
class SipanahUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Sipanah"), {"fields": ("agency", "language", "digest_opt_out", "digest_sent_on")}),
    )
    readonly_fields = ("digest_sent_on",)
    list_display = ("username", "first_name", "last_name", "agency", "is_staff", "is_active")
    list_filter = ("groups", "agency", "is_staff", "is_active")


class CertificateInline(admin.TabularInline):
    model = Certificate
    extra = 0
    fields = ("jenis_hak", "nomor", "tanggal", "nib", "atas_nama", "luas_sertifikat_m2", "stage", "stage_since")
    readonly_fields = fields  # certificates and stage changes are edited through their own forms
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LandAssetAdminForm(VersionedAssetForm):
    """The admin's asset form, with the same optimistic version check as the register's edit page."""

    class Meta:
        model = LandAsset
        fields = [*services.ASSET_FIELDS, "geom"]  # the admin passes its own field list; this is the default

    request_user = None  # set by LandAssetAdmin.get_form: the overlap rule depends on who saves

    def clean(self) -> dict:
        cleaned = super().clean()
        geom = cleaned.get("geom")
        if self.request_user is not None and geom is not None and "geom" not in self.errors:
            # The overlap rule shown on the form (services applies it again when saving).
            probe = LandAsset(pk=self.instance.pk, geom=geom)
            before = self.instance.geom if self.instance.pk else None
            try:
                overlaps.check_save(
                    user=self.request_user, asset=probe, before=before, reason=cleaned.get("overlap_reason")
                )
            except ValidationError as exc:
                for field, errors in exc.error_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        loaded = cleaned.get("loaded_version")
        if self.instance.pk and loaded is not None:
            # An early, unlocked look so the admin shows the refusal on the form; services.asset_update
            # repeats the check under a row lock when saving.
            stored = LandAsset.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            if stored != loaded:
                services.raise_stale_version(expected=loaded, stored=stored)
        return cleaned


@admin.register(LandAsset)
class LandAssetAdmin(SipanahGISAdmin):
    form = LandAssetAdminForm
    list_display = ("kode_barang", "nomor_register", "nama_barang", "agency", "kelurahan", "status_sertifikat")
    list_filter = ("status_sertifikat", "tahap_sertifikat", "plotting_status", "agency", "kecamatan")
    search_fields = ("kode_barang", "nomor_register", "nibar", "nama_barang")
    list_select_related = ("agency", "kelurahan")
    readonly_fields = (
        "luas_gis_m2",
        "kelurahan",
        "kecamatan",
        "status_sertifikat",
        "tahap_sertifikat",
        "bermasalah",
        "version",
    )
    inlines = [CertificateInline]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "geom":
            return ParcelGeometryField(label=db_field.verbose_name, required=False, srid=4326)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request_user = request.user
        return form

    def save_model(self, request, obj, form, change) -> None:
        data = {name: form.cleaned_data[name] for name in services.ASSET_FIELDS if name in form.cleaned_data}
        geom = form.cleaned_data.get("geom")
        reason = form.cleaned_data.get("overlap_reason")
        try:
            if change:
                fresh = LandAsset.objects.get(pk=obj.pk)
                saved = services.asset_update(
                    asset=fresh,
                    user=request.user,
                    data=data,
                    geom=geom,
                    expected_version=form.cleaned_data.get("loaded_version"),
                    overlap_reason=reason,
                )
            else:
                saved = services.asset_create(user=request.user, geom=geom, overlap_reason=reason, **data)
        except ValidationError as exc:
            # Model validation already ran on the form; reaching here means a race with another write.
            raise ValidationError(exc.messages) from exc
        obj.pk = saved.pk


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ("__str__", "asset", "stage", "stage_since", "atas_nama")
    list_filter = ("stage", "jenis_hak")
    search_fields = ("nomor", "nib", "asset__nama_barang", "asset__kode_barang")
    raw_id_fields = ("asset",)
    readonly_fields = ("stage", "stage_since")

    def save_model(self, request, obj, form, change) -> None:
        if change:
            services.certificate_save(certificate=obj, user=request.user)
        else:
            fields = {name: form.cleaned_data.get(name) for name in services.CERTIFICATE_FIELDS}
            fields = {k: v for k, v in fields.items() if v not in (None, "")}
            saved = services.certificate_create(asset=obj.asset, user=request.user, **fields)
            obj.pk = saved.pk


@admin.register(CertificateStageEvent)
class CertificateStageEventAdmin(admin.ModelAdmin):
    list_display = ("certificate", "from_stage", "to_stage", "tanggal", "nomor_dokumen", "user")
    list_filter = ("to_stage",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- Evidence: the checklist and the storage places are BPKAD's to edit; documents and the custody log are made by
# assets.evidence.services only and never deleted.


@admin.register(DocumentRequirement)
class DocumentRequirementAdmin(admin.ModelAdmin):
    list_display = ("doc_type", "asal_usul", "from_stage", "active", "note")
    list_filter = ("active", "asal_usul", "doc_type")
    list_editable = ("active",)


@admin.register(StoragePlace)
class StoragePlaceAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "location", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the custody log points at it: set it out of use instead


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "asset",
        "doc_type",
        "original_name",
        "size",
        "uploaded_by",
        "uploaded_at",
        "withdrawn_at",
    )
    list_filter = ("doc_type", "content_type")
    search_fields = ("number", "original_name", "sha256", "asset__nama_barang", "asset__kode_barang")
    raw_id_fields = ("asset", "certificate", "stage_event")


@admin.register(CustodyEvent)
class CustodyEventAdmin(ReadOnlyAdmin):
    list_display = ("certificate", "kind", "date", "place", "borrower", "due_date", "user")
    list_filter = ("kind", "place")


@admin.register(PublicationPolicy)
class PublicationPolicyAdmin(admin.ModelAdmin):
    """What the public pages (Cek Tanah, /publik/) show: one row."""

    list_display = ("enabled", "publish_kode_barang", "publish_certificate_status", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not PublicationPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PublicExclusion)
class PublicExclusionAdmin(admin.ModelAdmin):
    """Assets or agencies hidden from the public pages; set "published again on" to publish them again."""

    list_display = ("asset", "agency", "reason", "created_at", "withdrawn_at")
    list_filter = ("withdrawn_at",)
    raw_id_fields = ("asset",)
    autocomplete_fields = ("agency",)
    readonly_fields = ("created_at", "created_by")

    def save_model(self, request: HttpRequest, obj: PublicExclusion, form: object, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # withdrawn, never deleted


@admin.register(PublicReport)
class PublicReportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "contact_name", "status")
    list_filter = ("kind", "status")
    readonly_fields = ("token", "created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SubUnit)
class SubUnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "agency")
    list_filter = ("agency",)
    search_fields = ("code", "name")


@admin.register(OfficerSubUnit)
class OfficerSubUnitAdmin(admin.ModelAdmin):
    list_display = ("user", "sub_unit")
    raw_id_fields = ("user",)
