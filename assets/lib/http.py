"""Error answers that never echo input as markup: every 4xx text a view builds from a request goes out as plain
text (or JSON), so a parameter carrying HTML cannot become part of a page."""

from __future__ import annotations

from django.http import HttpResponse

TEXT = "text/plain; charset=utf-8"


def plain_error(message: str, *, status: int = 400) -> HttpResponse:
    """A plain-text error response (the browser shows it as text, whatever it contains)."""
    response = HttpResponse(message, status=status, content_type=TEXT)
    response["X-Content-Type-Options"] = "nosniff"
    return response
