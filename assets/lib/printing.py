"""PDF from a Django template with WeasyPrint: the one place printed outputs are rendered.

Templates extend ``print/base.html`` (A4, letterhead, page numbers, table headers repeated on every page, rows
never split across pages) and include ``print/_signatures.html`` for a signature block.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string


def pdf_from_template(template: str, context: dict[str, Any]) -> bytes:
    """Render ``template`` with ``context`` and return the PDF. Static files referenced by a relative URL
    resolve against the project directory (no network: WeasyPrint fetches nothing from outside)."""
    from weasyprint import HTML  # imported here: WeasyPrint loads Pango at import, only printed outputs need it
    from weasyprint.urls import URLFetcher

    local_only = URLFetcher(allowed_protocols=("data", "file"))  # printed outputs load nothing from the network
    html = render_to_string(template, context)
    return bytes(HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=local_only).write_pdf())
