"""Register filters, shared by the list, map, API and exports so a URL means the same everywhere."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from assets.register.models import (
    AdministrativeArea,
    Agency,
    Certificate,
    CertificateStatus,
    JenisHak,
    LandAsset,
    PlottingStatus,
    Stage,
)


class AssetFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label=_("Search"))
    # distinct=False: a column of the asset itself cannot repeat a row, and django-filter's default SELECT DISTINCT
    # over every column made the filtered list, its count and its totals 3-4x slower.
    status = django_filters.MultipleChoiceFilter(
        field_name="status_sertifikat",
        choices=CertificateStatus.choices,
        distinct=False,
        label=_("Certificate status"),
    )
    tahap = django_filters.MultipleChoiceFilter(
        field_name="tahap_sertifikat", choices=Stage.choices, distinct=False, label=_("Stage")
    )
    agency = django_filters.ModelChoiceFilter(queryset=Agency.objects.all(), to_field_name="code", label=_("Agency"))
    kecamatan = django_filters.ModelChoiceFilter(
        queryset=AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KECAMATAN).defer("geom"),
        to_field_name="code",
        label=_("Kecamatan"),
    )
    kelurahan = django_filters.ModelChoiceFilter(
        queryset=AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KELURAHAN).defer("geom"),
        to_field_name="code",
        label=_("Kelurahan"),
    )
    jenis_hak = django_filters.ChoiceFilter(
        choices=JenisHak.choices, method="filter_jenis_hak", label=_("Type of right")
    )
    plotting = django_filters.ChoiceFilter(
        field_name="plotting_status", choices=PlottingStatus.choices, label=_("Plotting status")
    )
    tahun_min = django_filters.NumberFilter(field_name="tahun_perolehan", lookup_expr="gte", label=_("Year from"))
    tahun_max = django_filters.NumberFilter(field_name="tahun_perolehan", lookup_expr="lte", label=_("Year to"))
    luas_min = django_filters.NumberFilter(field_name="luas_kib_m2", lookup_expr="gte", label=_("Area from (m²)"))
    luas_max = django_filters.NumberFilter(field_name="luas_kib_m2", lookup_expr="lte", label=_("Area to (m²)"))
    # Removed (penghapusan) assets stay on record but leave the register unless asked for.
    removed = django_filters.ChoiceFilter(
        choices=[("include", _("Include removed assets")), ("only", _("Only removed assets"))],
        method="filter_removed",
        empty_label=_("Without removed assets"),
        label=_("Removed assets"),
    )

    class Meta:
        model = LandAsset
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[LandAsset]) -> QuerySet[LandAsset]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("removed"):
            queryset = queryset.filter(removed_at__isnull=True)
        return queryset

    def filter_removed(self, queryset: QuerySet[LandAsset], name: str, value: str) -> QuerySet[LandAsset]:
        return queryset.filter(removed_at__isnull=False) if value == "only" else queryset

    def filter_text(self, queryset: QuerySet[LandAsset], name: str, value: str) -> QuerySet[LandAsset]:
        value = value.strip()
        if not value:
            return queryset
        nib_match = Certificate.objects.filter(asset=OuterRef("id"), nib__icontains=value)
        return queryset.filter(
            Q(nama_barang__icontains=value)
            | Q(kode_barang__startswith=value)
            | Q(nomor_register=value)
            | Q(nibar__icontains=value)
            | Exists(nib_match)
        )

    def filter_jenis_hak(self, queryset: QuerySet[LandAsset], name: str, value: str) -> QuerySet[LandAsset]:
        if not value:
            return queryset
        return queryset.filter(Exists(Certificate.objects.filter(asset=OuterRef("id"), jenis_hak=value)))
