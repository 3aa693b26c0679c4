"""The printed audit report: what it says and in what order (summary, parameters, signatures, appendices).

The findings are assets.audit.findings'; this module only gathers their numbers for print/base.html
(letterhead, page numbers, repeated table headers, rows never split) through assets.lib.printing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from assets.audit import dashboard, exports, findings, svg
from assets.register import history, place
from assets.register.models import CertificateStatus, Signatory
from assets.register.reads import RegisterSelection
from assets.register.signatories import SignatureBlock, Slot, signature_block

# The findings an auditor breaks down by agency on the summary page, with their short column headings.
BY_AGENCY = ("uncertified", "stuck", "area-mismatch", "kib-area", "location", "disputes")


def _short_titles() -> dict[str, str]:
    return {
        "uncertified": _("Uncertified"),
        "stuck": _("Stuck"),
        "area-mismatch": _("Area ≠ GIS"),
        "kib-area": _("KIB ≠ certificate"),
        "location": _("No or approximate location"),
        "disputes": _("In dispute"),
    }


@dataclass
class AgencyRow:
    agency: str
    assets: int = 0
    nilai: Decimal = Decimal(0)
    counts: dict[str, int] = dataclasses.field(default_factory=dict)  # finding slug -> distinct assets
    uncertified_nilai: Decimal = Decimal(0)

    def cells(self) -> list[int]:
        return [self.counts.get(slug, 0) for slug in BY_AGENCY]


def by_agency(
    assets: list[history.AssetState], results: dict[str, list[findings.FindingRow]], names: history.Names
) -> tuple[list[AgencyRow], AgencyRow]:
    """Per agency: its assets and value in the register, and how many of them each main finding lists."""
    rows: dict[str, AgencyRow] = {}

    def row(agency_id: int) -> AgencyRow:
        label = names.agency(agency_id)
        return rows.setdefault(label, AgencyRow(label))

    for a in assets:
        r = row(a.agency_id)
        r.assets += 1
        r.nilai += a.nilai_perolehan
    for slug in BY_AGENCY:
        seen: dict[str, set[int]] = defaultdict(set)
        for finding in results.get(slug, []):
            seen[names.agency(finding.asset.agency_id)].add(finding.asset.id)
        for label, ids in seen.items():
            rows.setdefault(label, AgencyRow(label)).counts[slug] = len(ids)
    for finding in results.get("uncertified", []):
        row(finding.asset.agency_id).uncertified_nilai += finding.asset.nilai_perolehan
    ordered = sorted(rows.values(), key=lambda r: (-r.assets, r.agency))
    total = AgencyRow(_("Total"))
    for r in ordered:
        total.assets += r.assets
        total.nilai += r.nilai
        total.uncertified_nilai += r.uncertified_nilai
        for slug, count in r.counts.items():
            total.counts[slug] = total.counts.get(slug, 0) + count
    return ordered, total


def filters_text(selection: RegisterSelection) -> list[tuple[str, str]]:
    """The register filters of the report, as (label, value) in words."""
    filterset = selection.filterset()
    if not filterset.form.is_valid():
        return []
    described = []
    for name, field in filterset.form.fields.items():
        value = filterset.form.cleaned_data.get(name)
        if value in (None, "", [], ()):
            continue
        choices = dict(getattr(field, "choices", ()) or ())
        values = value if isinstance(value, list | tuple) else [value]
        described.append((str(field.label or name), ", ".join(str(choices.get(v, v)) for v in values)))
    return described


def signatures(user: Any, on: dt.date) -> SignatureBlock:
    """Prepared by the user who printed the report; known by the head of BPKAD (the Signatory records)."""
    block = signature_block([Signatory.Role.KEPALA_BPKAD], on=on)
    head = block.slots[0]
    prepared = Slot(caption=_("Prepared by"), title="", name=user.get_full_name() or user.get_username(), nip="")
    known = _("Known by")  # "Mengetahui,"
    known_by = dataclasses.replace(head, caption=f"{known}, {head.caption}")
    return dataclasses.replace(block, slots=(prepared, known_by))


def report_context(
    *,
    user: Any,
    selection: RegisterSelection,
    assets: list[history.AssetState],
    results: dict[str, list[findings.FindingRow]],
    options: findings.FindingOptions,
    generated: dt.datetime | None = None,
) -> dict[str, Any]:
    """Everything report_pdf.html prints."""
    generated = generated or timezone.localtime()
    names = history.names()
    as_of = selection.as_of
    parameters = options.parameters()
    summary = exports.summary_rows(results)
    sections = []
    appendix: dict[str, int] = {}  # a finding with rows gets an appendix; one with none only its summary line
    for slug, rows in results.items():
        if not rows:
            continue
        appendix[slug] = len(appendix) + 1
        spec = findings.FINDINGS[slug]
        detail = slug not in exports.TABLES_WITHOUT_DETAIL
        sections.append(
            {
                "number": appendix[slug],
                "slug": slug,
                "spec": spec,
                "count": len(rows),
                "assets": len({r.asset.id for r in rows}),
                "header": exports.display_header(slug, detail=detail),
                "rows": list(exports.display_rows(slug, rows, names, detail=detail)),
                "parameters": [p for p in parameters if slug in p.findings],
            }
        )
    layers = [(str(findings.FINDINGS[s].title), [r.asset.wkb for r in rows]) for s, rows in results.items() if rows]
    agencies, agency_total = by_agency(assets, results, names)
    day = as_of or timezone.localdate()
    return {
        "city": place.city(),
        "as_of": as_of,
        "as_of_text": date_format(day, "j F Y"),
        "live": as_of is None,
        "generated": date_format(timezone.localtime(generated), "j F Y H:i"),
        "prepared_by": user.get_full_name() or user.get_username(),
        "filters": filters_text(selection),
        "parameters": parameters,
        "summary": [(row, appendix.get(row.slug)) for row in summary],
        "totals": history.snapshot_totals(assets),
        "by_kecamatan": dashboard.breakdown(assets, "kecamatan", names),
        "statuses": CertificateStatus.choices,
        "by_agency": agencies,
        "agency_total": agency_total,
        "agency_columns": [_short_titles()[slug] for slug in BY_AGENCY],
        "map_svg": mark_safe(svg.findings_map(layers)),  # noqa: S308 - built with escape() throughout
        "sections": sections,
        "signatures": signatures(user, timezone.localdate()),
        "printed_note": " · ".join(("Sipanah", _("Land asset audit report"), date_format(day, "j F Y"))),
    }
