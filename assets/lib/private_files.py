"""Uploaded files (MEDIA_ROOT) handed out by a view that has checked who asks: nothing under MEDIA_ROOT has a URL.

Behind nginx (``SIPANAH_X_ACCEL_REDIRECT=1``, docker-compose.yml) the answer is an empty response whose
``X-Accel-Redirect`` header names the file under nginx's ``internal`` location (``SIPANAH_X_ACCEL_PREFIX``), and nginx
sends it (no Python process held for the download; the location cannot be requested from outside). Otherwise
(``make run``, tests) Django streams the file itself. Either way the headers are the same: an attachment named after
the original file, never sniffed, never cached by a shared cache.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header


def media_path(field_file: FieldFile) -> Path:
    """The file's real path, which must lie inside MEDIA_ROOT (after symlinks): otherwise 404, never its content."""
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        path = Path(field_file.path).resolve()  # the storage refuses names with ".." or absolute paths
    except (SuspiciousFileOperation, ValueError) as exc:
        raise Http404("No such file.") from exc
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("No such file.")
    return path


def file_response(
    field_file: FieldFile, *, filename: str, inline: bool = False, content_type: str | None = None
) -> HttpResponse | FileResponse:
    """The file as an attachment (or ``inline``, for a viewer on the page: then ``content_type`` should be the one
    read from the file's bytes, never guessed from a name)."""
    path = media_path(field_file)
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response: HttpResponse | FileResponse
    if settings.SIPANAH_X_ACCEL_REDIRECT:
        relative = path.relative_to(Path(settings.MEDIA_ROOT).resolve()).as_posix()
        response = HttpResponse(content_type=content_type)
        # Percent-encoded: nginx decodes it; a raw non-ASCII or space character would not survive the header.
        response["X-Accel-Redirect"] = quote(settings.SIPANAH_X_ACCEL_PREFIX + relative)
        disposition = content_disposition_header(not inline, filename)  # a str whenever as_attachment is True
        response["Content-Disposition"] = disposition  # type: ignore[assignment]  # the stub says str | None
    else:
        response = FileResponse(path.open("rb"), as_attachment=not inline, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
