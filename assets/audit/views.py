"""Audit pages: findings (tables, maps, CSV/XLSX, the PDF report), dashboard, activity log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assets.audit import activity, dashboard, exports, findings, printers, report, svg
from assets.lib import cells, formats
from assets.register import history, permissions
from assets.register.models import CertificateStatus
from assets.register.permissions import require, role_required
from assets.register.reads import RegisterSelection, SelectionError
from assets.register.views import bad_request
from assets.transfer import print_jobs

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    return bad_request(request, message, back=reverse("audit-findings"))


def _query(request: HttpRequest, *drop: str) -> str:
    query = request.GET.copy()
    for key in ("page", "format", *drop):
        query.pop(key, None)
    return query.urlencode()


def _common(request: HttpRequest, *, with_geom: bool) -> tuple[dt.date | None, list[history.AssetState]]:
    selection = RegisterSelection.from_params(request.GET)
    return selection.as_of, selection.states(with_geom=with_geom)


def _filename(stem: str, as_of: dt.date | None, ext: str) -> str:
    day = as_of.isoformat() if as_of else timezone.localdate().isoformat()
    return f"sipanah-{stem}-{day}.{ext}"


# --- Findings -------------------------------------------------------------------------------------------


@role_required(permissions.can_view_findings)
def findings_index(request: HttpRequest) -> HttpResponse:
    try:
        options = findings.FindingOptions.from_params(request.GET)
        as_of, assets = _common(request, with_geom=True)
    except (ValueError, SelectionError) as exc:
        return _bad_request(request, str(exc))
    results = findings.run_all(assets, options=options, as_of=as_of)
    cards = [
        {"spec": findings.FINDINGS[slug], "rows": len(rows), "assets": len({r.asset.id for r in rows})}
        for slug, rows in results.items()
    ]
    layers = [
        (str(findings.FINDINGS[slug].title), [r.asset.wkb for r in rows]) for slug, rows in results.items() if rows
    ]
    context = {
        "cards": cards,
        "as_of": as_of,
        "query": _query(request),
        "asset_count": len(assets),
        "map_svg": mark_safe(svg.findings_map(layers)),  # noqa: S308 - built with escape() throughout
        "can_export": permissions.can_export(request.user),
        "options": options,
    }
    return render(request, "audit/findings_index.html", context)


@role_required(permissions.can_view_findings)
def finding_detail(request: HttpRequest, slug: str) -> HttpResponse:
    spec = findings.FINDINGS.get(slug)
    if spec is None:
        raise Http404(_("No such finding."))
    try:
        options = findings.FindingOptions.from_params(request.GET)
        as_of, assets = _common(request, with_geom=True)
    except (ValueError, SelectionError) as exc:
        return _bad_request(request, str(exc))
    rows = findings.run_finding(slug, assets, options=options, as_of=as_of)
    names = history.names()
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        require(permissions.can_export(request.user))
        if fmt == "csv":
            response = StreamingHttpResponse(
                exports.csv_lines(slug, rows, names), content_type="text/csv; charset=utf-8"
            )
        else:
            meta = exports.report_meta(user=request.user, as_of=as_of, options=options)
            response = FileResponse(exports.xlsx_file({slug: rows}, names, meta), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{_filename(slug, as_of, fmt)}"'
        return response
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    detail = slug not in exports.TABLES_WITHOUT_DETAIL
    table = list(zip(page.object_list, exports.display_rows(slug, page.object_list, names, detail=detail), strict=True))
    affected = {r.asset.id: r.asset.wkb for r in rows}
    if slug == "overlaps":
        affected.update({r.other.id: r.other.wkb for r in rows if r.other})
    context = {
        "spec": spec,
        "slug": slug,
        "page": page,
        "table": table,
        "header": exports.display_header(slug, detail=detail),
        "as_of": as_of,
        "options": options,
        "query": _query(request),
        "map_svg": mark_safe(svg.findings_map([(str(spec.title), affected.values())])),  # noqa: S308
        "can_export": permissions.can_export(request.user),
        "groups": findings.uncertified_by_agency_kecamatan(rows, names) if slug in findings.GROUPED_FINDINGS else None,
    }
    return render(request, "audit/finding_detail.html", context)


def _report_results(
    request: HttpRequest,
) -> tuple[RegisterSelection, findings.FindingOptions, list[history.AssetState], dict[str, list]]:
    options = findings.FindingOptions.from_params(request.GET)
    selection = RegisterSelection.from_params(request.GET)
    assets = selection.states(with_geom=True)
    return selection, options, assets, findings.run_all(assets, options=options, as_of=selection.as_of)


@role_required(permissions.can_export)
def report_xlsx(request: HttpRequest) -> HttpResponse:
    try:
        selection, options, _assets, results = _report_results(request)
    except (ValueError, SelectionError) as exc:
        return _bad_request(request, str(exc))
    meta = exports.report_meta(user=request.user, as_of=selection.as_of, options=options)
    response = FileResponse(exports.xlsx_file(results, history.names(), meta), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename("audit", selection.as_of, "xlsx")}"'
    return response


@role_required(permissions.can_export)
def report_pdf(request: HttpRequest) -> HttpResponse:
    """The printed report; one longer than SIPANAH_PRINT_INLINE_PAGES is printed by the worker instead."""
    try:
        selection, options, assets, results = _report_results(request)
    except (ValueError, SelectionError) as exc:
        return _bad_request(request, str(exc))
    pages = printers.estimated_pages(results)
    if pages > print_jobs.inline_pages():
        job = print_jobs.queue("audit-report", user=request.user, params=request.GET, pages=pages)
        return redirect("print-job", pk=job.pk)
    context = report.report_context(
        user=request.user, selection=selection, assets=assets, results=results, options=options
    )
    response = HttpResponse(exports.pdf_bytes(context), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename("audit", selection.as_of, "pdf")}"'
    return response


# --- Dashboard ------------------------------------------------------------------------------------------


def _dashboard_charts(request: HttpRequest) -> tuple[dt.date | None, list[history.AssetState], dict]:
    as_of, assets = _common(request, with_geom=False)

    def link(level: str, code: str) -> str:
        """The register list narrowed to the area, with the dashboard's own filters and date."""
        params = request.GET.copy()
        for key in ("page", "format", "kecamatan", "kelurahan"):
            params.pop(key, None)
        params[level] = code
        return f"{reverse('asset-list')}?{params.urlencode()}"

    return as_of, assets, dashboard.charts(assets, history.names(), as_of=as_of, link=link)


