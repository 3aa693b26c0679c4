"""REST API /api/v1/: the register as GeoJSON, with the register filters plus spatial ones, and totals.

Read-only: writes stay on the pages (assets.services behind the role checks there).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework_gis.pagination import GeoJsonPagination
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from assets.evidence import selectors as evidence
from assets.evidence.models import Document
from assets.lib import geojson_out
from assets.query.params import SpatialAssetFilter
from assets.register import kib, permissions
from assets.register.models import LandAsset
from assets.register.reads import RegisterSelection, SelectionError, parse_as_of

GEOJSON_PRECISION = 7  # ~1 cm at the equator; parcels are surveyed to centimetres at best


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "description": "GeoJSON MultiPolygon in CRS84 (null for an asset whose location is unknown)",
        "properties": {"type": {"type": "string", "enum": ["MultiPolygon"]}, "coordinates": {"type": "array"}},
    }
)
class PrecomputedGeoJSONField(serializers.Field):
    """The geometry as the database wrote it (ST_AsGeoJSON / AsGeoJSON): no GEOS object per row."""

    def __init__(self, **kwargs: Any):
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance: LandAsset) -> str | None:
        return getattr(instance, "geom_json", None)

    def to_representation(self, value: str | None) -> dict[str, Any] | None:
        return json.loads(value) if value else None


class AssetFeatureSerializer(GeoFeatureModelSerializer):
    geom = PrecomputedGeoJSONField()
    agency_code = serializers.CharField(source="agency.code", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    kelurahan_code = serializers.CharField(source="kelurahan.code", read_only=True, allow_null=True, default=None)
    kecamatan_code = serializers.CharField(source="kecamatan.code", read_only=True, allow_null=True, default=None)
    nilai_perolehan = serializers.DecimalField(max_digits=18, decimal_places=0, coerce_to_string=False)
    luas_kib_m2 = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    luas_gis_m2 = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False, allow_null=True)

    class Meta:
        model = LandAsset
        geo_field = "geom"
        fields = ["id", "geom", *(name for name, _path in kib.properties("api"))]  # the KIB A table's API columns
        read_only_fields = fields


# The features' properties as (name, queryset path), for geojson_out: the same as the serializer's fields.
API_PROPERTIES: tuple[tuple[str, str], ...] = kib.properties("api")


class DocumentSerializer(serializers.ModelSerializer):
    """A document's metadata and the link its file is downloaded from (which checks the same permission)."""

    doc_type_label = serializers.CharField(source="get_doc_type_display", read_only=True)
    certificate = serializers.PrimaryKeyRelatedField(read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True, allow_null=True, default=None)
    withdrawn_by = serializers.CharField(source="withdrawn_by.username", read_only=True, allow_null=True, default=None)
    download = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id", "doc_type", "doc_type_label", "number", "date", "issuer", "note", "certificate", "stage_event",
            "original_name", "content_type", "size", "sha256", "photo_lon", "photo_lat", "photo_direction",
            "photo_distance_m", "uploaded_by", "uploaded_at", "withdrawn_at", "withdrawn_by", "withdrawal_reason",
            "download",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download(self, document: Document) -> str:
        return self.context["request"].build_absolute_uri(reverse("document-file", args=[document.pk]))


