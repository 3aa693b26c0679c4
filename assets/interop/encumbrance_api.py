"""REST API of the encumbrances (/api/v1/cases/, /api/v1/utilisations/): dispute and occupation cases and
pemanfaatan agreements as GeoJSON features (geometry: the disputed or used part, null when none was drawn).

Read-only, like the register's API: writes stay on the pages. Partners' NIK (a person's number) is not published.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework_gis.pagination import GeoJsonPagination
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from assets.encumbrance import selectors
from assets.encumbrance.models import (
    CaseKind,
    CaseStageEvent,
    DisputeCase,
    Payment,
    Utilisation,
    UtilisationStatus,
)
from assets.register.history import end_of_day
from assets.register.reads import SelectionError, parse_as_of


class _Pagination(GeoJsonPagination):
    page_size = 100
    max_page_size = 5_000


class CaseStageEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseStageEvent
        fields = ["from_stage", "to_stage", "date", "court_case_number", "note"]
        read_only_fields = fields


class CaseSerializer(GeoFeatureModelSerializer):
    assets = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)
    officer = serializers.CharField(source="officer.username", read_only=True, allow_null=True, default=None)
    area_m2 = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)
    events = CaseStageEventSerializer(many=True, read_only=True)

    class Meta:
        model = DisputeCase
        geo_field = "geom"
        fields = [
            "id", "geom", "assets", "kind", "kind_label", "title", "parties", "description", "area_m2", "stage",
            "stage_label", "stage_since", "opened_on", "court_case_numbers", "next_hearing", "officer", "outcome",
            "is_open", "closed_on", "close_reason", "events",
        ]  # fmt: skip
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    amount_due = serializers.DecimalField(max_digits=18, decimal_places=0, coerce_to_string=False)
    paid_amount = serializers.DecimalField(max_digits=18, decimal_places=0, coerce_to_string=False)

    class Meta:
        model = Payment
        fields = ["due_date", "amount_due", "paid_amount", "paid_date", "receipt_number"]
        read_only_fields = fields


class UtilisationSerializer(GeoFeatureModelSerializer):
    form_label = serializers.CharField(source="get_form_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    area_m2 = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False, allow_null=True)
    tariff = serializers.DecimalField(max_digits=18, decimal_places=0, coerce_to_string=False)
    payments = PaymentSerializer(many=True, read_only=True)

    class Meta:
        model = Utilisation
        geo_field = "geom"
        fields = [
            "id", "geom", "asset", "form", "form_label", "partner_name", "partner_npwp", "agreement_number",
            "agreement_date", "start_date", "end_date", "area_m2", "purpose", "tariff", "tariff_basis", "status",
            "status_label", "status_reason", "payments",
        ]  # fmt: skip
        read_only_fields = fields


def _choice(params: Any, name: str, allowed: list[str]) -> str | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if value not in allowed:
        raise ValidationError({name: f"{value!r} is not one of {', '.join(allowed)}."})
    return value


AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    description=(
        "YYYY-MM-DD: as recorded by the end of that day (Asia/Makassar), from the change history: the cases opened "
        "by then (open meaning open then) with their stage events by then, or the agreements with their payment "
        "rows as they stood then (docs/encumbrance.md, as of a date)."
    ),
)
_AS_OF_SCHEMA = extend_schema_view(
    list=extend_schema(parameters=[AS_OF_PARAMETER]), retrieve=extend_schema(parameters=[AS_OF_PARAMETER])
)


def _as_of(params: Any) -> dt.date | None:
    """``as_of=YYYY-MM-DD`` (register.reads.parse_as_of, as the register's API reads it)."""
    try:
        return parse_as_of(params["as_of"] or "?") if "as_of" in params else None
    except SelectionError as exc:
        raise ValidationError({"as_of": str(exc)}) from None


def _asset_id(params: Any) -> int | None:
    asset = params.get("asset")
    if not asset:
        return None
    if not asset.isdigit():
        raise ValidationError({"asset": f"{asset!r} is not an asset id."})
    return int(asset)


@_AS_OF_SCHEMA
class CaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Dispute and occupation cases; ``open=1`` (or 0), ``kind``, ``asset`` (an asset id) filter them. ``as_of``: the
    cases opened and recorded by the end of that day, each as recorded then (its history), open or closed then, with
    the stage events dated and recorded by then."""

    serializer_class = CaseSerializer
    pagination_class = _Pagination

    def get_queryset(self) -> QuerySet[DisputeCase]:
        params = self.request.query_params
        as_of = _as_of(params)
        if as_of is None:
            qs = selectors.cases().prefetch_related("events")
        else:  # instances of the cases as recorded then; their relations are fetched per page (paginate_queryset)
            qs = DisputeCase.history.as_of(end_of_day(as_of)).filter(
                opened_on__lte=as_of, created_at__lt=end_of_day(as_of)
            )
        qs = qs.order_by("id")
        state = _choice(params, "open", ["0", "1"])
        if state is not None:
            if as_of is None:
                qs = qs.filter(closed_on__isnull=state == "1")
            else:
                ids = selectors.open_case_ids(as_of)
                qs = qs.filter(id__in=ids) if state == "1" else qs.exclude(id__in=ids)
        kind = _choice(params, "kind", list(CaseKind.values))
        if kind:
            qs = qs.filter(kind=kind)
        asset = _asset_id(params)
        if asset is not None:
            links = DisputeCase.assets.through.objects.filter(landasset_id=asset).values("disputecase_id")
            qs = qs.filter(id__in=links)
        return qs

    def _with_relations(self, cases: list[DisputeCase]) -> list[DisputeCase]:
        as_of = _as_of(self.request.query_params)
        if as_of is not None and cases:
            recorded = end_of_day(as_of)
            events = CaseStageEvent.objects.filter(date__lte=as_of, created_at__lt=recorded).order_by("date", "id")
            prefetch_related_objects(cases, "assets", "officer", Prefetch("events", queryset=events))
        return cases

    def paginate_queryset(self, queryset: QuerySet) -> list[Any] | None:
        page = super().paginate_queryset(queryset)
        return self._with_relations(page) if page is not None else None

    def get_object(self) -> DisputeCase:
        return self._with_relations([super().get_object()])[0]


@_AS_OF_SCHEMA
class UtilisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Pemanfaatan agreements with their payment schedules; ``status``, ``asset`` (an asset id) filter them.
    ``as_of``: each agreement as recorded by the end of that day (its history), with its payment rows as recorded
    then."""

    serializer_class = UtilisationSerializer
    pagination_class = _Pagination

    def get_queryset(self) -> QuerySet[Utilisation]:
        params = self.request.query_params
        as_of = _as_of(params)
        if as_of is None:
            qs = Utilisation.objects.prefetch_related("payments")
        else:  # instances as recorded then; their payments are fetched per page (paginate_queryset)
            qs = Utilisation.history.as_of(end_of_day(as_of))
        qs = qs.order_by("id")
        status = _choice(params, "status", list(UtilisationStatus.values))
        if status:
            qs = qs.filter(status=status)
        asset = _asset_id(params)
        if asset is not None:
            qs = qs.filter(asset_id=asset)
        return qs

    def _with_payments(self, agreements: list[Utilisation]) -> list[Utilisation]:
        as_of = _as_of(self.request.query_params)
        if as_of is not None and agreements:
            rows: dict[int, list[Payment]] = {u.pk: [] for u in agreements}
            payments = selectors.payments_at(as_of).filter(utilisation_id__in=rows).order_by("due_date", "id")
            for payment in payments:
                rows[payment.utilisation_id].append(payment)
            for u in agreements:  # read by the serializer as u.payments.all(), like a prefetch
                cached = Payment.objects.none()
                cached._result_cache, cached._prefetch_done = rows[u.pk], True
                u._prefetched_objects_cache = {"payments": cached}
        return agreements

    def paginate_queryset(self, queryset: QuerySet) -> list[Any] | None:
        page = super().paginate_queryset(queryset)
        return self._with_payments(page) if page is not None else None

    def get_object(self) -> Utilisation:
        return self._with_payments([super().get_object()])[0]
