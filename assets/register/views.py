"""HTML views: thin wrappers around selectors, services and permissions."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from assets.register import permissions, selectors, services
from assets.register.filters import AssetFilter
from assets.register.forms import (
    AssetForm,
    CertificateForm,
    MySettingsForm,
    RemovalForm,
    RestoreForm,
    StageChangeForm,
)
from assets.register.models import Certificate, LandAsset
from assets.register.permissions import AuthenticatedRequest, require_edit_asset, role_required
from assets.register.reads import RegisterSelection, SelectionError
from assets.work.registry import items_for


def _add_service_errors(form: BaseForm, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form, on the field when the form has it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def bad_request(request: HttpRequest, message: str, *, back: str | None = None) -> HttpResponse:
    """A 400 page that says what is wrong with the request (the message is escaped by the template)."""
    return render(request, "bad_request.html", {"message": message, "back": back}, status=400)


@role_required(permissions.can_view_register)
def home(request: AuthenticatedRequest) -> HttpResponse:
    totals, by_status = RegisterSelection.everything().totals_by_status()
    context = {"totals": totals, "by_status": by_status, "work": items_for(request.user)}
    return render(request, "assets/home.html", context)


@role_required(permissions.can_view_register)
def my_settings(request: AuthenticatedRequest) -> HttpResponse:
    """The user's own preferences: language and the daily e-mail digest."""
    form = MySettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(request, _("Your settings are saved."))
        response = redirect("my-settings")
        if user.language:  # the pages follow the chosen language too
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax",
                                secure=settings.SESSION_COOKIE_SECURE)  # fmt: skip
        return response
    return render(request, "assets/my_settings.html", {"form": form})


@role_required(permissions.can_view_register)
def asset_list(request: AuthenticatedRequest) -> HttpResponse:
    """The register, filtered; with ``as_of`` the register as it stood at the end of that day."""
    try:
        selection = RegisterSelection.from_params(request.GET)
        page, totals = selection.page(request.GET.get("page"))
    except SelectionError as exc:
        return bad_request(request, str(exc))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": AssetFilter(request.GET),
        "page": page,
        "totals": totals,
        "query": query.urlencode(),
        "as_of": selection.as_of,
    }
    return render(request, "assets/asset_list.html", context)


@role_required(permissions.can_view_register)
def asset_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        asset = selectors.asset_detail(pk=pk)
    except LandAsset.DoesNotExist as exc:
        raise Http404(_("No such asset.")) from exc
    certificates = [(c, selectors.stage_timeline(c)) for c in asset.certificates.all()]
    context = {
        "asset": asset,
        "certificates": certificates,
        "can_edit": permissions.can_edit_asset(request.user, asset),
    }
    return render(request, "assets/asset_detail.html", context)


@role_required(permissions.can_create_asset)
def asset_create(request: AuthenticatedRequest) -> HttpResponse:
    form = AssetForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        geom = data.pop("geom")
        data.pop("loaded_version", None)
        reason = data.pop("overlap_reason", None)
        try:
            asset = services.asset_create(user=request.user, geom=geom, overlap_reason=reason, **data)
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Asset %(asset)s was added.") % {"asset": asset})
            return redirect("asset-detail", pk=asset.pk)
    return render(request, "assets/asset_form.html", {"form": form, "asset": None})


def asset_update(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    asset = get_object_or_404(LandAsset.objects.select_related("agency"), pk=pk)
    require_edit_asset(request.user, asset)
    form = AssetForm(request.POST or None, instance=asset, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        geom = data.pop("geom")
        loaded_version = data.pop("loaded_version")
        reason = data.pop("overlap_reason", None)
        try:
            services.asset_update(
                asset=asset,
                user=request.user,
                data=data,
                geom=geom,
                expected_version=loaded_version,
                overlap_reason=reason,
            )
        except ValidationError as exc:
            asset.refresh_from_db()  # the page title shows the saved asset, the form the posted values
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Asset %(asset)s was saved.") % {"asset": asset})
            return redirect("asset-detail", pk=asset.pk)
    return render(request, "assets/asset_form.html", {"form": form, "asset": asset})


def certificate_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    asset = get_object_or_404(LandAsset.objects.select_related("agency"), pk=pk)
    require_edit_asset(request.user, asset)
    form = CertificateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            services.certificate_create(asset=asset, user=request.user, **data)
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("The certificate was added."))
            return redirect("asset-detail", pk=asset.pk)
    return render(request, "assets/certificate_form.html", {"form": form, "asset": asset})


def certificate_stage(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    certificate = get_object_or_404(Certificate.objects.select_related("asset__agency"), pk=pk)
    require_edit_asset(request.user, certificate.asset)
    form = StageChangeForm(request.POST or None, certificate=certificate)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.certificate_change_stage(
                certificate=certificate,
                user=request.user,
                to_stage=data["to_stage"],
                tanggal_tahap=data["tanggal"],
                nomor_dokumen=data["nomor_dokumen"],
                catatan=data["catatan"],
                **form.certificate_fields(),
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("The stage was changed."))
            return redirect("asset-detail", pk=certificate.asset_id)
    return render(request, "assets/stage_form.html", {"form": form, "certificate": certificate})


def asset_remove(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    asset = get_object_or_404(LandAsset.objects.select_related("agency"), pk=pk)
    require_edit_asset(request.user, asset)
    form = RemovalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.asset_remove(
                asset=asset,
                user=request.user,
                sk_nomor=data["removal_sk_nomor"],
                tanggal=data["removed_at"],
                note=data["removal_note"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Asset %(asset)s was removed from the register.") % {"asset": asset})
            return redirect("asset-detail", pk=asset.pk)
    return render(request, "assets/asset_remove.html", {"form": form, "asset": asset, "restore": False})


@role_required(permissions.can_restore_asset)
def asset_restore(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    asset = get_object_or_404(LandAsset, pk=pk)
    form = RestoreForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.asset_restore(asset=asset, user=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("The removal of %(asset)s was reversed.") % {"asset": asset})
            return redirect("asset-detail", pk=asset.pk)
    return render(request, "assets/asset_remove.html", {"form": form, "asset": asset, "restore": True})
