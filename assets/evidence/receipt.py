"""The custody receipt (tanda terima) of an original certificate, as PDF with WeasyPrint (as the audit report)."""

from __future__ import annotations

from django.template.loader import render_to_string

from assets.evidence.models import CustodyEvent
from assets.register import place


def receipt_pdf(event: CustodyEvent) -> bytes:
    from weasyprint import HTML  # imported here: WeasyPrint loads Pango at import

    html = render_to_string("evidence/receipt_pdf.html", {"event": event, "city": place.city()})
    return bytes(HTML(string=html).write_pdf())
