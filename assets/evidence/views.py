"""Views of the evidence room: thin wrappers around services, selectors and the permission rules.

Every file (download, inline view, thumbnail) goes out through assets.lib.private_files after the asset's read rule
(permissions.can_view_asset_documents): officers of its agency, BPKAD, auditors and admins.
"""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_replace
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from assets.evidence import receipt, selectors, services
from assets.evidence.forms import DocumentForm, LendForm, ReturnForm, StoreForm, WithdrawForm
from assets.evidence.models import CustodyEvent, Document
from assets.lib.private_files import file_response
from assets.register import permissions
from assets.register.models import Certificate, LandAsset
from assets.register.permissions import AuthenticatedRequest, require, require_edit_asset, role_required


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _document(request: AuthenticatedRequest, pk: int) -> Document:
    document = get_object_or_404(Document.objects.select_related("asset"), pk=pk)
    require(
        permissions.can_view_asset_documents(request.user, document.asset),
        _("The documents of this asset are open to its agency, BPKAD and auditors."),
    )
    return document


@require_POST
def document_upload(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """One or several files with one description. As JSON for the page's script (per file: kept or why not), or
    back to the asset page with messages for a plain form."""
    asset = get_object_or_404(LandAsset.objects.select_related("agency"), pk=pk)
    require_edit_asset(request.user, asset)
    form = DocumentForm(request.POST, asset=asset)
    uploads = request.FILES.getlist("files")
    if not form.is_valid() or not uploads:
        problems = [f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}".lstrip(": ")
                    for f, e in form.errors.items()]  # fmt: skip
        if not uploads:
            problems.append(_("Choose at least one file."))
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": problems, "results": []}, status=400)
        for problem in problems:
            messages.error(request, problem)
        return redirect(reverse("asset-detail", args=[asset.pk]) + "#documents")
    data = form.cleaned_data
    fields = services.DocumentFields(
        doc_type=data["doc_type"], number=data["number"], date=data["date"], issuer=data["issuer"], note=data["note"],
        certificate=data["certificate"], stage_event=data["stage_event"],
    )  # fmt: skip
    results = services.documents_upload(
        asset=asset, user=request.user, files=[(u.name or "", u, u.size) for u in uploads], fields=fields
    )
    kept = [r for r in results if r.document is not None]
    if _wants_json(request):
        payload = {
            "ok": bool(kept),
            "errors": [],
            "results": [
                {"name": r.name, "ok": r.document is not None, "error": r.error,
                 "id": r.document.pk if r.document is not None else None}
                for r in results
            ],
        }  # fmt: skip
        return JsonResponse(payload, status=200 if kept else 400)
    if kept:
        messages.success(request, _("%(n)s file(s) added.") % {"n": len(kept)})
    for r in results:
        if r.error:
            messages.error(request, r.error)
    return redirect(reverse("asset-detail", args=[asset.pk]) + "#documents")


def document_file(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The original file, as an attachment under its uploaded name."""
    document = _document(request, pk)
    return file_response(document.file, filename=document.original_name, content_type=document.content_type)


@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})
def document_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The file inline, for the viewer on the asset page (PDF in an iframe of this site, images as <img>)."""
    document = _document(request, pk)
    if not document.shows_inline:
        raise Http404(_("This file type is not shown in the browser: download it."))
    return file_response(
        document.file, filename=document.original_name, inline=True, content_type=document.content_type
    )


def document_thumbnail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    document = _document(request, pk)
    if not document.thumbnail:
        raise Http404(_("This document has no thumbnail."))
    return file_response(
        document.thumbnail, filename=f"thumbnail-{document.pk}.jpg", inline=True, content_type="image/jpeg"
    )


def document_withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(Document.objects.select_related("asset__agency"), pk=pk)
    require_edit_asset(request.user, document.asset)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_withdraw(document=document, user=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The document was withdrawn; it stays listed as withdrawn."))
            return redirect(reverse("asset-detail", args=[document.asset_id]) + "#documents")
    return render(request, "evidence/withdraw.html", {"form": form, "document": document, "asset": document.asset})


def certificate_custody(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """An original certificate's custody log, and BPKAD's forms to store, lend and take it back."""
    certificate = get_object_or_404(Certificate.objects.select_related("asset__agency"), pk=pk)
    asset = certificate.asset
    require(
        permissions.can_view_asset_documents(request.user, asset),
        _("The documents of this asset are open to its agency, BPKAD and auditors."),
    )
    can_manage = permissions.can_manage_custody(request.user)
    current = services.custody_state(certificate)
    action = request.POST.get("action") if request.method == "POST" else None
    if action:
        require(can_manage, _("Only BPKAD keeps the original certificates."))
    store = StoreForm(request.POST if action == "store" else None, prefix="store")
    lend = LendForm(request.POST if action == "lend" else None, prefix="lend", asset=asset)
    give_back = ReturnForm(request.POST if action == "return" else None, prefix="return")
    form = {"store": store, "lend": lend, "return": give_back}.get(action or "")
    if form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            if action == "store":
                services.custody_store(certificate=certificate, user=request.user, **data)
            elif action == "lend":
                services.custody_lend(certificate=certificate, user=request.user, **data)
            else:
                if current is None or current.kind != CustodyEvent.Kind.LENT:
                    raise ValidationError(_("The original is not out on loan."))
                services.custody_return(loan=current, user=request.user, **data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The custody log was updated."))
            return redirect("certificate-custody", pk=certificate.pk)
    context = {
        "certificate": certificate,
        "asset": asset,
        "log": selectors.custody_log(certificate),
        "current": current,
        "can_manage": can_manage,
        "is_original": certificate.stage == "SERTIFIKAT_TERBIT" and bool(certificate.nomor),
        "store": store,
        "lend": lend,
        "give_back": give_back,
        "today": timezone.localdate(),
    }
    return render(request, "evidence/custody.html", context)


def custody_receipt(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The printable receipt (tanda terima) of one custody line, as PDF."""
    event = get_object_or_404(
        CustodyEvent.objects.select_related("certificate__asset__agency", "place", "user", "loan"), pk=pk
    )
    require(
        permissions.can_view_asset_documents(request.user, event.certificate.asset),
        _("The documents of this asset are open to its agency, BPKAD and auditors."),
    )
    response = HttpResponse(receipt.receipt_pdf(event), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="sipanah-custody-{event.pk}.pdf"'
    return response


@role_required(permissions.can_view_all_custody)
def loans(request: AuthenticatedRequest) -> HttpResponse:
    """Originals out on loan (BPKAD, auditors, admins), overdue first."""
    today = timezone.localdate()
    return render(request, "evidence/loans.html", {"loans": selectors.open_loans(), "today": today})
