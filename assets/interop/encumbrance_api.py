"""REST API of the encumbrances (/api/v1/cases/, /api/v1/utilisations/): dispute and occupation cases and
pemanfaatan agreements as GeoJSON features (geometry: the disputed or used part, null when none was drawn).

Read-only, like the register's API: writes stay on the pages. Partners' NIK (a person's number) is not published.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
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


class CaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Dispute and occupation cases; ``open=1`` (or 0), ``kind``, ``asset`` (an asset id) filter them."""

    serializer_class = CaseSerializer
    pagination_class = _Pagination

    def get_queryset(self) -> QuerySet[DisputeCase]:
        qs = selectors.cases().prefetch_related("events").order_by("id")
        params = self.request.query_params
        state = _choice(params, "open", ["0", "1"])
        if state is not None:
            qs = qs.filter(closed_on__isnull=state == "1")
        kind = _choice(params, "kind", list(CaseKind.values))
        if kind:
            qs = qs.filter(kind=kind)
        asset = params.get("asset")
        if asset:
            if not asset.isdigit():
                raise ValidationError({"asset": f"{asset!r} is not an asset id."})
            qs = qs.filter(assets=int(asset))
        return qs


class UtilisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Pemanfaatan agreements with their payment schedules; ``status``, ``asset`` (an asset id) filter them."""

    serializer_class = UtilisationSerializer
    pagination_class = _Pagination

    def get_queryset(self) -> QuerySet[Utilisation]:
        qs = Utilisation.objects.prefetch_related("payments").order_by("id")
        params = self.request.query_params
        status = _choice(params, "status", list(UtilisationStatus.values))
        if status:
            qs = qs.filter(status=status)
        asset = params.get("asset")
        if asset:
            if not asset.isdigit():
                raise ValidationError({"asset": f"{asset!r} is not an asset id."})
            qs = qs.filter(asset_id=int(asset))
        return qs
