"""Views of the ledger room: thin wrappers around its services and selectors, behind its rules (BPKAD and admins
run and decide, auditors read)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assets.ledger import berita_acara, jobs, opening, rules, selectors, services, subunits, transfers
from assets.ledger.forms import (
    DecisionForm,
    OpeningBalanceForm,
    RunUploadForm,
    SubUnitForm,
    TransferApproveForm,
    TransferCloseForm,
    TransferProposeForm,
)
from assets.ledger.models import AgencyTransfer, Category, OpeningBalance, ReconciliationItem, ReconciliationRun
from assets.lib.http import plain_error
from assets.register import permissions
from assets.register.models import LandAsset
from assets.register.permissions import AuthenticatedRequest, require, role_required

READ = gettext_lazy("Reconciliation runs are open to BPKAD, administrators and auditors.")
DECIDE = gettext_lazy("Only BPKAD and administrators run reconciliations and decide on them.")
PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _errors(error: ValidationError) -> list[str]:
    return [str(m) for m in (error.messages if hasattr(error, "messages") else [error])]


@role_required(rules.can_view_reconciliation, READ)
def run_list(request: AuthenticatedRequest) -> HttpResponse:
    form = None
    if rules.can_reconcile(request.user):
        form = RunUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        require(form is not None, str(DECIDE))
        assert form is not None  # noqa: S101 - required above
        if form.is_valid():
            run = jobs.queue(
                upload=form.cleaned_data["file"],
                user=request.user,
                system=form.cleaned_data["system"],
                snapshot_date=form.cleaned_data["snapshot_date"],
                note=form.cleaned_data["note"],
            )
            messages.success(request, _("The official export was received: it is read and matched in the background."))
            return redirect("ledger-run", pk=run.pk)
    return render(request, "ledger/run_list.html", {"form": form, "runs": selectors.runs()[:200]})


@role_required(rules.can_view_reconciliation, READ)
def run_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.runs(), pk=pk)
    if run.state != ReconciliationRun.State.READY:  # still with the worker, or failed: what became of the upload
        waiting = run.state in (ReconciliationRun.State.QUEUED, ReconciliationRun.State.RUNNING)
        return render(request, "ledger/run_waiting.html", {"run": run, "waiting": waiting})
    category = request.GET.get("category") or ""
    if category not in Category.values:
        category = ""
    lines = selectors.items(run, category or None)
    if request.GET.get("open"):
        lines = lines.filter(resolved=False)
    page = Paginator(lines, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "ledger/run_detail.html",
        {
            "run": run,
            "counts": selectors.counts(run),
            "category": category,
            "page": page,
            "only_open": bool(request.GET.get("open")),
            "can_decide": rules.can_reconcile(request.user),
            "other_runs": selectors.runs().exclude(pk=run.pk)[:50],
            "categories": Category,
        },
    )


@require_POST
@role_required(rules.can_reconcile, DECIDE)
def run_status(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ReconciliationRun, pk=pk)
    try:
        if request.POST.get("action") == "close":
            services.close_run(run=run, user=request.user)
            messages.success(request, _("The run is closed; it can be reopened."))
        else:
            services.reopen_run(run=run, user=request.user)
            messages.success(request, _("The run is open again, with every decision kept."))
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    return redirect("ledger-run", pk=run.pk)


@role_required(rules.can_view_reconciliation, READ)
def item_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        ReconciliationItem.objects.select_related("run", "official", "official__agency", "asset", "agency"), pk=pk
    )
    if request.method == "POST":
        require(rules.can_reconcile(request.user), str(DECIDE))
        form = DecisionForm(request.POST)
        if not form.is_valid():
            return plain_error(_("The decision is not complete: %(errors)s") % {"errors": form.errors.as_text()})
        target = _decide(request, item, form.cleaned_data)
        return redirect("ledger-item", pk=target)
    return render(
        request,
        "ledger/item_detail.html",
        {
            "item": item,
            "rows": selectors.line_fields(item),
            "decisions": item.decisions.select_related("user", "created_asset"),
            "can_decide": rules.can_reconcile(request.user)
            and item.active
            and item.run.status == ReconciliationRun.Status.OPEN,
            "candidates": selectors.pair_candidates(item) if item.active else [],
            "labels": selectors.FIELD_LABELS,
        },
    )


def _decide(request: AuthenticatedRequest, item: ReconciliationItem, data: dict) -> int:
    """Apply one decision; returns the line to show next (a new line when pairs were made or undone)."""
    action, field, reason = data["action"], data.get("field") or "", data.get("reason") or ""
    user = request.user
    try:
        if action == "accept":
            services.accept_official(item=item, field=field, user=user)
            messages.success(request, _("The official value was written to the register."))
        elif action == "keep":
            services.keep_sipanah(item=item, field=field, user=user, reason=reason)
            messages.success(request, _("Sipanah's value is kept; the reason goes to the BMD administrator."))
        elif action == "create":
            decision = services.create_from_official(item=item, user=user)
            messages.success(request, _("The asset was created in Sipanah (%(asset)s): %(note)s")
                             % {"asset": decision.created_asset, "note": decision.reason})  # fmt: skip
        elif action == "confirm":
            services.confirm_pair(item=item, user=user)
        elif action == "reject":
            services.reject_pair(item=item, user=user, reason=reason)
            item.refresh_from_db()
            return item.replaced_by_id or item.pk
        elif action == "pair":
            other = get_object_or_404(
                ReconciliationItem, pk=data.get("other") or data.get("other_number") or 0, run_id=item.run_id
            )
            official, asset = (item, other) if item.category == Category.ONLY_OFFICIAL else (other, item)
            return services.pair_by_hand(official_item=official, asset_item=asset, user=user, reason=reason).pk
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    return item.pk


@role_required(rules.can_view_reconciliation, READ)
def compare(request: AuthenticatedRequest) -> HttpResponse:
    try:
        first = get_object_or_404(ReconciliationRun, pk=int(request.GET.get("a", "")))
        second = get_object_or_404(ReconciliationRun, pk=int(request.GET.get("b", "")))
    except ValueError:
        return plain_error(_("Choose two runs to compare (a and b)."))
    return render(request, "ledger/compare.html", {"comparison": selectors.compare(first, second)})


@role_required(rules.can_view_reconciliation, READ)
def run_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.runs(), pk=pk)
    response = HttpResponse(berita_acara.pdf(run), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="berita-acara-rekonsiliasi-{run.pk}.pdf"'
    return response


@role_required(rules.can_view_reconciliation, READ)
def run_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.runs(), pk=pk)
    response = HttpResponse(
        berita_acara.xlsx(run), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="rekonsiliasi-{run.pk}.xlsx"'
    return response


# --- transfers (mutasi / alih status penggunaan) ----------------------------------------------------------------


def _period(request: HttpRequest) -> tuple[dt.date | None, dt.date | None]:
    def day(name: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(request.GET.get(name) or "") if request.GET.get(name) else None
        except ValueError:
            return None

    return day("from"), day("to")


@role_required(permissions.can_view_register)
def transfer_list(request: AuthenticatedRequest) -> HttpResponse:
    start, end = _period(request)
    mine = transfers.visible(request.user)
    return render(
        request,
        "ledger/transfer_list.html",
        {
            "proposed": mine.filter(status=AgencyTransfer.Status.PROPOSED),
            "effective": transfers.in_period(mine, start, end)[:1000],
            "start": start,
            "end": end,
        },
    )


@role_required(permissions.can_view_register)
def transfer_xlsx(request: AuthenticatedRequest) -> HttpResponse:
    start, end = _period(request)
    rows = transfers.in_period(transfers.visible(request.user), start, end)
    response = HttpResponse(berita_acara.transfers_xlsx(rows), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="mutasi.xlsx"'
    return response


def transfer_propose(request: AuthenticatedRequest, asset: int) -> HttpResponse:
    target = get_object_or_404(LandAsset.objects.select_related("agency"), pk=asset)
    require(transfers.can_propose(request.user, target), permissions.edit_asset_refusal(request.user, target))
    form = TransferProposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            transfer = transfers.propose(
                asset=target,
                to_agency=form.cleaned_data["to_agency"],
                user=request.user,
                reason=form.cleaned_data["reason"],
                kind=form.cleaned_data["kind"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The transfer is proposed; BPKAD approves it with the SK."))
            return redirect("ledger-transfer", pk=transfer.pk)
    return render(request, "ledger/transfer_propose.html", {"asset": target, "form": form})


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@role_required(permissions.can_view_register)
def transfer_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A transfer (404 for whom it is not visible: transfers.visible), with BPKAD's approval form and the
    rejection/cancellation form."""
    transfer = get_object_or_404(transfers.visible(request.user), pk=pk)
    approve_form = TransferApproveForm(asset=transfer.asset)
    close_form = TransferCloseForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                require(transfers.can_decide(request.user), _("Only BPKAD approves or rejects a transfer."))
                approve_form = TransferApproveForm(request.POST, asset=transfer.asset)
                if approve_form.is_valid():
                    data = approve_form.cleaned_data
                    transfers.approve(
                        transfer=transfer,
                        user=request.user,
                        sk_nomor=data["sk_nomor"],
                        sk_tanggal=data["sk_tanggal"],
                        effective_date=data["effective_date"],
                        document=data["document"],
                        note=data["note"],
                    )
                    messages.success(request, _("The transfer is approved and the asset's agency changed."))
                    return redirect("ledger-transfer", pk=transfer.pk)
            elif action in ("reject", "cancel"):
                close_form = TransferCloseForm(request.POST)
                if close_form.is_valid():
                    act = transfers.reject if action == "reject" else transfers.cancel
                    act(transfer=transfer, user=request.user, note=close_form.cleaned_data["note"])
                    return redirect("ledger-transfer", pk=transfer.pk)
        except ValidationError as exc:
            _form_errors(approve_form if action == "approve" else close_form, exc)
    return render(
        request,
        "ledger/transfer_detail.html",
        {
            "transfer": transfer,
            "approve_form": approve_form,
            "close_form": close_form,
            "can_decide": transfers.can_decide(request.user) and transfer.status == AgencyTransfer.Status.PROPOSED,
            "can_cancel": transfer.status == AgencyTransfer.Status.PROPOSED
            and (transfers.can_decide(request.user) or transfer.proposed_by_id == request.user.pk),
        },
    )