class AssetPagination(GeoJsonPagination):
    page_size = 100
    max_page_size = 10_000


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, plus a 400 for parameters nobody declared (a typo must not silently widen a query)."""

    NON_FILTER_PARAMS = frozenset({"page", "page_size", "format"})

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        allowed = set(filterset_class.base_filters) | self.NON_FILTER_PARAMS
        unknown = sorted(k for k in request.query_params if k not in allowed)
        if unknown:
            raise ValidationError(
                {
                    name: [f"Unknown parameter {name!r}; known parameters: {', '.join(sorted(allowed))}."]
                    for name in unknown
                }
            )
        return super().filter_queryset(request, queryset, view)


def _decimal(value: Decimal) -> float:
    return float(value)


AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    description=(
        "YYYY-MM-DD: the register as it stood at the end of that day (Asia/Makassar), rebuilt from the change "
        "history, with the certificate status as of that date (docs/register.md, the as-of rule). Removed assets "
        "leave it once their removal was recorded."
    ),
)


def _selection(request: Request, view: Any) -> RegisterSelection:
    """The request's selection of the register, after the checks of the REST API: unknown parameters, a bad
    ``as_of`` (given, it must be a date) and invalid filters are a 400 naming them."""
    allowed = set(view.filterset_class.base_filters) | StrictFilterBackend.NON_FILTER_PARAMS | {"as_of"}
    unknown = sorted(k for k in request.query_params if k not in allowed)
    if unknown:
        raise ValidationError(
            {k: [f"Unknown parameter {k!r}; known parameters: {', '.join(sorted(allowed))}."] for k in unknown}
        )
    try:
        as_of = parse_as_of(request.query_params["as_of"] or "?") if "as_of" in request.query_params else None
    except SelectionError as exc:
        raise ValidationError({"as_of": [str(exc)]}) from None
    filterset = view.filterset_class(request.query_params, queryset=LandAsset.objects.none(), request=request)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return RegisterSelection.from_params(request.query_params, filterset_class=view.filterset_class, as_of=as_of)


class AssetViewSet(viewsets.ReadOnlyModelViewSet):
    """Land assets (KIB A) as GeoJSON features, filtered like the register pages."""

    serializer_class = AssetFeatureSerializer
    pagination_class = AssetPagination
    filter_backends = [StrictFilterBackend]
    filterset_class = SpatialAssetFilter

    @extend_schema(parameters=[AS_OF_PARAMETER])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """GeoJSON FeatureCollection with count/next/previous (GeoJsonPagination's shape).

        The features are written by geojson_out (the database on PostGIS) rather than by the
        serializer: the serializer stays the definition (schema, single asset) and a test checks
        that both write the same feature.
        """
        selection = _selection(request, self)
        paginator = self.paginator
        size = paginator.get_page_size(request)
        raw_number = request.query_params.get(paginator.page_query_param, "1")
        try:
            number = int(raw_number)
            if number < 1:
                raise ValueError
        except ValueError:
            raise NotFound(f"Invalid page {raw_number!r}: pages are numbered from 1.") from None
        features, count = selection.features(API_PROPERTIES, offset=(number - 1) * size, limit=size)
        if number > 1 and not features:
            raise NotFound(f"Invalid page {number}: there are {count} assets, {size} per page.")
        url = request.build_absolute_uri()
        head = {
            "type": "FeatureCollection",
            "count": count,
            "next": replace_query_param(url, paginator.page_query_param, number + 1) if number * size < count else None,
            "previous": (
                (
                    replace_query_param(url, paginator.page_query_param, number - 1)
                    if number > 2
                    else remove_query_param(url, paginator.page_query_param)
                )
                if number > 1
                else None
            ),
        }
        note = selection.empty_reason()
        if note:  # as of a date before anything was recorded: why the collection is empty
            head["note"] = note
        return HttpResponse(geojson_out.feature_collection_text(head, features), content_type="application/json")

    def get_queryset(self) -> QuerySet[LandAsset]:
        return (
            LandAsset.objects.select_related("agency", "kelurahan", "kecamatan")
            .defer("geom", "kelurahan__geom", "kecamatan__geom")
            .annotate(geom_json=AsGeoJSON("geom", precision=GEOJSON_PRECISION))
            .order_by("id")
        )

    @extend_schema(
        responses=DocumentSerializer(many=True),
        parameters=[OpenApiParameter("page", OpenApiTypes.INT, exclude=True)],
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def documents(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:  # noqa: A002
        """The asset's documents (withdrawn ones too, with their withdrawal), each with its download link; open to
        the asset's agency, BPKAD, auditors and admins (403 for the others)."""
        asset = get_object_or_404(LandAsset.objects.only("id", "agency_id"), pk=pk if str(pk).isdigit() else -1)
        if not permissions.can_view_asset_documents(request.user, asset):
            raise PermissionDenied("The documents of this asset are open to its agency, BPKAD and auditors.")
        docs = evidence.asset_documents(asset)
        return Response(DocumentSerializer(docs, many=True, context={"request": request}).data)

    @extend_schema(
        responses=inline_serializer(
            "AssetTotals",
            {
                "count": serializers.IntegerField(),
                "luas_kib_m2": serializers.FloatField(),
                "luas_gis_m2": serializers.FloatField(),
                "nilai_perolehan": serializers.FloatField(),
                "by_status": serializers.DictField(child=serializers.IntegerField()),
                "by_agency": serializers.ListField(child=serializers.DictField()),
                "query_area_m2": serializers.FloatField(allow_null=True),
                "area_inside_m2": serializers.FloatField(allow_null=True),
            },
        ),
        parameters=[OpenApiParameter("page", OpenApiTypes.INT, exclude=True), AS_OF_PARAMETER],
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def aggregate(self, request: Request, format: str | None = None) -> Response:  # noqa: A002 - DRF's name (aggregate.json)
        """Totals for the same filters: count, areas, value, split by certificate status and agency."""
        selection = _selection(request, self)
        totals = selection.aggregate(shape=selection.query_shape())
        note = selection.empty_reason()
        if note:  # as of a date before anything was recorded: why everything is 0
            totals["note"] = note
        return Response(totals)
