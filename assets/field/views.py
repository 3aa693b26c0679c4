"""The field room's pages: campaigns (office), the field app (PWA, phone) and its JSON API (session auth)."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assets.field import access, reports, selectors, services
from assets.field.forms import CampaignForm, MoveForm, ResultEditForm
from assets.field.models import Campaign, FieldResult, Found, Team
from assets.register import permissions
from assets.register.permissions import AuthenticatedRequest, require, role_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "field"


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{name}: {' '.join(m)}" for name, m in exc.message_dict.items())
    return " ".join(exc.messages)


# --- office pages --------------------------------------------------------------------------------------------------


@role_required(permissions.can_view_register)
@require_http_methods(["GET", "POST"])
def campaigns(request: AuthenticatedRequest) -> HttpResponse:
    manager = access.can_manage_campaigns(request.user)
    form = CampaignForm(request.POST or None, user=request.user) if manager else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Campaign opened: %(n)s parcels assigned.") % {
                "n": campaign.assignments.count()})  # fmt: skip
            return redirect("field-campaign", pk=campaign.pk)
    return render(request, "field/campaigns.html", {
        "form": form, "campaigns": selectors.campaigns_for(request.user) if manager else [],
        "my_teams": selectors.my_teams(request.user),
    })  # fmt: skip


def _managed(request: AuthenticatedRequest, pk: int) -> Campaign:
    campaign = get_object_or_404(Campaign.objects.select_related("agency", "kecamatan"), pk=pk)
    require(access.can_manage_campaign(request.user, campaign), _("You do not manage this campaign."))
    return campaign


@role_required(access.can_manage_campaigns)
@require_GET
def campaign_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    campaign = _managed(request, pk)
    results = list(services.results_for(campaign))
    for result in results:
        result.conflict = services.is_conflict(result)
    return render(request, "field/campaign.html", {
        "campaign": campaign, "progress": selectors.progress(campaign), "results": results,
        "map_config": {"url": reverse("field-campaign-geojson", args=[campaign.pk]), "labels": {
            "none": _("not visited"), **{k: str(v) for k, v in Found.choices}}},
    })  # fmt: skip


@role_required(access.can_manage_campaigns)
@require_GET
def campaign_geojson(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    campaign = _managed(request, pk)
    return HttpResponse(selectors.map_geojson(campaign), content_type="application/geo+json")


@role_required(access.can_manage_campaigns)
@require_POST
def campaign_close(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    services.campaign_close(user=request.user, campaign=_managed(request, pk))
    messages.success(request, _("Campaign closed."))
    return redirect("field-campaign", pk=pk)


def _compared(request: AuthenticatedRequest) -> int | None:
    """The register version the reviewer compared with, when they ticked "write over the current version"."""
    if not request.POST.get("over_current"):
        return None
    try:
        return int(request.POST.get("compared_version", ""))
    except ValueError:
        return None


@role_required(access.can_manage_campaigns)
@require_POST
def result_review(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    result = get_object_or_404(FieldResult.objects.select_related("assignment__campaign", "assignment__asset"), pk=pk)
    campaign = _managed(request, result.assignment.campaign_id)
    action, note = request.POST.get("action"), request.POST.get("note", "")
    try:
        if action == "accept":
            services.review_accept(
                user=request.user, result=result, geometry=bool(request.POST.get("geometry")),
                use=bool(request.POST.get("use")), note=note, overlap_reason=request.POST.get("overlap_reason"),
                compared_version=_compared(request),
            )  # fmt: skip
            messages.success(request, _("The result was written into the register."))
        elif action == "follow_up":
            services.review_follow_up(user=request.user, result=result, note=note)
            messages.success(request, _("Marked for follow-up."))
        elif action == "note":
            services.review_note(user=request.user, result=result, note=note)
            messages.success(request, _("Noted; the register is unchanged."))
        else:
            messages.error(request, _("Unknown review action."))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return redirect(reverse("field-campaign", args=[campaign.pk]) + f"#result-{result.pk}")


@role_required(access.can_manage_campaigns)
@require_GET
def campaign_report(request: AuthenticatedRequest, pk: int, fmt: str) -> HttpResponse:
    campaign = _managed(request, pk)
    stem = f"hasil-inventarisasi-{campaign.pk}"
    if fmt == "xlsx":
        response = HttpResponse(reports.xlsx(campaign), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    else:
        response = HttpResponse(reports.pdf(campaign), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{stem}.pdf"'
    return response


@role_required(access.can_manage_campaigns)
@require_GET
def team_berita_acara(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team.objects.select_related("campaign__agency"), pk=pk)
    _managed(request, team.campaign_id)
    response = HttpResponse(reports.berita_acara(team), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="berita-acara-inventarisasi-{team.pk}.pdf"'
    return response


# --- the team: results edited by its members, parcels moved by its leader -------------------------------------------


def _team(request: AuthenticatedRequest, pk: int) -> Team:
    team = get_object_or_404(Team.objects.select_related("campaign__agency", "leader"), pk=pk)
    require(access.can_see_team(request.user, team), _("You are not a member of this team."))
    return team


@role_required(permissions.can_view_register)
@require_GET
def team_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    team = _team(request, pk)
    can_move = access.can_move_parcels(request.user, team)
    return render(request, "field/team.html", {
        "team": team, "rows": selectors.team_parcels(team), "can_move": can_move,
        "can_edit": access.can_work_in_team(request.user, team),
        "move_form": MoveForm(team=team) if can_move else None,
    })  # fmt: skip


@role_required(permissions.can_view_register)
@require_POST
def team_move(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    team = _team(request, pk)
    require(access.can_move_parcels(request.user, team), _("Only the team's leader, or who manages the campaign, "
                                                           "moves its parcels."))  # fmt: skip
    form = MoveForm(request.POST, team=team)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}".lstrip(": "))
        return redirect("field-team", pk=team.pk)
    try:
        n = services.assignments_move(
            user=request.user, from_team=team, assignments=form.cleaned_data["assignments"],
            to_team=form.cleaned_data["to_team"],
        )  # fmt: skip
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        moved = {"n": n, "team": form.cleaned_data["to_team"]}
        messages.success(request, _("%(n)s parcels moved to %(team)s.") % moved)
    return redirect("field-team", pk=team.pk)


@role_required(permissions.can_view_register)
@require_http_methods(["GET", "POST"])
def result_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    result = get_object_or_404(
        FieldResult.objects.select_related("assignment__asset", "assignment__team__campaign", "edited_by"), pk=pk
    )
    team = result.assignment.team
    require(access.can_work_in_team(request.user, team), _("Only the members of the result's team edit it, while "
                                                           "the campaign is open."))  # fmt: skip
    initial = {name: getattr(result, name) for name in services.EDITABLE} | {"edits": result.edits}
    form = ResultEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.result_edit(user=request.user, result=result, data=data, expected_edits=data.pop("edits"))
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The result was saved."))
            return redirect("field-team", pk=team.pk)
    return render(request, "field/result_edit.html", {"form": form, "result": result, "team": team})


# --- the field app (PWA) -------------------------------------------------------------------------------------------


@role_required(permissions.can_view_register)
@require_GET
def app(request: AuthenticatedRequest) -> HttpResponse:
    config = {
        "teamsUrl": reverse("field-api-teams"),
        "resultsUrl": reverse("field-api-results"),
        "swUrl": reverse("field-sw"),
        "scope": reverse("field-app"),
        "shell": [reverse("field-app"), reverse("field-manifest"), static("field/field.js"), static("field/field.css"),
                  static("vendor/leaflet/leaflet.js"), static("vendor/leaflet/leaflet.css")],
        "csrf": get_token(request),
        "user": request.user.get_username(),
    }  # fmt: skip
    words = {
        "online": _("online"), "offline": _("offline"), "pending": _("pending"), "synced": _("synced"),
        "conflict": _("conflict"), "error": _("refused"), "found": _("found"), "partly": _("partly found"),
        "not_found": _("not found"), "noTeam": _("You are in no team of an open campaign."),
        "downloading": _("Downloading…"), "downloadFailed": _("The package could not be downloaded:"),
        "packageInfo": _("%(campaign)s · %(team)s: %(n)s parcels, %(size)s MB, valid until %(expires)s."),
        "noGps": _("No position:"), "locating": _("Finding the position…"),
        "corners": _("%(n)s corners (at least 3 make a boundary)"), "syncing": _("Synchronising…"),
        "pendingCount": _("%(n)s waiting to be sent."),
        "conflictNote": _("the asset was changed in the office meanwhile: the office compares both"),
        "expired": _("The package has expired: download it again when online (what you recorded stays here)."),
    }  # fmt: skip
    return render(request, "field/app.html", {"config": config, "words": words})


@login_not_required  # holds nothing private; fetched by the browser to update the worker
@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served under /field/ so that its scope covers the app (a static path could not)."""
    response = FileResponse((STATIC_DIR / "sw.js").open("rb"), content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response


@login_not_required  # browsers fetch the manifest without cookies
@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    return JsonResponse({
        "name": _("Sipanah field inventory"), "short_name": _("Inventory"), "start_url": reverse("field-app"),
        "scope": reverse("field-app"), "display": "standalone", "background_color": "#ffffff",
        "theme_color": "#1d4e89", "icons": [{"src": static("field/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }, content_type="application/manifest+json")  # fmt: skip


def _json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@never_cache
@require_GET
def api_teams(request: AuthenticatedRequest) -> JsonResponse:
    teams = [
        {"id": t.pk, "name": t.name, "campaign": t.campaign.name, "parcels": t.parcels,
         "package": reverse("field-api-package", args=[t.pk])}
        for t in selectors.my_teams(request.user)
    ]  # fmt: skip
    return JsonResponse({"teams": teams})


@never_cache
@require_GET
def api_package(request: AuthenticatedRequest, team: int) -> HttpResponse:
    team_obj = get_object_or_404(Team.objects.select_related("campaign"), pk=team)
    try:
        package, data = services.package_build(user=request.user, team=team_obj)
    except PermissionDenied as exc:
        return _json_error(str(exc), 403)
    response = HttpResponse(data, content_type="application/json")
    response["X-Package-Size"] = str(package.size_bytes)
    return response


@never_cache
@require_POST
def api_result(request: AuthenticatedRequest) -> JsonResponse:
    try:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValueError
    except ValueError:
        return _json_error(_("The result is not a JSON object."), 400)
    try:
        package = services.package_check(user=request.user, key=request.headers.get("X-Package", ""))
        submitted = services.result_submit(user=request.user, package=package, data=data)
    except PermissionDenied as exc:
        return _json_error(str(exc), 403)
    except ValidationError as exc:
        return _json_error(_errors(exc), 400)
    result = submitted.result
    return JsonResponse(
        {"id": result.pk, "client_id": str(result.client_id), "created": submitted.created,
         "conflict": services.is_conflict(result)},
        status=201 if submitted.created else 200,
    )  # fmt: skip


@never_cache
@require_POST
def api_photo(request: AuthenticatedRequest, client_id: str, photo_id: str) -> JsonResponse:
    try:
        services.package_check(user=request.user, key=request.headers.get("X-Package", ""))
        result = FieldResult.objects.select_related("assignment__asset", "assignment__campaign").filter(
            client_id=client_id).first()  # fmt: skip
        if result is None:
            return _json_error(_("Send the result before its photos."), 404)
        upload = request.FILES.get("photo")
        if upload is None:
            return _json_error(_("No photo in the request (field “photo”)."), 400)
        photo, created = services.photo_add(
            user=request.user, result=result, client_id=photo_id, name=upload.name or "photo.jpg", data=upload.read()
        )
    except PermissionDenied as exc:
        return _json_error(str(exc), 403)
    except ValidationError as exc:
        return _json_error(_errors(exc), 400)
    except ValueError as exc:  # checks.UploadRefused: the evidence room's refusal names the file and the problem
        return _json_error(str(exc), 400)
    return JsonResponse({"document": photo.document_id, "created": created}, status=201 if created else 200)
