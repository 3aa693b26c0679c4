"""Views of the import/export feature: export download, upload with preview and confirmation, job status."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assets.lib import private_files
from assets.lib.http import plain_error
from assets.lib.private_files import file_response
from assets.register import permissions
from assets.register.permissions import require, role_required
from assets.register.place import STORAGE_SRID
from assets.register.reads import RegisterSelection, SelectionError
from assets.transfer import exports, jobs, kib_print, outlines, preview, print_jobs, printers
from assets.transfer.forms import ImportOptionsForm, ImportUploadForm
from assets.transfer.importing.report import ImportFileError
from assets.transfer.models import ImportJob, PrintJob


@role_required(permissions.can_export, gettext_lazy("Your role does not allow exporting the register."))
def asset_export(request: HttpRequest) -> HttpResponse:
    """The register (filtered, now or as of a date) in an export format, streamed from a temporary file."""
    fmt = request.GET.get("format", "geojson")
    try:
        srid = int(request.GET.get("srid", str(STORAGE_SRID)))
        selection = RegisterSelection.from_params(request.GET)
    except ValueError as exc:  # SelectionError, or a srid that is not a number
        return plain_error(str(exc) if isinstance(exc, SelectionError) else _("srid must be an EPSG code."))
    day = f"{timezone.localdate():%Y%m%d}" if selection.live else f"per-{selection.as_of:%Y%m%d}"
    response = export_response(selection, fmt=fmt, srid=srid, stem=f"sipanah-kib-a-{day}")
    note = selection.empty_reason()
    if note:  # as of a date before anything was recorded: the empty file says why in its response
        response["Sipanah-As-Of-Note"] = note
    return response


KIB_A_FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "pdf": ("application/pdf", ".pdf"),
}


@role_required(permissions.can_view_register)
def kib_a_export(request: HttpRequest) -> HttpResponse:
    """The printed KIB A (assets.transfer.kib_print) of one agency (``agency=<code>``) or of the whole city (no
    agency), now or ``as_of`` a date, as XLSX or PDF (``format``). Officers: their own agency's only."""
    fmt = request.GET.get("format", "pdf")
    if fmt not in KIB_A_FORMATS:
        return plain_error(_("Unknown KIB A format %(format)s (known: xlsx, pdf).") % {"format": fmt})
    try:
        agency, selection, paper = printers.kib_request(request.GET)
    except printers.KibRequestError as exc:
        return plain_error(str(exc))
    if not permissions.can_export_kib_a(request.user, agency.pk if agency else None):
        officer = permissions.OFFICER in permissions.user_roles(request.user)
        require(
            False,
            _("You may print the KIB A of your own agency only.")
            if officer
            else _("Your role does not allow exporting the register."),
        )
    card = kib_print.build(selection, agency)
    content_type, suffix = KIB_A_FORMATS[fmt]
    name = card.file_stem() + suffix
    if fmt == "pdf":
        pages = len(kib_print.paginate(card))
        if pages > print_jobs.inline_pages():  # the city's card: printed by the worker, not while the browser waits
            job = print_jobs.queue("kib-a", user=request.user, params=request.GET, pages=pages)
            return redirect("print-job", pk=job.pk)
        response = HttpResponse(kib_print.pdf(card), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    folder = Path(getattr(settings, "FILE_UPLOAD_TEMP_DIR", None) or tempfile.gettempdir())
    with tempfile.NamedTemporaryFile(prefix="sipanah-kib-", suffix=suffix, dir=folder, delete=False) as handle:
        path = Path(handle.name)
    try:
        kib_print.write_xlsx(card, path, paper=paper)
        stream = path.open("rb")
    finally:
        path.unlink(missing_ok=True)  # the open handle keeps the data readable while it streams
    return FileResponse(stream, as_attachment=True, filename=name, content_type=content_type)


def export_response(source: exports.Source, *, fmt: str, srid: int, stem: str) -> HttpResponse:
    """Write ``source`` (a register selection) in ``fmt`` to a temporary file and stream it as a download (400, as
    text, for a bad format or CRS)."""
    spec = exports.FORMATS.get(fmt)
    if spec is None:
        return plain_error(
            _("Unknown export format %(format)s (known: %(known)s).")
            % {"format": fmt, "known": ", ".join(exports.FORMATS)}
        )
    folder = Path(getattr(settings, "FILE_UPLOAD_TEMP_DIR", None) or tempfile.gettempdir())
    with tempfile.NamedTemporaryFile(prefix="sipanah-export-", suffix=spec.suffix, dir=folder, delete=False) as handle:
        path = Path(handle.name)
    path.unlink()  # only the unique name was wanted: the drivers create the file themselves
    try:
        exports.write_export(source, fmt=fmt, path=path, srid=srid)
        stream = path.open("rb")
    except exports.ExportError as exc:
        return plain_error(str(exc))
    finally:
        # The open handle keeps the data readable while FileResponse streams it in blocks; the name goes now.
        path.unlink(missing_ok=True)
    name = f"{stem}-epsg{srid}{spec.suffix}"
    return FileResponse(stream, as_attachment=True, filename=name, content_type=spec.content_type)


def _job_for(request: HttpRequest, pk: int) -> ImportJob:
    job = get_object_or_404(ImportJob.objects.select_related("user"), pk=pk)
    require(permissions.can_view_import(request.user, job), _("This import belongs to another user."))
    return job


@role_required(permissions.can_view_imports, gettext_lazy("Your role does not allow importing assets."))
def import_list(request: HttpRequest) -> HttpResponse:
    may_import = permissions.can_create_asset(request.user)
    if request.method == "POST":
        require(may_import, _("Your role does not allow importing assets."))
    form = None
    if may_import:
        form = ImportUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        job = jobs.job_create(
            user=request.user, upload=data["file"], layer=data["layer"], srid=data["srid"], repair=data["repair"],
            mapping=form.mapping(), strict=data["strict"], update_mode=data["update_mode"],
        )  # fmt: skip
        return redirect("import-detail", pk=job.pk)
    visible = ImportJob.objects.select_related("user")
    if not permissions.can_view_all_imports(request.user):
        visible = visible.filter(user=request.user)
    waiting = request.GET.get("waiting") == "1"  # the work queue's link: checked files waiting for confirmation
    if waiting:
        visible = jobs.awaiting_confirmation(visible)
    return render(request, "assets/import_list.html", {"form": form, "jobs": visible[:50], "waiting": waiting})


def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The check's preview (counts, updates before → after, overlaps, map, problems) with the confirmation and the
    options to check again (column mapping, strict, what an update may overwrite); after the import, its assets."""
    job = _job_for(request, pk)
    may_confirm = permissions.can_confirm_import(request.user, job)
    report = job.report or {}
    may_recheck = (
        may_confirm and not job.commit and job.status in (ImportJob.Status.PREVIEWED, ImportJob.Status.REFUSED)
    )
    options = None
    if may_recheck:
        initial = {"strict": job.strict, "update_mode": job.update_mode}
        data = request.POST if request.method == "POST" and request.POST.get("action") == "recheck" else None
        options = ImportOptionsForm(data, user=request.user, columns=report.get("columns", []), initial=initial)
    if request.method == "POST":
        require(may_confirm, _("Your role does not allow importing assets."))
        if request.POST.get("action") == "recheck":
            require(options is not None, _("Only a checked file that was not imported can be checked again."))
            if options.is_valid():
                try:
                    preview.recheck(job, options, user=request.user)
                except (ValueError, ImportFileError) as exc:
                    messages.error(request, str(exc))
                else:
                    return redirect("import-detail", pk=job.pk)
            else:
                messages.error(request, _("The options could not be used: %(errors)s") % {"errors": options.errors})
        else:
            try:
                jobs.job_confirm(job=job)
            except ValueError as exc:
                messages.error(request, str(exc))
            return redirect("import-detail", pk=job.pk)
    context = {
        "job": job,
        "may_confirm": may_confirm,
        "report": report,
        "options": options,
        "progress": jobs.read_progress(job),
        "active": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
        **preview.page(job, report, request.GET),
    }
    return render(request, "assets/import_detail.html", context)


def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """The import's column mapping as a mapping file (``import_assets --mapping`` reads it)."""
    job = _job_for(request, pk)
    return preview.mapping_download(job.mapping, f"sipanah-mapping-import-{job.pk}.json")


@role_required(permissions.can_view_imports, gettext_lazy("Your role does not allow importing assets."))
def agency_mapping(request: HttpRequest, agency: int) -> HttpResponse:
    """An agency's saved column mapping as a mapping file."""
    saved = jobs.saved_mapping(agency)
    if saved is None:
        return plain_error(_("No column mapping is saved for this agency."), status=404)
    return preview.mapping_download(saved.mapping, f"sipanah-mapping-{saved.agency.code}.json")


def import_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = _job_for(request, pk)
    progress = jobs.read_progress(job)
    return JsonResponse({
        "status": job.status,
        "status_label": job.get_status_display(),
        "done": progress.get("done", job.progress_done),
        "total": progress.get("total", job.progress_total),
        "created": job.created,
        "updated": job.updated,
        "errors": job.error_count,
    })  # fmt: skip


def import_file(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """The import's original file, for its uploader, BPKAD, auditors and admins (assets/private_files.py)."""
    job = _job_for(request, pk)
    return private_files.file_response(job.file, filename=job.original_name)


@role_required(permissions.can_create_asset, gettext_lazy("Your role does not allow entering parcels."))
@require_POST
def geometry_check(request: HttpRequest) -> JsonResponse:
    """The parcel widget's check before saving (assets.transfer.outlines): 200 with the geometry, its area, its
    problems, its overlaps and a survey file's outlines; 400 with the errors for input that cannot be read."""
    try:
        answer = outlines.check_input(request.POST, request.FILES)
    except outlines.CheckRefused as exc:
        return JsonResponse({"errors": [{"message": str(exc), "location": None}]}, status=400)
    return JsonResponse(answer.as_json())


def _own_print_job(request: HttpRequest, pk: int) -> PrintJob:
    job = get_object_or_404(PrintJob, pk=pk)
    require(job.user_id == request.user.pk or permissions.can_edit_all(request.user))
    return job


@role_required(permissions.can_view_register)
def print_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A printed output queued for the worker: its status (the page reloads itself while it waits), then the file.
    Whoever asked for it, and BPKAD, may open it."""
    job = _own_print_job(request, pk)
    return render(request, "assets/print_job.html", {"job": job, "waiting": job.status in ("queued", "running")})


@role_required(permissions.can_view_register)
def print_job_file(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_print_job(request, pk)
    if job.status != PrintJob.Status.DONE or not job.file:
        raise Http404
    return file_response(job.file, filename=job.filename or f"sipanah-{job.kind}-{job.pk}.pdf")
