"""Reads of the field room: campaigns a user manages, teams a user works in, progress per team, the map."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from assets.field.models import Assignment, Campaign, FieldResult, Found, Team
from assets.register import permissions
from assets.register.models import User


def campaigns_for(user: User) -> QuerySet[Campaign]:
    qs = Campaign.objects.select_related("agency", "kecamatan")
    if permissions.can_edit_all(user):
        return qs
    return qs.filter(agency_id=user.agency_id) if user.agency_id else qs.none()


def my_teams(user: User) -> QuerySet[Team]:
    """The teams ``user`` works in, in open campaigns."""
    return (
        Team.objects.filter(members=user, campaign__status=Campaign.Status.OPEN)
        .select_related("campaign")
        .annotate(parcels=Count("assignments", distinct=True))
        .order_by("-campaign__starts_on", "name")
    )


def progress(campaign: Campaign) -> list[dict[str, Any]]:
    """Per team: parcels, parcels with a result, and results by what was found."""
    rows = []
    for team in campaign.teams.annotate(parcels=Count("assignments", distinct=True)).prefetch_related("members"):
        counts = FieldResult.objects.filter(assignment__team=team).aggregate(
            visited=Count("assignment", distinct=True),
            n_found=Count("pk", filter=Q(found=Found.FOUND)),
            n_partly=Count("pk", filter=Q(found=Found.PARTLY)),
            n_not_found=Count("pk", filter=Q(found=Found.NOT_FOUND)),
        )
        rows.append({"team": team, "parcels": team.parcels, **counts})
    return rows


def map_geojson(campaign: Campaign) -> str:
    """The campaign's parcels as GeoJSON, each with its team and its latest result (``none`` when not visited)."""
    latest: dict[int, str] = {}
    for assignment_id, found in (
        FieldResult.objects.filter(assignment__campaign=campaign).order_by("received_at").values_list(
            "assignment_id", "found")
    ):  # fmt: skip
        latest[assignment_id] = found
    features = []
    for a in Assignment.objects.filter(campaign=campaign).select_related("asset", "team"):
        if a.asset.geom is None:
            continue
        features.append({
            "type": "Feature", "geometry": json.loads(a.asset.geom.geojson),
            "properties": {"team": a.team.name, "result": latest.get(a.pk, "none"),
                           "label": f"{a.asset.kode_barang} / {a.asset.nomor_register} {a.asset.nama_barang}"},
        })  # fmt: skip
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))


def last_inventoried(as_of: dt.date | None = None) -> dict[int, dt.date]:
    """Per asset, the day its latest field result was received (up to ``as_of``): the audit's finding of assets not
    inventoried within five years reads it."""
    qs = FieldResult.objects.all()
    if as_of is not None:
        qs = qs.filter(received_at__date__lte=as_of)
    rows = qs.values("assignment__asset_id").annotate(last=Max("received_at"))
    return {row["assignment__asset_id"]: timezone.localdate(row["last"]) for row in rows}


def team_parcels(team: Team) -> list[dict[str, Any]]:
    """The team's parcels in walking order, each with its results (latest first)."""
    results: dict[int, list[FieldResult]] = {}
    for result in (
        FieldResult.objects.filter(assignment__team=team).select_related("submitted_by", "edited_by")
        .order_by("-received_at", "-pk")
    ):  # fmt: skip
        results.setdefault(result.assignment_id, []).append(result)
    return [
        {"assignment": a, "asset": a.asset, "results": results.get(a.pk, [])}
        for a in team.assignments.select_related("asset").order_by("order", "pk")
    ]
