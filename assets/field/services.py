"""Every write of the field room: campaigns and their assignment, packages, results and photos from the phone, and
the office's review of the results into the register (through assets.register.services, never around it)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from assets.evidence import services as evidence
from assets.evidence.models import DocumentType
from assets.field import access, assigning
from assets.field.models import (
    Assignment,
    AssignmentMove,
    Campaign,
    Condition,
    FieldResult,
    Found,
    Occupation,
    Package,
    ResultPhoto,
    Review,
    Team,
)
from assets.register import geo, kib, selectors
from assets.register import services as register
from assets.register.models import AdministrativeArea, Agency, LandAsset, User

PACKAGE_VALID = dt.timedelta(days=3)  # a package taken on Monday still syncs on Wednesday evening
COORD_DIGITS = 6  # about 0.1 m at the equator: the package's parcels
BOUNDARY_DIGITS = 5  # about 1 m: the kelurahan boundaries drawn around them
KIB_FIELDS = (
    "kode_barang", "nomor_register", "nama_barang", "alamat", "agency_name", "tahun_perolehan", "luas_kib_m2",
    "penggunaan", "kelurahan", "kecamatan", "status_sertifikat",
)  # fmt: skip


# --- campaigns -------------------------------------------------------------------------------------------------


def campaign_parcels(*, agency: Agency | None, kecamatan: AdministrativeArea | None, area: GEOSGeometry | None):
    """The live parcels in a campaign's scope (every criterion given must hold)."""
    qs = selectors.live_parcels()
    if agency is not None:
        qs = qs.filter(agency=agency)
    if kecamatan is not None:
        qs = qs.filter(kecamatan=kecamatan)
    if area is not None:
        qs = selectors.intersecting(qs, area)
    return qs


@transaction.atomic
def campaign_create(
    *,
    user: User | None,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    teams: list[tuple[str, list[User]]],
    agency: Agency | None = None,
    kecamatan: AdministrativeArea | None = None,
    area: GEOSGeometry | None = None,
) -> Campaign:
    """Open a campaign, make its teams (the first member named leads the team) and give each parcel in scope to one
    team (by area, balanced by count)."""
    if user is not None and not access.can_manage_campaign_for(user, agency):
        raise PermissionDenied(_("An asset officer opens campaigns only over the assets of their own agency."))
    if not name.strip():
        raise ValidationError({"name": _("Give the campaign a name.")})
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The campaign ends before it starts.")})
    if not teams:
        raise ValidationError({"teams": _("A campaign needs at least one team.")})
    if area is not None:
        try:
            area = geo.normalize_parcel_geometry(area)
        except geo.GeometryError as exc:
            raise ValidationError({"area": _("The drawn area: %(problem)s") % {"problem": exc}}) from None
    campaign = Campaign.objects.create(
        name=name.strip(), starts_on=starts_on, ends_on=ends_on, agency=agency, kecamatan=kecamatan, area=area,
        created_by=user,
    )  # fmt: skip
    made = []
    for team_name, members in teams:
        team = Team.objects.create(
            campaign=campaign, name=team_name.strip() or _("Team %(n)s") % {"n": len(made) + 1},
            leader=members[0] if members else None,
        )  # fmt: skip
        team.members.set(members)
        made.append(team)
    assign(campaign, made)
    return campaign


def assign(campaign: Campaign, teams: list[Team]) -> list[Assignment]:
    """Give every parcel in the campaign's scope to one of ``teams``."""
    parcels = list(
        campaign_parcels(agency=campaign.agency, kecamatan=campaign.kecamatan, area=campaign.area)
        .order_by("pk")
        .values_list("pk", "geom")
    )
    centroids = [(g.centroid.x, g.centroid.y) for _pk, g in parcels]
    rows = []
    for team, indexes in zip(teams, assigning.split(centroids, len(teams)), strict=True):
        rows += [
            Assignment(campaign=campaign, team=team, asset_id=parcels[i][0], order=n) for n, i in enumerate(indexes)
        ]
    return Assignment.objects.bulk_create(rows, batch_size=1000)


def campaign_close(*, user: User, campaign: Campaign) -> Campaign:
    if not access.can_manage_campaign(user, campaign):
        raise PermissionDenied(_("You may not close this campaign."))
    campaign.status = Campaign.Status.CLOSED
    campaign.save(update_fields=["status"])
    return campaign


# --- the package ---------------------------------------------------------------------------------------------------


def _round(coords: Any, digits: int) -> Any:
    if isinstance(coords, (int, float)):
        return round(coords, digits)
    return [_round(c, digits) for c in coords]


def _geojson(geom: GEOSGeometry, digits: int) -> dict[str, Any]:
    data = json.loads(geom.geojson)
    data["coordinates"] = _round(data["coordinates"], digits)
    return data


