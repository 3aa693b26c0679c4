"""The berita acara rekonsiliasi of a run: a PDF (print/base.html, signature block for both sides) and an XLSX
with the same content (totals by agency, differences, decisions, open items)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from assets.ledger import selectors
from assets.ledger.models import Category, ReconciliationRun
from assets.lib.cells import xlsx_row
from assets.lib.printing import pdf_from_template
from assets.register import place
from assets.register.models import Signatory
from assets.register.signatories import SignatureBlock, Slot, signature_block

MAX_LISTED = 1000  # lines listed one by one in the PDF (the XLSX lists every one)


@dataclass(frozen=True)
class Content:
    run: ReconciliationRun
    counts: list[selectors.CategoryCount]
    totals: list[selectors.AgencyTotals]
    total: selectors.AgencyTotals
    differences: list[tuple[Any, str, str, str]]  # (line, field label, official, Sipanah now)
    decisions: list[Any]
    open_items: list[Any]
    open_total: int


def content(run: ReconciliationRun, *, limit: int | None = MAX_LISTED) -> Content:
    totals = selectors.totals_by_agency(run)
    total = selectors.AgencyTotals(_("Total"))
    for row in totals:
        total.official_count += row.official_count
        total.official_value += row.official_value
        total.sipanah_count += row.sipanah_count
        total.sipanah_value += row.sipanah_value
    differing = selectors.items(run, Category.DIFFERS)[:limit] if limit else selectors.items(run, Category.DIFFERS)
    differing = list(differing)
    assets = {r.id: r for r in selectors.register_records(pks=[line.asset_id for line in differing])}
    differences = []
    for line in differing:
        official = selectors.official_record(line.official) if line.official else None
        asset = assets.get(line.asset_id)
        for name in line.differences:
            differences.append(
                (
                    line,
                    str(selectors.FIELD_LABELS[name]),
                    selectors.record_value(official, name) if official else "—",
                    selectors.record_value(asset, name) if asset else "—",
                )
            )
    decisions = selectors.decisions(run)
    open_items = selectors.open_items(run)
    return Content(
        run=run,
        counts=selectors.counts(run),
        totals=totals,
        total=total,
        differences=differences,
        decisions=list(decisions[:limit] if limit else decisions),
        open_items=list(open_items[:limit] if limit else open_items),
        open_total=open_items.count(),
    )


def signatures() -> SignatureBlock:
    """BPKAD's side (Kepala BPKAD, Pengurus Barang Pengelola) and a blank slot for the BMD system's administrator."""
    block = signature_block([Signatory.Role.KEPALA_BPKAD, Signatory.Role.PENGURUS_BARANG_PENGELOLA])
    bmd = Slot(caption=_("BMD system administrator (SIMDA BMD / e-BMD)"), title="", name="", nip="")
    return SignatureBlock(place_and_date=block.place_and_date, slots=(bmd, *block.slots))


def pdf(run: ReconciliationRun) -> bytes:
    return pdf_from_template(
        "ledger/berita_acara_pdf.html",
        {
            "city": place.city(),
            "c": content(run),
            "signatures": signatures(),
            "today": timezone.localdate(),
            "max_listed": MAX_LISTED,
            "printed_note": _("Sipanah · reconciliation run #%(run)s") % {"run": run.pk},
        },
    )


def xlsx(run: ReconciliationRun) -> bytes:
    from openpyxl import Workbook

    c = content(run, limit=None)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Totals by agency"))
    sheet.append(
        xlsx_row(
            sheet,
            [
                _("Agency"),
                _("Official rows"),
                _("Official value (Rp)"),
                _("Sipanah assets"),
                _("Sipanah value (Rp)"),
                _("Difference in count"),
                _("Difference in value (Rp)"),
            ],
        )
    )
    for row in [*c.totals, c.total]:
        sheet.append(
            xlsx_row(
                sheet,
                [
                    row.agency,
                    row.official_count,
                    int(row.official_value),
                    row.sipanah_count,
                    int(row.sipanah_value),
                    row.count_difference,
                    int(row.value_difference),
                ],
            )
        )
    sheet = book.create_sheet(_("Categories"))
    sheet.append(xlsx_row(sheet, [_("Category"), _("Lines"), _("Open")]))
    for count in c.counts:
        sheet.append(xlsx_row(sheet, [count.label, count.count, count.open]))
    sheet = book.create_sheet(_("Differences"))
    sheet.append(
        xlsx_row(
            sheet,
            [
                _("Line"),
                _("Kode barang"),
                _("Register"),
                _("Asset"),
                _("Field"),
                _("Official value"),
                _("Sipanah value"),
            ],
        )
    )
    for line, label, official, sipanah in c.differences:
        row = line.official
        sheet.append(
            xlsx_row(
                sheet, [line.pk, row.kode_barang, row.nomor_register, str(line.asset or ""), label, official, sipanah]
            )
        )
    sheet = book.create_sheet(_("Decisions"))
    sheet.append(
        xlsx_row(
            sheet,
            [
                _("Line"),
                _("Field"),
                _("Decision"),
                _("Official value"),
                _("Sipanah value"),
                _("Reason"),
                _("User"),
                _("Decided at"),
            ],
        )
    )
    for d in c.decisions:
        sheet.append(
            xlsx_row(
                sheet,
                [
                    d.item_id,
                    d.field,
                    d.get_action_display(),
                    d.official_value,
                    d.sipanah_value,
                    d.reason,
                    str(d.user or ""),
                    timezone.localtime(d.created_at).replace(tzinfo=None),
                ],
            )
        )
    sheet = book.create_sheet(_("Open items"))
    sheet.append(xlsx_row(sheet, [_("Line"), _("Category"), _("Official row"), _("Asset"), _("Agency")]))
    for line in c.open_items:
        sheet.append(
            xlsx_row(
                sheet,
                [
                    line.pk,
                    line.get_category_display(),
                    str(line.official or ""),
                    str(line.asset or ""),
                    str(line.agency or ""),
                ],
            )
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def transfers_xlsx(rows: Any) -> bytes:
    """The transfers report of a period: every approved transfer effective in it."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Transfers"))
    sheet.append(
        xlsx_row(
            sheet,
            [
                _("Effective date"),
                _("Kind"),
                _("Kode barang"),
                _("Register"),
                _("Asset"),
                _("From agency"),
                _("To agency"),
                _("Decree (SK) number"),
                _("Decree (SK) date"),
                _("Reason"),
                _("Approved by"),
            ],
        )
    )
    for t in rows:
        sheet.append(
            xlsx_row(
                sheet,
                [
                    t.effective_date,
                    t.get_kind_display(),
                    t.asset.kode_barang,
                    t.asset.nomor_register,
                    t.asset.nama_barang,
                    t.from_agency.name,
                    t.to_agency.name,
                    t.sk_nomor,
                    t.sk_tanggal,
                    t.reason,
                    str(t.decided_by or ""),
                ],
            )
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
