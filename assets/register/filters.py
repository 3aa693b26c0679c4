"""Register filters, shared by the list, map, API and exports so a URL means the same everywhere."""

from __future__ import annotations

import django_filters
from django.db import connections
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
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

# The asset's searchable columns in one upper-cased text: every match of the search's own-column conditions contains
# the search text in it, so ``SEARCH_TEXT LIKE upper('%…%')`` is a pre-filter that never drops a match. On PostGIS a
# trigram index on exactly this expression (migration 0022) serves it, so a search reads the matching assets
# instead of testing every row (0.86 s of PostgreSQL CPU per search at 1M parcels). Same SQL on SpatiaLite (a scan
# there, as before). Keep it identical to the index's expression, or PostgreSQL will not use the index.
SEARCH_TEXT = (
    "upper(coalesce(nama_barang, '') || ' ' || coalesce(kode_barang, '') || ' ' || coalesce(nomor_register, '')"
    " || ' ' || coalesce(nibar, ''))"
)
NIB_IDS = 10_000


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
        own = (
            Q(nama_barang__icontains=value)
            | Q(kode_barang__startswith=value)
            | Q(nomor_register=value)
            | Q(nibar__icontains=value)
        )
        if queryset.model is not LandAsset:  # history rows (as of a date): tested row by row
            nib_match = Certificate.objects.filter(asset=OuterRef("id"), nib__icontains=value)
            return queryset.filter(own | Exists(nib_match))
        # The live register: its own columns through the pre-filter, and the assets of the certificates whose NIB
        # matches (found first, through their trigram index on PostGIS) by id, so that with both indexed PostgreSQL
        # reads only the matching rows. Beyond NIB_IDS matching certificates, a subquery instead of the list.
        like = "%" + connections[queryset.db].ops.prep_for_like_query(value) + "%"
        # the SQL is the module constant above; the text is a parameter
        prefilter = RawSQL(f"{SEARCH_TEXT} LIKE upper(%s) ESCAPE '\\'", [like], output_field=BooleanField())  # noqa: S611
        by_nib = Certificate.objects.filter(nib__icontains=value).order_by().values_list("asset_id", flat=True)
        nib_ids = list(by_nib[: NIB_IDS + 1])
        return queryset.filter((Q(prefilter) & own) | Q(id__in=by_nib if len(nib_ids) > NIB_IDS else nib_ids))

    def filter_jenis_hak(self, queryset: QuerySet[LandAsset], name: str, value: str) -> QuerySet[LandAsset]:
        if not value:
            return queryset
        return queryset.filter(Exists(Certificate.objects.filter(asset=OuterRef("id"), jenis_hak=value)))