def _kib_values(asset: LandAsset) -> list[tuple[str, Any]]:
    """(KIB A label, value) of the package's columns, labels from assets.register.kib."""
    columns = {c.name: c for c in kib.COLUMNS}
    values = []
    for name in KIB_FIELDS:
        value: Any = asset
        for part in columns[name].path.split("__"):
            value = getattr(value, part, None) if value is not None else None
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        values.append((columns[name].label, "" if value is None else str(value)))
    return values


@transaction.atomic
def package_build(*, user: User, team: Team) -> tuple[Package, bytes]:
    """The team's parcels (id, version, KIB A fields, geometry) and the kelurahan boundaries around them, as JSON,
    bound to ``user`` and valid for PACKAGE_VALID."""
    if not access.can_work_in_team(user, team):
        raise PermissionDenied(_("You are not a member of this team, or its campaign is closed."))
    assignments = (
        Assignment.objects.filter(team=team)
        .select_related("asset__agency", "asset__kelurahan", "asset__kecamatan")
        .defer("asset__geom", "asset__kelurahan__geom", "asset__kecamatan__geom")  # not the areas' boundaries
        .annotate(geojson=AsGeoJSON("asset__geom", precision=COORD_DIGITS))  # rounded by the database
        .order_by("order", "pk")
    )
    parcels, kelurahan_ids = [], set()
    for a in assignments:
        asset = a.asset
        kelurahan_ids.add(asset.kelurahan_id)
        parcels.append({
            "type": "Feature",
            "id": asset.pk,
            "geometry": json.loads(a.geojson) if a.geojson else None,
            "properties": {
                "assignment": a.pk, "version": asset.version, "label": f"{asset.kode_barang} / {asset.nomor_register}",
                "name": asset.nama_barang, "kib": _kib_values(asset),
            },
        })  # fmt: skip
    boundaries = [
        {"type": "Feature", "geometry": _geojson(area.geom, BOUNDARY_DIGITS), "properties": {"name": area.name}}
        for area in AdministrativeArea.objects.filter(pk__in=[k for k in kelurahan_ids if k])
    ]
    package = Package.objects.create(
        team=team, user=user, expires_at=timezone.now() + PACKAGE_VALID, parcels=len(parcels)
    )
    body = {
        "package": str(package.key),
        "campaign": {"id": team.campaign_id, "name": team.campaign.name},
        "team": {"id": team.pk, "name": team.name},
        "user": user.get_username(),
        "issued_at": package.issued_at.isoformat(),
        "expires_at": package.expires_at.isoformat(),
        "parcels": {"type": "FeatureCollection", "features": parcels},
        "kelurahan": {"type": "FeatureCollection", "features": boundaries},
    }
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    package.size_bytes = len(data)
    package.save(update_fields=["size_bytes"])
    return package, data


def package_check(*, user: User, key: str) -> Package:
    """The user's own package, still valid; PermissionDenied names why not."""
    try:
        package = Package.objects.select_related("team__campaign").get(key=uuid.UUID(str(key)))
    except (ValueError, Package.DoesNotExist):
        raise PermissionDenied(_("Unknown package: download your package again.")) from None
    if package.user_id != user.pk:
        raise PermissionDenied(_("This package was downloaded by another user."))
    if package.expires_at <= timezone.now():
        raise PermissionDenied(_("Your package expired: download it again (your recorded results stay on the phone)."))
    if not access.can_work_in_team(user, package.team):
        raise PermissionDenied(_("You are no longer in this team, or its campaign is closed."))
    return package


# --- results from the field ----------------------------------------------------------------------------------------


@dataclass
class Submitted:
    result: FieldResult
    created: bool


def _choice(data: dict[str, Any], key: str, choices: type, *, required: bool = False) -> str:
    value = str(data.get(key) or "")
    if not value and not required:
        return ""
    if value not in choices.values:
        raise ValidationError({key: _("“%(value)s” is not one of: %(choices)s.") % {
            "value": value, "choices": ", ".join(choices.values)}})  # fmt: skip
    return value


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationError({key: _("Not a number: “%(value)s”.") % {"value": value}}) from None


