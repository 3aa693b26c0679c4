"""The public pages (/publik/, no login) and BPKAD's page of the reports received (/public-reports/, signed in).

Public views read only through assets.public.selectors / lookup; every one is rate-limited per address.
"""

from __future__ import annotations

from typing import Any

import shapely
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assets.lib.http import plain_error
from assets.lib.printing import pdf_from_template
from assets.maps import tiles
from assets.public import drawing, guards, lookup, selectors, services
from assets.public.forms import CoordinatesForm, FileForm, KelurahanForm, ReportForm
from assets.public.maps import public_map
from assets.public.models import PublicationPolicy, PublicLookup, PublicReport
from assets.register import permissions, place
from assets.register.permissions import role_required


def _config(mode: str) -> dict[str, Any]:
    """What js/sipanah-public.js needs: the mode ("lookup" on the home page, "pick" on a report form), the URL it
    asks and its words."""
    return {
        "mode": mode,
        "lookupUrl": reverse("public-point-lookup"),
        "labels": {
            "yes": _("Yes: this place touches land registered to the city."),
            "no": _("No: this place does not touch land the city has published."),
            "kelurahan": _("Kelurahan"),
            "kode": _("Kode barang"),
            "status": _("Certificate"),
            "contact": _("Contact"),
            "open": _("Open the answer to print it"),
            "asking": _("Checking…"),
            "failed": _("The answer could not be loaded; try again."),
            "picked": _("Place picked"),
        },
    }


def _too_many() -> HttpResponse:
    return plain_error(_("Too many requests from your address: wait a minute and try again."), status=429)


def _closed(request: HttpRequest) -> HttpResponse:
    return render(request, "public/closed.html", status=503)


@login_not_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not PublicationPolicy.current().enabled:
        return _closed(request)
    context = {
        "map": public_map(nonce=request.csp_nonce),  # type: ignore[attr-defined] - django-csp sets it
        "coordinates_form": CoordinatesForm(),
        "kelurahan_form": KelurahanForm(),
        "file_form": FileForm(),
        "public_config": _config("lookup"),
    }
    return render(request, "public/home.html", context)


@login_not_required
@require_GET
def point_lookup(request: HttpRequest) -> HttpResponse:
    """The map's click: JSON of the answer (and its code), for the side panel."""
    policy = PublicationPolicy.current()
    if not policy.enabled:
        return JsonResponse({"error": _("The public pages are closed.")}, status=503)
    if guards.over_limit(request, "lookup"):
        return JsonResponse(
            {"error": _("Too many requests from your address: wait a minute and try again.")}, status=429
        )
    try:
        question = lookup.point_question(request.GET.get("lon"), request.GET.get("lat"))
    except lookup.LookupRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    record = lookup.answer(question, policy)
    return JsonResponse({**record.answer, "code": record.code, "url": reverse("public-answer", args=[record.code])})


@login_not_required
@require_POST
def form_lookup(request: HttpRequest) -> HttpResponse:
    """The lookup forms (coordinates or file): the answer page, or the home page with the error by the field."""
    policy = PublicationPolicy.current()
    if not policy.enabled:
        return _closed(request)
    by_file = "file" in request.FILES
    if guards.over_limit(request, "upload" if by_file else "lookup"):
        return _too_many()
    coordinates_form = CoordinatesForm(None if by_file else request.POST)
    file_form = FileForm(request.POST, request.FILES) if by_file else FileForm()
    form = file_form if by_file else coordinates_form
    if form.is_valid():
        try:
            if by_file:
                question = lookup.file_question(form.cleaned_data["file"], form.cleaned_data.get("crs"))
            else:
                question = lookup.coordinates_question(form.cleaned_data["coordinates"], form.cleaned_data["crs"])
        except lookup.LookupRefused as exc:
            form.add_error("file" if by_file else "coordinates", str(exc))
        else:
            return redirect("public-answer", code=lookup.answer(question, policy).code)
    context = {
        "map": public_map(nonce=request.csp_nonce),  # type: ignore[attr-defined]
        "coordinates_form": coordinates_form,
        "kelurahan_form": KelurahanForm(),
        "file_form": file_form,
        "public_config": _config("lookup"),
    }
    return render(request, "public/home.html", context, status=400)


