"""What the audit room prints in the background (assets.transfer.print_jobs): the whole audit report."""

from __future__ import annotations

from django.http import QueryDict
from django.utils import timezone

from assets.audit import exports, findings, report
from assets.register.models import User
from assets.register.reads import RegisterSelection
from assets.transfer.print_jobs import printer

ROWS_PER_PAGE = 30  # appendix rows on an A4 landscape page, as report_pdf.html lays them out
FRONT_PAGES = 6  # cover, summary, parameters, totals, breakdowns, map


def estimated_pages(results: dict[str, list[findings.FindingRow]]) -> int:
    return FRONT_PAGES + sum(len(rows) for rows in results.values()) // ROWS_PER_PAGE


@printer("audit-report")
def audit_report(params: QueryDict, user: User) -> tuple[bytes, str]:
    options = findings.FindingOptions.from_params(params)
    selection = RegisterSelection.from_params(params)
    assets = selection.states(with_geom=True)
    results = findings.run_all(assets, options=options, as_of=selection.as_of)
    context = report.report_context(user=user, selection=selection, assets=assets, results=results, options=options)
    day = (selection.as_of or timezone.localdate()).isoformat()
    return exports.pdf_bytes(context), f"sipanah-audit-{day}.pdf"
