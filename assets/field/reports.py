"""The campaign's reports: the hasil inventarisasi (each parcel's KIB A columns with the check result), the campaign
summary, as XLSX and PDF, and the berita acara per team with signatures (assets.register.signatories)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from assets.field.models import Assignment, Campaign, FieldResult, Found, Occupation, Team
from assets.lib import cells, formats
from assets.lib.printing import pdf_from_template
from assets.register import geo, place
from assets.register.models import Signatory
from assets.register.signatories import signature_block


@dataclass
class Row:
    assignment: Assignment
    result: FieldResult | None


def rows(campaign: Campaign, team: Team | None = None) -> list[Row]:
    """Every assigned parcel in walking order, with its latest result (None: not visited)."""
    assignments = Assignment.objects.filter(campaign=campaign).select_related(
        "asset__agency", "asset__kelurahan", "team"
    )
    if team is not None:
        assignments = assignments.filter(team=team)
    latest: dict[int, FieldResult] = {}
    for result in FieldResult.objects.filter(assignment__campaign=campaign).order_by("received_at", "pk"):
        latest[result.assignment_id] = result
    return [Row(a, latest.get(a.pk)) for a in assignments.order_by("team__name", "order", "pk")]


def summary(report_rows: list[Row]) -> dict[str, Any]:
    """Found, partly, not found, not visited, occupied by others or disputed, boundaries corrected and their area."""
    results = [r.result for r in report_rows if r.result is not None]
    corrected = [r.boundary for r in results if r.boundary is not None]
    return {
        "parcels": len(report_rows),
        "visited": len(results),
        "not_visited": len(report_rows) - len(results),
        "found": sum(r.found == Found.FOUND for r in results),
        "partly": sum(r.found == Found.PARTLY for r in results),
        "not_found": sum(r.found == Found.NOT_FOUND for r in results),
        "occupied": sum(r.occupation in (Occupation.PIHAK_LAIN, Occupation.SENGKETA) for r in results),
        "corrected": len(corrected),
        "corrected_area_m2": sum(geo.geodesic_area_m2(g) or 0.0 for g in corrected),
    }


def header() -> list[str]:
    return [
        _("No."), _("Team"), _("Kode Barang"), _("Nomor Register"), _("Nama Barang"), _("Letak / Alamat"),
        _("Kelurahan"), _("Luas (M2)"), _("Result"), _("Condition"), _("Use found"), _("Occupation"), _("Patok"),
        _("Latitude"), _("Longitude"), _("Accuracy (m)"), _("Boundary corrected"), _("Notes"), _("Review"),
    ]  # fmt: skip


def values(number: int, row: Row) -> list[Any]:
    asset, r = row.assignment.asset, row.result
    patok = "" if r is None or r.patok is None else (_("yes") if r.patok else _("no"))
    return [
        number, row.assignment.team.name, asset.kode_barang, asset.nomor_register, asset.nama_barang, asset.alamat,
        asset.kelurahan.name if asset.kelurahan else "", float(asset.luas_kib_m2) if asset.luas_kib_m2 else None,
        r.get_found_display() if r else _("not visited"), r.get_condition_display() if r else "", r.use if r else "",
        r.get_occupation_display() if r else "", patok, r.lat if r else None, r.lon if r else None,
        r.accuracy_m if r else None, (_("yes") if r and r.boundary else ""), r.notes if r else "",
        r.get_review_display() if r else "",
    ]  # fmt: skip


def xlsx(campaign: Campaign) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Hasil inventarisasi")[:31])
    sheet.append(cells.xlsx_row(sheet, header()))
    report_rows = rows(campaign)
    for number, row in enumerate(report_rows, start=1):
        sheet.append(cells.xlsx_row(sheet, values(number, row)))
    totals = book.create_sheet(_("Summary")[:31])
    for key, value in summary(report_rows).items():
        totals.append(cells.xlsx_row(totals, [key, value]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _signatures(campaign: Campaign) -> Any:
    if campaign.agency is not None:
        roles = (Signatory.Role.PENGURUS_BARANG, Signatory.Role.PENGGUNA_BARANG)
    else:
        roles = (Signatory.Role.PENGURUS_BARANG_PENGELOLA, Signatory.Role.KEPALA_BPKAD)
    return signature_block(roles, agency=campaign.agency, on=timezone.localdate())


def pdf(campaign: Campaign) -> bytes:
    report_rows = rows(campaign)
    totals = summary(report_rows)
    totals["corrected_area"] = formats.area(totals["corrected_area_m2"])
    return pdf_from_template("field/report_pdf.html", {
        "city": place.city(), "campaign": campaign, "header": header(), "totals": totals,
        "lines": [values(n, row) for n, row in enumerate(report_rows, start=1)], "signatures": _signatures(campaign),
        "printed_note": _("Sipanah · hasil inventarisasi %(name)s") % {"name": campaign.name},
    })  # fmt: skip


def berita_acara(team: Team) -> bytes:
    campaign = team.campaign
    team_rows = rows(campaign, team)
    return pdf_from_template("field/berita_acara_pdf.html", {
        "city": place.city(), "campaign": campaign, "team": team, "members": list(team.members.order_by("username")),
        "totals": summary(team_rows), "signatures": _signatures(campaign), "today": timezone.localdate(),
        "printed_note": _("Sipanah · berita acara inventarisasi %(team)s") % {"team": team.name},
    })  # fmt: skip