@role_required(rules.can_view_reconciliation, READ)
def opening_balance(request: AuthenticatedRequest) -> HttpResponse:
    """The opening balances recorded, and (BPKAD, admins) the form that records one."""
    form = OpeningBalanceForm(request.POST or None) if rules.can_reconcile(request.user) else None
    if request.method == "POST":
        require(form is not None, str(DECIDE))
        assert form is not None  # noqa: S101 - required above
        if form.is_valid():
            try:
                done = opening.apply(user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(
                    request, _("Opening balance recorded: %(n)s assets dated back.") % {"n": done.assets_moved}
                )
                return redirect("ledger-opening-balance")
    return render(
        request,
        "ledger/opening_balance.html",
        {"form": form, "balances": OpeningBalance.objects.select_related("created_by")},
    )


def asset_sub_unit(request: AuthenticatedRequest, asset: int) -> HttpResponse:
    """Choose the sub-unit (kuasa pengguna barang / UPT) that holds an asset."""
    target = get_object_or_404(LandAsset.objects.select_related("agency"), pk=asset)
    require(
        subunits.can_set(request.user, target), _("Only BPKAD and the agency's officers choose an asset's sub-unit.")
    )
    current = subunits.asset_sub_unit(target)
    form = SubUnitForm(request.POST or None, asset=target, initial={"sub_unit": current})
    if request.method == "POST" and form.is_valid():
        try:
            subunits.set_sub_unit(asset=target, sub_unit=form.cleaned_data["sub_unit"], user=request.user)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The asset's sub-unit was saved."))
            return redirect("asset-detail", pk=target.pk)
    return render(request, "ledger/asset_sub_unit.html", {"asset": target, "form": form})