@login_not_required
@require_GET
def kelurahan_lookup(request: HttpRequest) -> HttpResponse:
    policy = PublicationPolicy.current()
    if not policy.enabled:
        return _closed(request)
    if guards.over_limit(request, "lookup"):
        return _too_many()
    form = KelurahanForm(request.GET)
    if not form.is_valid():
        return redirect("public-home")
    try:
        summary = lookup.kelurahan_answer(form.cleaned_data["kelurahan"], policy)
    except lookup.LookupRefused as exc:
        return plain_error(str(exc))
    return render(request, "public/kelurahan.html", {"summary": summary, "contact": policy.contact})


def _answer_context(record: PublicLookup) -> dict[str, Any]:
    answer = record.answer
    asked = shapely.geometry.mapping(shapely.from_wkb(bytes(record.query_geom.wkb)))
    return {
        "record": record,
        "answer": answer,
        "svg": drawing.answer_svg(asked, answer["parcels"]),
        "city": place.city(),
    }


@login_not_required
@require_GET
def answer_page(request: HttpRequest, code: str) -> HttpResponse:
    record = get_object_or_404(PublicLookup, code=code)
    return render(request, "public/answer.html", _answer_context(record))


@login_not_required
@require_GET
def answer_pdf(request: HttpRequest, code: str) -> HttpResponse:
    if guards.over_limit(request, "lookup"):
        return _too_many()
    record = get_object_or_404(PublicLookup, code=code)
    context = {**_answer_context(record), "verify_url": request.build_absolute_uri(reverse("public-verify"))}
    response = HttpResponse(pdf_from_template("public/answer_pdf.html", context), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="cek-tanah-{record.code}.pdf"'
    return response


@login_not_required
@require_GET
def verify(request: HttpRequest) -> HttpResponse:
    """BPKAD (or anyone holding a printed answer) checks its code: the answer as it was given, and when."""
    code = (request.GET.get("kode") or "").strip().upper()
    record = PublicLookup.objects.filter(code=code).first() if code else None
    if code and guards.over_limit(request, "lookup"):
        return _too_many()
    return render(request, "public/verify.html", {"code": code, "record": record})


@login_not_required
@require_GET
def tile(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    """The public outline tiles. ETag from the register's version and the publication's (an asset hidden or the
    policy changed shows at the next revalidation); low zooms kept in the cache with the version they were built
    from, as the signed-in tiles (assets.maps.views.asset_tile)."""
    if guards.over_limit(request, "tile"):
        return _too_many()
    try:
        tiles.check_tile(z, x, y)
    except tiles.TileOutOfRange as exc:
        raise Http404(str(exc)) from None
    revalidate = [tag.strip() for tag in request.META.get("HTTP_IF_NONE_MATCH", "").split(",") if tag.strip()]
    key = tiles.cache_key(z=z, x=x, y=y, query="public") if z <= tiles.CACHE_MAX_ZOOM else None
    cached = cache.get(key) if key else None
    # PostGIS, a tile to build (not a revalidation, not from the cache): the state and the tile of the whole
    # register in one statement, the tile used only when nothing is hidden (one round trip, as the signed-in tiles).
    build = connection.vendor == "postgresql" and z >= tiles.POINT_ZOOM and not (revalidate or cached)
    state, data = selectors.publication_state(tiles.outline_sql(None, z=z, x=x, y=y) if build else None)
    version = state.version
    etag = tiles.tile_etag(version=version, z=z, x=x, y=y, query="public")
    if etag in revalidate:
        response = HttpResponse(status=304)
    else:
        if data is None and cached and cached[0] == version:
            data = cached[1]
        if data is None:
            if not state.enabled:
                data = b""
            elif state.hidden:
                data = tiles.outline_tile(selectors.published_assets(), z=z, x=x, y=y)
            else:  # everything located and live is published: the register's own fast paths (cells, no ORM)
                data = tiles.outline_tile(None, z=z, x=x, y=y)
            if key:
                cache.set(key, (version, data), timeout=24 * 3600)
        response = HttpResponse(data, content_type=tiles.MEDIA_TYPE)
    response["ETag"] = etag
    response["Cache-Control"] = "public, no-cache"  # revalidate every time: a hidden parcel goes at once
    return response


@login_not_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, kind: str) -> HttpResponse:
    """Report an occupation (``okupasi``) or request the use of a parcel (``sewa``)."""
    if kind not in PublicReport.Kind.values:
        raise Http404
    if not PublicationPolicy.current().enabled:
        return _closed(request)
    if request.method == "POST":
        if guards.over_limit(request, "form"):
            return _too_many()
        form = ReportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data.get("lon") is not None and data.get("lat") is not None:
                    question = lookup.point_question(str(data["lon"]), str(data["lat"]))
                else:
                    question = lookup.coordinates_question(data["coordinates"], "4326")
                photo = data.get("photo")
                sent = services.receive_report(
                    kind=kind,
                    location=Point(question.geom.x, question.geom.y, srid=4326),
                    description=data["description"],
                    contact_name=data["contact_name"],
                    contact_phone=data.get("contact_phone", ""),
                    contact_email=data.get("contact_email", ""),
                    photo_name=photo.name if photo else "",
                    photo_data=photo.read() if photo else b"",
                )
            except lookup.LookupRefused as exc:
                form.add_error("coordinates", str(exc))
            except services.ReportRefused as exc:
                form.add_error("photo", str(exc))
            else:
                return redirect("public-report-status", token=sent.token)
        status = 400
    else:
        form, status = ReportForm(), 200
    context = {
        "form": form,
        "kind": kind,
        "kind_label": PublicReport.Kind(kind).label,
        "map": public_map(nonce=request.csp_nonce),  # type: ignore[attr-defined]
        "public_config": _config("pick"),
    }
    return render(request, "public/report_form.html", context, status=status)


@login_not_required
@require_GET
def report_status(request: HttpRequest, token: str) -> HttpResponse:
    sent = get_object_or_404(PublicReport, token=token)
    return render(request, "public/report_status.html", {"report": sent})


# --- BPKAD's side (signed in) ----------------------------------------------------------------------------------


@role_required(permissions.can_handle_public_reports)
def reports_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    qs = PublicReport.objects.all()
    if status in PublicReport.Status.values:
        qs = qs.filter(status=status)
    context = {"reports": qs[:500], "statuses": PublicReport.Status.choices, "status": status}
    return render(request, "public/reports_list.html", context)


@role_required(permissions.can_handle_public_reports)
@require_http_methods(["GET", "POST"])
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sent = get_object_or_404(PublicReport, pk=pk)
    if request.method == "POST":
        status = request.POST.get("status", "")
        if status not in PublicReport.Status.values:
            messages.error(request, _("Choose a status."))
        else:
            services.set_status(sent, status=status, note=request.POST.get("note", "")[:4000], user=request.user)  # type: ignore[arg-type]
            messages.success(request, _("The status was saved; the sender sees it through their link."))
            return redirect("public-report-detail", pk=sent.pk)
    nearby = selectors.parcels_touching(
        Point(sent.location.x, sent.location.y, srid=4326).buffer(0.0005), PublicationPolicy(enabled=True)
    )
    context = {"report": sent, "statuses": PublicReport.Status.choices, "nearby": len(nearby)}
    return render(request, "public/report_detail.html", context)


@role_required(permissions.can_handle_public_reports)
def report_photo(request: HttpRequest, pk: int) -> HttpResponse:
    from assets.lib.private_files import file_response

    sent = get_object_or_404(PublicReport, pk=pk)
    if not sent.photo:
        raise Http404
    return file_response(sent.photo, filename=f"laporan-{sent.pk}{sent.photo.name[-4:]}")