def _assignment_of_package(package: Package, pk: Any) -> Assignment:
    """The parcel ``pk`` if it is the package's team's, or was when the package was taken (moved since: the phone
    recorded it on the package it had)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise ValidationError({"assignment": _("This parcel is not one of your team's.")}) from None
    assignment = Assignment.objects.filter(pk=pk).select_related("asset", "team").first()
    if assignment is not None and (
        assignment.team_id == package.team_id
        or AssignmentMove.objects.filter(
            assignment=assignment, from_team=package.team, moved_at__gt=package.issued_at
        ).exists()
    ):
        return assignment
    raise ValidationError({"assignment": _("This parcel is not one of your team's.")})


@transaction.atomic
def result_submit(*, user: User, package: Package, data: dict[str, Any]) -> Submitted:
    """Keep one result sent by the phone. The same ``client_id`` sent again returns the first row (written once)."""
    try:
        client_id = uuid.UUID(str(data.get("client_id")))
    except ValueError:
        raise ValidationError({"client_id": _("Each result needs the UUID the phone gave it.")}) from None
    existing = FieldResult.objects.filter(client_id=client_id).first()
    if existing is not None:
        if existing.submitted_by_id != user.pk:
            raise PermissionDenied(_("This result was sent by another user."))
        return Submitted(existing, created=False)
    assignment = _assignment_of_package(package, data.get("assignment"))
    boundary = None
    if data.get("boundary"):
        try:
            boundary = geo.normalize_parcel_geometry(json.dumps(data["boundary"]), srid=4326)
        except (geo.GeometryError, TypeError, ValueError) as exc:
            raise ValidationError({"boundary": _("The corrected boundary: %(problem)s") % {"problem": exc}}) from None
    lon, lat = _number(data, "lon"), _number(data, "lat")
    if (lon is None) != (lat is None) or (lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90)):  # type: ignore[operator]
        raise ValidationError({"position": _("The position needs a longitude and a latitude in degrees.")})
    try:
        base_version = int(data.get("base_version"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError({"base_version": _("The asset version of the package is missing.")}) from None
    recorded = parse_datetime(str(data.get("recorded_at") or "")) if data.get("recorded_at") else None
    result = FieldResult(
        client_id=client_id, assignment=assignment, package=package, submitted_by=user, recorded_at=recorded,
        found=_choice(data, "found", Found, required=True), condition=_choice(data, "condition", Condition),
        use=str(data.get("use") or "")[:200], occupation=_choice(data, "occupation", Occupation),
        patok=data.get("patok") if isinstance(data.get("patok"), bool) else None, notes=str(data.get("notes") or ""),
        lon=lon, lat=lat, accuracy_m=_number(data, "accuracy"), boundary=boundary, base_version=base_version,
    )  # fmt: skip
    try:
        with transaction.atomic():
            result.save()
    except IntegrityError:  # the same UUID arrived twice at once: the other request wrote it
        return Submitted(FieldResult.objects.get(client_id=client_id), created=False)
    return Submitted(result, created=True)


@transaction.atomic
def photo_add(*, user: User, result: FieldResult, client_id: str, name: str, data: bytes) -> tuple[ResultPhoto, bool]:
    """One photo of a result, kept as an evidence document through the evidence room's checks (EXIF GPS read);
    the same ``client_id`` again keeps the first."""
    if result.submitted_by_id != user.pk and not access.is_member(user, result.assignment.team):
        raise PermissionDenied(_("This result is not one of your team's."))
    try:
        key = uuid.UUID(str(client_id))
    except ValueError:
        raise ValidationError({"client_id": _("Each photo needs the UUID the phone gave it.")}) from None
    existing = ResultPhoto.objects.filter(client_id=key).first()
    if existing is not None:
        return existing, False
    document = evidence.document_add(
        asset=result.assignment.asset, user=user, name=name, data=data,
        fields=evidence.DocumentFields(
            doc_type=DocumentType.FOTO_LAPANGAN, note=_("Inventory %(campaign)s") % {
                "campaign": result.assignment.campaign.name},
            date=(result.recorded_at or timezone.now()).date(),
        ),
    )  # fmt: skip
    return ResultPhoto.objects.create(client_id=key, result=result, document=document), True


# --- the team: its members edit its results, its leader moves parcels ----------------------------------------------

EDITABLE = ("found", "condition", "use", "occupation", "patok", "notes")


@transaction.atomic
def result_edit(*, user: User, result: FieldResult, data: dict[str, Any], expected_edits: int) -> FieldResult:
    """A member of the result's team corrects what was recorded (EDITABLE fields), while the campaign is open and
    the result waits for review. ``expected_edits`` is the edit count the form showed: another member's edit made
    meanwhile refuses this one (nothing is overwritten silently). The history keeps every earlier state."""
    result = FieldResult.objects.select_for_update().select_related("assignment__team__campaign").get(pk=result.pk)
    if not access.can_work_in_team(user, result.assignment.team):
        raise PermissionDenied(_("Only the members of the result's team edit it, while the campaign is open."))
    if result.review != Review.PENDING:
        raise ValidationError(_("This result was already reviewed: it is no longer edited."))
    if result.edits != expected_edits:
        raise ValidationError(
            _("Another member edited this result meanwhile (by %(user)s): reload it and edit again.")
            % {"user": result.edited_by.get_username() if result.edited_by else "?"}
        )
    result.found = _choice(data, "found", Found, required=True)
    result.condition = _choice(data, "condition", Condition)
    result.occupation = _choice(data, "occupation", Occupation)
    result.use = str(data.get("use") or "").strip()[:200]
    result.patok = data.get("patok") if isinstance(data.get("patok"), bool) else None
    result.notes = str(data.get("notes") or "")
    result.edits += 1
    result.edited_by = user
    result._history_user = user  # type: ignore[attr-defined]
    result.save()
    return result


@transaction.atomic
def assignments_move(*, user: User, from_team: Team, assignments: list[int], to_team: Team) -> int:
    """Move parcels of ``from_team`` to ``to_team`` (same campaign, open): each move is kept (AssignmentMove), the
    parcels go to the end of the other team's walking order, their results follow them."""
    if not access.can_move_parcels(user, from_team):
        raise PermissionDenied(_("Only the team's leader, or who manages the campaign, moves its parcels."))
    if to_team.campaign_id != from_team.campaign_id or to_team.pk == from_team.pk:
        raise ValidationError({"to_team": _("Choose another team of the same campaign.")})
    rows = list(Assignment.objects.select_for_update().filter(team=from_team, pk__in=assignments).order_by("order"))
    if not rows or len(rows) != len(set(assignments)):
        raise ValidationError({"assignments": _("Choose parcels of this team.")})
    last = Assignment.objects.filter(team=to_team).order_by("-order").values_list("order", flat=True).first()
    start = 0 if last is None else last + 1
    for n, row in enumerate(rows):
        row.team, row.order = to_team, start + n
    Assignment.objects.bulk_update(rows, ["team", "order"])
    AssignmentMove.objects.bulk_create(
        AssignmentMove(assignment=row, from_team=from_team, to_team=to_team, moved_by=user) for row in rows
    )
    return len(rows)


