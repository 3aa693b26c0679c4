"""OGC API – Features: the parameters of a request, checked, and the error every check raises (400 naming it)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


class OgcError(Exception):
    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def check_params(request: HttpRequest, allowed: set[str]) -> None:
    unknown = sorted(k for k in request.GET if k not in allowed)
    if unknown:
        raise OgcError(
            400,
            "InvalidParameterValue",
            _("Unknown query parameter(s): %(names)s. Allowed: %(allowed)s.")
            % {"names": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))},
        )
    for name in request.GET:
        if len(request.GET.getlist(name)) > 1:
            raise OgcError(400, "InvalidParameterValue", _("%(name)s is given more than once.") % {"name": name})


def int_param(request: HttpRequest, name: str, default: int, minimum: int, maximum: int | None) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OgcError(
            400,
            "InvalidParameterValue",
            _("%(name)s must be an integer, got %(value)r.") % {"name": name, "value": raw},
        ) from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise OgcError(
            400,
            "InvalidParameterValue",
            _("%(name)s must be in %(bounds)s, got %(value)s.") % {"name": name, "bounds": bounds, "value": value},
        )
    return value


def _parse_instant(text: str) -> dt.date | None:
    """An RFC 3339 date or date-time (its calendar date in UTC); '..' or '' is an open end."""
    if text in ("..", ""):
        return None
    try:
        if "T" in text or "t" in text:
            value = dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
            if value.tzinfo is None:
                raise ValueError("no time zone")
            return value.astimezone(dt.UTC).date()
        return dt.date.fromisoformat(text)
    except ValueError:
        raise OgcError(
            400,
            "InvalidParameterValue",
            _(
                "datetime: %(value)r is not an RFC 3339 date or date-time with time zone (e.g. 2010-05-17 or "
                "2010-05-17T00:00:00Z), nor an interval a/b with '..' for an open end."
            )
            % {"value": text},
        ) from None


def parse_datetime(text: str) -> tuple[dt.date | None, dt.date | None]:
    if "/" in text:
        start_text, _sep, end_text = text.partition("/")
        start, end = _parse_instant(start_text), _parse_instant(end_text)
        if start is None and end is None:
            raise OgcError(400, "InvalidParameterValue", _("datetime: an interval needs at least one end."))
        if start and end and start > end:
            raise OgcError(400, "InvalidParameterValue", _("datetime: the interval starts after it ends."))
        return start, end
    instant = _parse_instant(text)
    if instant is None:
        raise OgcError(400, "InvalidParameterValue", _("datetime: an instant cannot be open ('..')."))
    return instant, instant


def wants_html(request: HttpRequest) -> bool:
    fmt = request.GET.get("f")
    if fmt is not None:
        if fmt not in ("json", "html"):
            raise OgcError(400, "InvalidParameterValue", _("f must be json or html, got %(value)r.") % {"value": fmt})
        return fmt == "html"
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "json" not in accept
