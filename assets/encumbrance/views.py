"""Pages of the encumbrance room: thin wrappers around services, selectors and the permission rules. Everyone with
a role reads cases and agreements; officers of the asset's agency, BPKAD and admins record them."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import BaseForm
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assets.encumbrance import selectors, services
from assets.encumbrance.forms import (
    CaseDocumentsForm,
    CaseForm,
    CaseStageForm,
    PaymentForm,
    PaymentRecordForm,
    UtilisationForm,
)
from assets.encumbrance.models import (
    CLOSED_STAGES,
    CaseKind,
    CaseStage,
    DisputeCase,
    Payment,
    Utilisation,
    UtilisationStatus,
)
from assets.lib import cells
from assets.lib.http import plain_error
from assets.register import permissions
from assets.register.models import LandAsset
from assets.register.permissions import AuthenticatedRequest, require_edit_asset, role_required
from assets.register.reads import SelectionError, parse_as_of


def _service_errors(form: BaseForm, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _asset(pk: int) -> LandAsset:
    return get_object_or_404(LandAsset.objects.select_related("agency"), pk=pk)


def _can_edit_case(user: Any, case: DisputeCase) -> bool:
    return all(permissions.can_edit_asset(user, a) for a in case.assets.all())


def _require_edit_case(user: Any, case: DisputeCase) -> None:
    for asset in case.assets.all():
        require_edit_asset(user, asset)


def _days(value: str | None) -> int | None:
    """A number of days from the URL (0 to 3650), None when absent or not one."""
    try:
        days = int(value or "")
    except ValueError:
        return None
    return days if 0 <= days <= 3650 else None


def _page(request: AuthenticatedRequest, qs: QuerySet) -> Any:
    return Paginator(qs, 50).get_page(request.GET.get("page"))


# --- cases --------------------------------------------------------------------------------------------------


@role_required(permissions.can_view_register)
def case_list(request: AuthenticatedRequest) -> HttpResponse:
    state = request.GET.get("state", "open")
    kind = request.GET.get("kind", "")
    qs = selectors.cases()
    if state == "open":
        qs = qs.filter(closed_on__isnull=True)
    elif state == "closed":
        qs = qs.filter(closed_on__isnull=False)
    if kind in CaseKind.values:
        qs = qs.filter(kind=kind)
    hearing = _days(request.GET.get("hearing"))
    if hearing is not None:  # the work queue's link: open cases with a hearing within so many days
        qs = qs.filter(pk__in=selectors.hearings_within(hearing).values("pk"))
    context = {
        "page": _page(request, qs), "state": state, "kind": kind, "kinds": CaseKind.choices, "hearing": hearing,
    }  # fmt: skip
    return render(request, "encumbrance/case_list.html", context)


@role_required(permissions.can_view_register)
def case_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        case = selectors.case_detail(pk)
    except DisputeCase.DoesNotExist as exc:
        raise Http404(_("No such case.")) from exc
    can_edit = _can_edit_case(request.user, case)
    assets = list(case.assets.all())
    context = {
        "case": case,
        "assets": assets,
        "can_edit": can_edit,
        "can_view_documents": all(permissions.can_view_asset_documents(request.user, a) for a in assets),
        "stage_form": CaseStageForm(case=case, initial={"date": timezone.localdate()}) if can_edit else None,
        "documents_form": CaseDocumentsForm(case=case) if can_edit else None,
    }
    return render(request, "encumbrance/case_detail.html", context)


def case_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    asset = _asset(pk)
    require_edit_asset(request.user, asset)
    form = CaseForm(request.POST or None, asset=asset)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        others = data.pop("other_assets")
        geom = data.pop("geom")
        try:
            case = services.case_open(user=request.user, assets=[asset, *others], geom=geom, **data)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("The case was opened."))
            return redirect("encumbrance-case", pk=case.pk)
    return render(request, "encumbrance/case_form.html", {"form": form, "asset": asset, "case": None})


def case_update(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(DisputeCase, pk=pk)
    _require_edit_case(request.user, case)
    asset = case.assets.order_by("pk").first()
    form = CaseForm(request.POST or None, instance=case, asset=asset)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        others = data.pop("other_assets")
        geom = data.pop("geom")
        try:
            services.case_update(case=case, user=request.user, assets=[asset, *others], geom=geom, **data)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("The case was saved."))
            return redirect("encumbrance-case", pk=case.pk)
    return render(request, "encumbrance/case_form.html", {"form": form, "asset": asset, "case": case})


@require_POST
def case_stage(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(DisputeCase, pk=pk)
    _require_edit_case(request.user, case)
    form = CaseStageForm(request.POST, case=case)
    if form.is_valid():
        try:
            services.case_move(case=case, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _service_errors(form, exc)
    _report(request, form, _("The stage was changed."))
    return redirect("encumbrance-case", pk=case.pk)


@require_POST
def case_documents(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(DisputeCase, pk=pk)
    _require_edit_case(request.user, case)
    form = CaseDocumentsForm(request.POST, case=case)
    if form.is_valid():
        services.case_attach_documents(case=case, user=request.user, documents=form.cleaned_data["documents"])
        messages.success(request, _("The documents were linked to the case."))
    else:
        messages.error(request, _("Choose at least one document of the case's assets."))
    return redirect("encumbrance-case", pk=case.pk)


# --- pemanfaatan --------------------------------------------------------------------------------------------


@role_required(permissions.can_view_register)
def utilisation_list(request: AuthenticatedRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    today = timezone.localdate()
    qs = selectors.utilisations()
    if status in UtilisationStatus.values:
        qs = qs.filter(status=status)
    ending = _days(request.GET.get("ending"))
    if ending is not None:  # the work queue's link: in use and ending within so many days
        qs = qs.filter(pk__in=selectors.ending_between(today, today + dt.timedelta(days=ending)).values("pk"))
    overdue = request.GET.get("overdue") == "1"
    if overdue:
        qs = qs.filter(pk__in=selectors.overdue_payments(today).values("utilisation_id"))
    context = {
        "page": _page(request, qs), "status": status, "statuses": UtilisationStatus.choices, "ending": ending,
        "overdue": overdue,
    }  # fmt: skip
    return render(request, "encumbrance/utilisation_list.html", context)


@role_required(permissions.can_view_register)
def utilisation_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    utilisation = get_object_or_404(selectors.utilisations().prefetch_related("payments", "documents"), pk=pk)
    can_edit = permissions.can_edit_asset(request.user, utilisation.asset)
    payments = list(utilisation.payments.all())
    context = {
        "utilisation": utilisation,
        "payments": payments,
        "total_due": sum((p.amount_due for p in payments), 0),
        "total_paid": sum((p.paid_amount for p in payments), 0),
        "today": timezone.localdate(),
        "can_edit": can_edit,
        "can_view_documents": permissions.can_view_asset_documents(request.user, utilisation.asset),
        "payment_form": PaymentForm() if can_edit else None,
    }
    return render(request, "encumbrance/utilisation_detail.html", context)


def utilisation_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    asset = _asset(pk)
    require_edit_asset(request.user, asset)
    form = UtilisationForm(request.POST or None, asset=asset)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        geom = data.pop("geom")
        try:
            utilisation = services.utilisation_create(user=request.user, asset=asset, geom=geom, **data)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("The agreement was recorded."))
            return redirect("encumbrance-utilisation", pk=utilisation.pk)
    return render(request, "encumbrance/utilisation_form.html", {"form": form, "asset": asset, "utilisation": None})


def utilisation_update(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    utilisation = get_object_or_404(Utilisation.objects.select_related("asset__agency"), pk=pk)
    require_edit_asset(request.user, utilisation.asset)
    form = UtilisationForm(request.POST or None, instance=utilisation, asset=utilisation.asset)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        geom = data.pop("geom")
        try:
            services.utilisation_update(utilisation=utilisation, user=request.user, geom=geom, **data)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("The agreement was saved."))
            return redirect("encumbrance-utilisation", pk=utilisation.pk)
    context = {"form": form, "asset": utilisation.asset, "utilisation": utilisation}
    return render(request, "encumbrance/utilisation_form.html", context)


@require_POST
def payment_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    utilisation = get_object_or_404(Utilisation.objects.select_related("asset__agency"), pk=pk)
    require_edit_asset(request.user, utilisation.asset)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.payment_add(utilisation=utilisation, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _service_errors(form, exc)
    _report(request, form, _("The payment row was added."))
    return redirect("encumbrance-utilisation", pk=utilisation.pk)


@require_POST
def payment_record(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    payment = get_object_or_404(Payment.objects.select_related("utilisation__asset__agency"), pk=pk)
    require_edit_asset(request.user, payment.utilisation.asset)
    form = PaymentRecordForm(request.POST)
    if form.is_valid():
        try:
            services.payment_record(payment=payment, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _service_errors(form, exc)
    _report(request, form, _("The payment was recorded."))
    return redirect("encumbrance-utilisation", pk=payment.utilisation_id)


def _report(request: AuthenticatedRequest, form: BaseForm, success: str) -> None:
    if form.errors:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}".lstrip(": "))
    else:
        messages.success(request, success)


# --- dashboard downloads ------------------------------------------------------------------------------------


def _csv(name: str, lines: Iterable[list[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        itertools.chain(["\ufeff"], (cells.csv_line(line) for line in lines)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _as_of_name(stem: str, as_of: dt.date | None) -> str:
    return f"{stem}-{as_of.isoformat()}.csv" if as_of else f"{stem}.csv"


@role_required(permissions.can_export)
def revenue_csv(request: AuthenticatedRequest) -> HttpResponse:
    """Revenue per year of the due date: due, paid, outstanding (whole rupiah); ``as_of``: as recorded then."""
    try:
        as_of = parse_as_of(request.GET.get("as_of"))
    except SelectionError as exc:
        return plain_error(str(exc))
    header = [_("Year"), _("Due"), _("Paid"), _("Outstanding (Rp)")]
    rows = ([year, due, paid, due - paid] for year, due, paid in selectors.revenue_by_year(as_of=as_of))
    return _csv(_as_of_name("pemanfaatan-revenue", as_of), itertools.chain([header], rows))


@role_required(permissions.can_export)
def cases_csv(request: AuthenticatedRequest) -> HttpResponse:
    """Open cases per kecamatan and stage; ``as_of``: the cases open then."""
    try:
        as_of = parse_as_of(request.GET.get("as_of"))
    except SelectionError as exc:
        return plain_error(str(exc))
    stages = [s for s in CaseStage if s not in CLOSED_STAGES]
    header = [_("Kecamatan"), *[str(s.label) for s in stages], _("Total")]
    rows = (
        [name, *[counts.get(s, 0) for s in stages], total]
        for name, counts, total in selectors.open_cases_by_kecamatan_stage(as_of=as_of)
    )
    return _csv(_as_of_name("open-cases-by-kecamatan", as_of), itertools.chain([header], rows))