# --- review --------------------------------------------------------------------------------------------------------


def results_for(campaign: Campaign) -> QuerySet[FieldResult]:
    return (
        FieldResult.objects.filter(assignment__campaign=campaign)
        .select_related("assignment__asset", "assignment__team", "submitted_by")
        .prefetch_related("photos__document")
        .order_by("assignment__team__name", "assignment__order", "-received_at")
    )


def is_conflict(result: FieldResult) -> bool:
    """The asset changed in the register after the team's package was taken."""
    return result.assignment.asset.version != result.base_version


def _reviewed(result: FieldResult, user: User, review: str, note: str) -> FieldResult:
    result.review, result.reviewed_by, result.reviewed_at = review, user, timezone.now()
    result.review_note = note.strip()
    result.save(update_fields=["review", "reviewed_by", "reviewed_at", "review_note"])
    return result


@transaction.atomic
def review_accept(
    *,
    user: User,
    result: FieldResult,
    geometry: bool,
    use: bool,
    note: str = "",
    overlap_reason: str | None = None,
    compared_version: int | None = None,
) -> FieldResult:
    """Write the result's corrections into the register: through register.services.asset_update, with the package's
    version as the expected one (a change made meanwhile in the office refuses: ValidationError ``stale_version``)
    and a history row naming the campaign.

    ``compared_version``: after a conflict, the register's version the reviewer compared the result with, side by
    side; the correction then goes over that version (and is refused again if the asset changed once more)."""
    if result.review != Review.PENDING:
        raise ValidationError(_("This result was already reviewed."))
    asset = result.assignment.asset
    data: dict[str, Any] = {}
    if use and result.use.strip():
        data["penggunaan"] = result.use.strip()
    kwargs: dict[str, Any] = {}
    if geometry and result.boundary is not None:
        kwargs["geom"] = result.boundary
    if data or kwargs:
        reason = _("Inventory %(campaign)s: field result of %(team)s") % {
            "campaign": result.assignment.campaign.name, "team": result.assignment.team.name}  # fmt: skip
        asset._change_reason = reason[:100]  # the history row's reason (100 characters)
        expected = result.base_version if compared_version is None else compared_version
        register.asset_update(
            asset=asset, user=user, data=data, expected_version=expected, overlap_reason=overlap_reason, **kwargs
        )
    return _reviewed(result, user, Review.ACCEPTED if (data or kwargs) else Review.NOTED, note)


@transaction.atomic
def review_follow_up(*, user: User, result: FieldResult, note: str) -> FieldResult:
    """Mark a parcel not found (or partly) for follow-up; the register is left as it is."""
    if result.review != Review.PENDING:
        raise ValidationError(_("This result was already reviewed."))
    return _reviewed(result, user, Review.FOLLOW_UP, note)


@transaction.atomic
def review_note(*, user: User, result: FieldResult, note: str) -> FieldResult:
    """Take note of a result without changing the register."""
    if result.review != Review.PENDING:
        raise ValidationError(_("This result was already reviewed."))
    return _reviewed(result, user, Review.NOTED, note)
