"""From a field result to a dispute case or a pemanfaatan check: the encumbrance room's forms, prefilled from the
result (assets.followup.prefill), saved through the encumbrance room's services with the result's photos linked as
documents. Who manages the campaign and may change the asset opens them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms import BaseForm
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from assets.encumbrance import services as encumbrance
from assets.encumbrance.forms import CaseForm, UtilisationForm
from assets.encumbrance.models import CaseKind
from assets.evidence.models import Document
from assets.field import access
from assets.field.models import FieldResult
from assets.followup import prefill
from assets.register import permissions
from assets.register.permissions import AuthenticatedRequest, require, role_required


class PhotosForm(forms.Form):
    documents = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Field photos to link as documents"), queryset=Document.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def __init__(self, *args: Any, result: FieldResult, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].queryset = prefill.photo_documents(result)
        self.fields["documents"].initial = [d.pk for d in self.fields["documents"].queryset]  # every photo ticked


def _result(request: AuthenticatedRequest, pk: int) -> FieldResult:
    result = get_object_or_404(
        FieldResult.objects.select_related(
            "assignment__asset__agency", "assignment__campaign__agency", "assignment__team", "submitted_by"
        ),
        pk=pk,
    )
    require(access.can_manage_campaign(request.user, result.assignment.campaign), _("You do not manage this campaign."))
    permissions.require_edit_asset(request.user, result.assignment.asset)
    return result


def _errors(form: BaseForm, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@role_required(permissions.can_view_register)
@require_http_methods(["GET", "POST"])
def result_case(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Open a dispute or occupation case on the result's asset."""
    result = _result(request, pk)
    asset = result.assignment.asset
    initial = prefill.case_initial(result)
    if request.GET.get("kind") in CaseKind.values:  # the pemanfaatan check's "no agreement covers it": okupasi
        initial["kind"] = request.GET["kind"]
    form = CaseForm(request.POST or None, asset=asset, initial=initial)
    photos = PhotosForm(request.POST or None, result=result)
    if request.method == "POST" and form.is_valid() and photos.is_valid():
        data = dict(form.cleaned_data)
        others, geom = data.pop("other_assets"), data.pop("geom")
        try:
            with transaction.atomic():
                case = encumbrance.case_open(user=request.user, assets=[asset, *others], geom=geom, **data)
                encumbrance.case_attach_documents(
                    case=case, user=request.user, documents=photos.cleaned_data["documents"]
                )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("The case was opened from the field result."))
            return redirect("encumbrance-case", pk=case.pk)
    context = {"form": form, "photos": photos, "asset": asset, "result": result}
    return render(request, "followup/case_form.html", context)


@role_required(permissions.can_view_register)
@require_http_methods(["GET", "POST"])
def result_utilisation(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The pemanfaatan check: the asset's agreements beside what the team saw; record the agreement that covers the
    use, or (none does) open an occupation case."""
    result = _result(request, pk)
    asset = result.assignment.asset
    form = UtilisationForm(request.POST or None, asset=asset, initial=prefill.utilisation_initial(result))
    photos = PhotosForm(request.POST or None, result=result)
    if request.method == "POST" and form.is_valid() and photos.is_valid():
        data = dict(form.cleaned_data)
        geom = data.pop("geom")
        try:
            with transaction.atomic():
                utilisation = encumbrance.utilisation_create(user=request.user, asset=asset, geom=geom, **data)
                encumbrance.utilisation_attach_documents(
                    utilisation=utilisation, user=request.user, documents=photos.cleaned_data["documents"]
                )
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, _("The agreement was recorded from the field result."))
            return redirect("encumbrance-utilisation", pk=utilisation.pk)
    return render(request, "followup/utilisation_check.html", {
        "form": form, "photos": photos, "asset": asset, "result": result, "summary": prefill.summary(result),
        "okupasi": CaseKind.OKUPASI,
    })  # fmt: skip