@role_required(permissions.can_view_findings)
def dashboard_page(request: HttpRequest) -> HttpResponse:
    try:
        as_of, assets, charts = _dashboard_charts(request)
    except (ValueError, SelectionError) as exc:
        return _bad_request(request, str(exc))
    names = history.names()
    unlocated = sum(1 for a in assets if not a.kecamatan_id)
    note = (
        _("Assets without a recorded location, not on this map: %(count)s") % {"count": formats.number(unlocated)}
        if unlocated
        else ""
    )
    drawn = {
        slug.replace("-", "_"): {
            "chart": chart,
            "wide": mark_safe(chart.svg(chart.wide)),  # noqa: S308 - built with escape() throughout
            "narrow": mark_safe(chart.svg(chart.narrow)),  # noqa: S308
            "table": [[_table_cell(v) for v in row] for row in chart.rows],
            "filename": _filename(f"dashboard-{slug}", as_of, "x")[:-2],
            "note": note if slug.startswith("share-") else "",
        }
        for slug, chart in charts.items()
    }
    context = {
        "as_of": as_of,
        "query": _query(request),
        "totals": history.snapshot_totals(assets),
        "unlocated": unlocated,
        "statuses": CertificateStatus.choices,
        "by_kecamatan": dashboard.breakdown(assets, "kecamatan", names),
        "by_agency": dashboard.breakdown(assets, "agency", names),
        "charts": drawn,
    }
    return render(request, "audit/dashboard.html", context)


def _table_cell(value: Any) -> str:
    if isinstance(value, float):
        return formats.number(value, 1)
    if isinstance(value, int):
        return formats.number(value)
    return formats.EMPTY if value is None else str(value)


@role_required(permissions.can_view_findings)
def dashboard_chart_svg(request: HttpRequest, slug: str) -> HttpResponse:
    """One chart of the dashboard as an SVG file (the page's PNG button draws this file onto a canvas)."""
    try:
        as_of, _assets, charts = _dashboard_charts(request)
    except (ValueError, SelectionError) as exc:
        return _bad_request(request, str(exc))
    chart = charts.get(slug)
    if chart is None:
        raise Http404(_("No such chart."))
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + chart.svg()
    response = HttpResponse(body, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{_filename(f"dashboard-{slug}", as_of, "svg")}"'
    return response


@role_required(permissions.can_view_findings)
def dashboard_xlsx(request: HttpRequest) -> HttpResponse:
    """The numbers of every dashboard chart, one sheet per chart."""
    try:
        as_of, _assets, charts = _dashboard_charts(request)
    except (ValueError, SelectionError) as exc:
        return _bad_request(request, str(exc))
    response = FileResponse(dashboard.xlsx_file(charts.values(), as_of=as_of), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename("dashboard", as_of, "xlsx")}"'
    return response


# --- Activity log ---------------------------------------------------------------------------------------

LOG_PAGE_LIMIT = 500


@role_required(permissions.can_view_findings)
def activity_log(request: HttpRequest) -> HttpResponse:
    try:
        flt = activity.LogFilter.from_params(request.GET)
    except ValueError as exc:
        return _bad_request(request, str(exc))
    if request.GET.get("format") == "csv":
        require(permissions.can_export(request.user))
        response = StreamingHttpResponse(_log_csv(activity.activity_log(flt)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{_filename("activity", None, "csv")}"'
        return response
    entries = activity.activity_log(flt, limit=LOG_PAGE_LIMIT)
    context = {
        "entries": entries,
        "flt": flt,
        "limit": LOG_PAGE_LIMIT,
        "query": _query(request),
        "can_export": permissions.can_export(request.user),
    }
    return render(request, "audit/activity_log.html", context)


# The log's kinds in words (the CSV's "Kind" column; the same words as the page's filter).
_LOG_KINDS = {"asset": gettext_lazy("Assets"), "certificate": gettext_lazy("Certificates"),
              "stage": gettext_lazy("Stage changes"), "document": gettext_lazy("Documents")}  # fmt: skip


def _log_csv(entries: list[activity.Activity]) -> Any:
    header = [_("Time"), _("Kind"), _("Action"), _("Asset id"), _("Object"), _("User"), _("Field"), _("Before"),
              _("After"), _("Note")]  # fmt: skip
    yield "\ufeff" + cells.csv_line(header)
    for e in entries:
        for field_name, before, after in e.changes or [("", "", "")]:
            kind = str(_LOG_KINDS.get(e.kind, e.kind))
            yield cells.csv_line([e.when.isoformat(), kind, e.action, e.asset_id or "", e.object_label, e.user,
                                  field_name, before, after, e.note])  # fmt: skip
