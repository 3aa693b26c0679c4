"""The custody receipt (tanda terima) of an original certificate, as PDF (assets.lib.printing)."""

from __future__ import annotations

from assets.evidence.models import CustodyEvent
from assets.lib.printing import pdf_from_template
from assets.register import place


def receipt_pdf(event: CustodyEvent) -> bytes:
    return pdf_from_template("evidence/receipt_pdf.html", {"event": event, "city": place.city()})
