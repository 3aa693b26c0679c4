"""OGC API – Features Part 1 (Core, GeoJSON, HTML, OAS30) at /ogc/, read live by GDAL/QGIS.

Hand-written on DRF views rather than a library: the maintained Python servers (pygeoapi, tipg)
are whole applications with their own config and database access; none plugs into Django's
auth, the role rules and the register's querysets. The views here are thin: parse and check the
parameters (400 naming the problem), run one queryset, and write the GeoJSON with the geometry
text made by the database (ST_AsGeoJSON / AsGeoJSON) so no GEOS object is built per feature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Max, Min, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from assets.lib import geojson_out
from assets.query.params import QueryError, bbox_geometry, intersecting, parse_bbox
from assets.register import as_of_reads, history
from assets.register.models import AdministrativeArea, LandAsset

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


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    # (output property name, queryset value path) in output order
    properties: tuple[tuple[str, str], ...]
    datetime_field: str | None

    def queryset(self) -> QuerySet:
        if self.id == "assets":  # removed (penghapusan) assets leave the register, as on the pages
            return LandAsset.objects.filter(removed_at__isnull=True)
        return AdministrativeArea.objects.filter(level=self.id)


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            id="assets",
            title="Land assets (KIB A)",
            description="Land assets of Kota Balikpapan; datetime filters on the acquisition date.",
            properties=(
                ("kode_barang", "kode_barang"),
                ("nomor_register", "nomor_register"),
                ("nama_barang", "nama_barang"),
                ("agency_code", "agency__code"),
                ("kelurahan_code", "kelurahan__code"),
                ("kecamatan_code", "kecamatan__code"),
                ("tanggal_perolehan", "tanggal_perolehan"),
                ("tahun_perolehan", "tahun_perolehan"),
                ("nilai_perolehan", "nilai_perolehan"),
                ("luas_kib_m2", "luas_kib_m2"),
                ("luas_gis_m2", "luas_gis_m2"),
                ("plotting_status", "plotting_status"),
                ("status_sertifikat", "status_sertifikat"),
                ("tahap_sertifikat", "tahap_sertifikat"),
                ("bermasalah", "bermasalah"),
            ),
            datetime_field="tanggal_perolehan",
        ),
        Collection(
            id="kecamatan",
            title="Kecamatan",
            description="Districts (kecamatan) of Kota Balikpapan.",
            properties=(("code", "code"), ("name", "name")),
            datetime_field=None,
        ),
        Collection(
            id="kelurahan",
            title="Kelurahan",
            description="Sub-districts (kelurahan) of Kota Balikpapan.",
            properties=(("code", "code"), ("name", "name"), ("kecamatan_code", "parent__code")),
            datetime_field=None,
        ),
    )
}


# --- parameters ------------------------------------------------------------------------------


def _check_params(request: HttpRequest, allowed: set[str]) -> None:
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


def _int_param(request: HttpRequest, name: str, default: int, minimum: int, maximum: int | None) -> int:
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


# --- output ----------------------------------------------------------------------------------


def _wants_html(request: HttpRequest) -> bool:
    fmt = request.GET.get("f")
    if fmt is not None:
        if fmt not in ("json", "html"):
            raise OgcError(400, "InvalidParameterValue", _("f must be json or html, got %(value)r.") % {"value": fmt})
        return fmt == "html"
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "json" not in accept


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return request.build_absolute_uri(reverse(name, kwargs=kwargs or None))


def _self_links(request: HttpRequest, url: str, json_type: str, title: str) -> list[dict[str, str]]:
    html = _wants_html(request)
    return [
        {
            "href": f"{url}?f=json",
            "rel": "alternate" if html else "self",
            "type": json_type,
            "title": f"{title} (JSON)",
        },
        {
            "href": f"{url}?f=html",
            "rel": "self" if html else "alternate",
            "type": "text/html",
            "title": f"{title} (HTML)",
        },
    ]


def _respond(request: HttpRequest, data: dict[str, Any], *, title: str, content_type: str = "application/json"):
    if _wants_html(request):
        return render(request, "ogc/page.html", {"title": title, "data": data, "features": data.get("features")})
    return JsonResponse(data, content_type=content_type, json_dumps_params={"ensure_ascii": False})


def _city_bbox() -> list[float]:
    bbox = cache.get("ogc:city_bbox")
    if bbox is None:
        extent = AdministrativeArea.objects.filter(level="kecamatan").aggregate(e=_Extent("geom"))["e"]
        bbox = [round(v, 6) for v in extent] if extent else [-180.0, -90.0, 180.0, 90.0]
        cache.set("ogc:city_bbox", bbox, 300)
    return bbox


def _Extent(field: str) -> Any:  # noqa: N802 - named like the aggregate it builds
    from django.contrib.gis.db.models import Extent

    return Extent(field)


def _collection_json(request: HttpRequest, collection: Collection) -> dict[str, Any]:
    url = _url(request, "ogc-collection", collection_id=collection.id)
    items = _url(request, "ogc-items", collection_id=collection.id)
    extent: dict[str, Any] = {"spatial": {"bbox": [_city_bbox()], "crs": CRS84}}
    if collection.datetime_field:
        key = f"ogc:temporal:{collection.id}"
        interval = cache.get(key)
        if interval is None:
            row = collection.queryset().aggregate(lo=Min(collection.datetime_field), hi=Max(collection.datetime_field))
            interval = [
                f"{row['lo']}T00:00:00Z" if row["lo"] else None,
                f"{row['hi']}T00:00:00Z" if row["hi"] else None,
            ]
            cache.set(key, interval, 300)
        extent["temporal"] = {"interval": [interval], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": extent,
        "links": [
            {"href": url, "rel": "self", "type": "application/json", "title": collection.title},
            {"href": f"{items}?f=json", "rel": "items", "type": GEOJSON, "title": _("Items (GeoJSON)")},
            {"href": f"{items}?f=html", "rel": "items", "type": "text/html", "title": _("Items (HTML)")},
        ],
    }


# --- views -----------------------------------------------------------------------------------


class _FormatByView(BaseContentNegotiation):
    """The views choose JSON or HTML themselves (f= or Accept); DRF only renders its own errors, as JSON."""

    def select_parser(self, request: Request, parsers: list) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list, format_suffix: str | None = None) -> tuple:
        return renderers[0], renderers[0].media_type


class OgcView(APIView):
    """Authentication and roles as the REST API; errors as OGC exception JSON."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FormatByView
    schema = None  # described by its own OpenAPI document at /ogc/api, not in the REST API's schema
    allowed_params: frozenset[str] = frozenset({"f"})

    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, OgcError):
            return JsonResponse({"code": exc.code, "description": exc.description}, status=exc.status)
        return super().handle_exception(exc)

    def get(self, request: Request, **kwargs: Any) -> HttpResponse:
        _check_params(request._request, set(self.allowed_params))
        return self.respond(request._request, **kwargs)

    def respond(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        raise NotImplementedError


def _collection(collection_id: str) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise OgcError(
            404,
            "NotFound",
            _("No collection %(id)s; there are %(ids)s.") % {"id": collection_id, "ids": ", ".join(COLLECTIONS)},
        ) from None


class LandingView(OgcView):
    def respond(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        title = "Sipanah OGC API – Features"
        data = {
            "title": title,
            "description": "Land asset register (KIB A) of BPKAD Kota Balikpapan.",
            "links": [
                *_self_links(request, _url(request, "ogc-landing"), "application/json", title),
                {"href": _url(request, "ogc-api"), "rel": "service-desc", "type": OPENAPI, "title": "API definition"},
                {
                    "href": _url(request, "ogc-conformance"),
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "Conformance",
                },
                {
                    "href": _url(request, "ogc-collections"),
                    "rel": "data",
                    "type": "application/json",
                    "title": "Collections",
                },
            ],
        }
        return _respond(request, data, title=title)


class ConformanceView(OgcView):
    def respond(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        return _respond(request, {"conformsTo": CONFORMANCE}, title=_("Conformance"))


class ApiDefinitionView(OgcView):
    def respond(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        return JsonResponse(openapi_document(request), content_type=OPENAPI)


class CollectionsView(OgcView):
    def respond(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        url = _url(request, "ogc-collections")
        data = {
            "links": _self_links(request, url, "application/json", _("Collections")),
            "collections": [_collection_json(request, c) for c in COLLECTIONS.values()],
        }
        return _respond(request, data, title=_("Collections"))


class CollectionView(OgcView):
    def respond(self, request: HttpRequest, collection_id: str = "", **kwargs: Any) -> HttpResponse:
        collection = _collection(collection_id)
        return _respond(request, _collection_json(request, collection), title=collection.title)


def _as_of(request: HttpRequest, collection: Collection) -> dt.date | None:
    if "as_of" not in request.GET:
        return None
    if collection.id != "assets":
        raise OgcError(
            400, "InvalidParameterValue", _("as_of: the collection %(id)s has no history.") % {"id": collection.id}
        )
    try:
        return history.parse_as_of(request.GET["as_of"] or "?")
    except ValueError as exc:
        raise OgcError(400, "InvalidParameterValue", str(exc)) from None


class ItemsView(OgcView):
    # as_of (an extension): the register as of that date, from the change history; datetime stays the
    # acquisition date (tanggal_perolehan).
    allowed_params = frozenset({"f", "bbox", "limit", "offset", "datetime", "as_of"})

    def respond(self, request: HttpRequest, collection_id: str = "", **kwargs: Any) -> HttpResponse:
        collection = _collection(collection_id)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int_param(request, "offset", 0, 0, None)
        as_of = _as_of(request, collection)
        qs = self.filtered(request, collection, collection.queryset()).order_by("id")
        html = _wants_html(request)
        features: list[Any]
        if as_of is not None:
            # The bbox and datetime filters are applied to each history source of the as-of snapshot.
            features, matched = as_of_reads.feature_page(
                as_of=as_of,
                params=None,
                properties=collection.properties,
                offset=offset,
                limit=limit,
                refine=lambda base: self.filtered(request, collection, base),
            )
            if not html:
                features = [geojson_out.dumps(feature) for feature in features]
        elif html:
            matched = qs.count()
            features = geojson_out.feature_dicts(qs[offset : offset + limit], collection.properties)
        else:
            features, matched = geojson_out.feature_page(qs, collection.properties, offset=offset, limit=limit)
        return self.page_response(request, collection, features, matched, offset=offset, limit=limit, html=html)

    def filtered(self, request: HttpRequest, collection: Collection, qs: QuerySet) -> QuerySet:
        if "bbox" in request.GET:
            try:
                bbox = parse_bbox(request.GET["bbox"])
            except QueryError as exc:
                raise OgcError(400, "InvalidParameterValue", str(exc)) from None
            qs = intersecting(qs, bbox_geometry(bbox))
        if "datetime" in request.GET:
            if collection.datetime_field is None:
                raise OgcError(
                    400,
                    "InvalidParameterValue",
                    _("datetime: the collection %(id)s has no time.") % {"id": collection.id},
                )
            start, end = parse_datetime(request.GET["datetime"])
            field = collection.datetime_field
            qs = qs.filter(**{f"{field}__isnull": False})
            if start:
                qs = qs.filter(**{f"{field}__gte": start})
            if end:
                qs = qs.filter(**{f"{field}__lte": end})
        return qs

    def page_response(
        self,
        request: HttpRequest,
        collection: Collection,
        features: list[Any],
        matched: int,
        *,
        offset: int,
        limit: int,
        html: bool,
    ) -> HttpResponse:
        url = _url(request, "ogc-items", collection_id=collection.id)
        base = {k: v for k, v in request.GET.items() if k not in ("offset", "limit", "f")}

        def page(new_offset: int, fmt: str) -> str:
            return f"{url}?{urlencode({**base, 'limit': limit, 'offset': new_offset, 'f': fmt})}"

        own = "html" if html else "json"
        links = [
            {"href": page(offset, own), "rel": "self", "type": "text/html" if html else GEOJSON, "title": "This page"},
            {
                "href": page(offset, "html" if not html else "json"),
                "rel": "alternate",
                "type": GEOJSON if html else "text/html",
                "title": "This page in another format",
            },
            {
                "href": _url(request, "ogc-collection", collection_id=collection.id),
                "rel": "collection",
                "type": "application/json",
                "title": collection.title,
            },
        ]
        if offset + limit < matched:
            links.append(
                {
                    "href": page(offset + limit, own),
                    "rel": "next",
                    "type": GEOJSON if not html else "text/html",
                    "title": "Next page",
                }
            )
        if offset > 0:
            links.append(
                {
                    "href": page(max(0, offset - limit), own),
                    "rel": "prev",
                    "type": GEOJSON if not html else "text/html",
                    "title": "Previous page",
                }
            )
        head = {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": links,
        }
        if html:
            return _respond(request, {**head, "features": features}, title=collection.title)
        # The features are JSON text already (from the database on PostGIS): spliced, not parsed again.
        return HttpResponse(geojson_out.feature_collection_text(head, features), content_type=GEOJSON)


class ItemView(OgcView):
    def respond(
        self, request: HttpRequest, collection_id: str = "", feature_id: str = "", **kwargs: Any
    ) -> HttpResponse:
        collection = _collection(collection_id)
        qs = collection.queryset().filter(pk=int(feature_id)) if feature_id.isdigit() else None
        rows = geojson_out.feature_dicts(qs, collection.properties) if qs is not None else []
        if not rows:
            raise OgcError(
                404, "NotFound", _("No feature %(fid)s in %(id)s.") % {"fid": feature_id, "id": collection.id}
            )
        feature = rows[0]
        url = _url(request, "ogc-item", collection_id=collection.id, feature_id=feature_id)
        feature["links"] = [
            *_self_links(request, url, GEOJSON, f"{collection.title} {feature_id}"),
            {
                "href": _url(request, "ogc-collection", collection_id=collection.id),
                "rel": "collection",
                "type": "application/json",
                "title": collection.title,
            },
        ]
        return _respond(request, feature, title=f"{collection.title} {feature_id}", content_type=GEOJSON)


# --- API definition --------------------------------------------------------------------------


def openapi_document(request: HttpRequest) -> dict[str, Any]:
    """The OpenAPI 3.0 definition of /ogc/ (the oas30 conformance class)."""
    f_param = {"name": "f", "in": "query", "required": False, "schema": {"type": "string", "enum": ["json", "html"]}}
    ok = {
        "200": {"description": "OK"},
        "400": {"description": "Invalid parameter"},
        "401": {"description": "No credentials"},
    }
    collection_id = {
        "name": "collectionId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(COLLECTIONS)},
    }
    items_params = [
        collection_id,
        {
            "name": "bbox",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        },
        {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0, "default": 0}},
        {
            "name": "datetime",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "schema": {"type": "string"},
        },
        {
            "name": "as_of",
            "in": "query",
            "required": False,
            "description": (
                "Extension, collection assets only: YYYY-MM-DD, the register as it stood at the end of that day "
                "(Asia/Makassar), rebuilt from the change history. datetime stays the acquisition date."
            ),
            "schema": {"type": "string", "format": "date"},
        },
        f_param,
    ]
    base = request.build_absolute_uri(reverse("ogc-landing")).rstrip("/")
    return {
        "openapi": "3.0.3",
        "info": {"title": "Sipanah OGC API – Features", "version": "1.0.0"},
        "servers": [{"url": base}],
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "token": {"type": "apiKey", "in": "header", "name": "Authorization"},
            }
        },
        "security": [{"basic": []}, {"token": []}],
        "paths": {
            "/": {"get": {"operationId": "getLandingPage", "parameters": [f_param], "responses": ok}},
            "/conformance": {"get": {"operationId": "getConformance", "parameters": [f_param], "responses": ok}},
            "/collections": {"get": {"operationId": "getCollections", "parameters": [f_param], "responses": ok}},
            "/collections/{collectionId}": {
                "get": {"operationId": "describeCollection", "parameters": [collection_id, f_param], "responses": ok}
            },
            "/collections/{collectionId}/items": {
                "get": {"operationId": "getFeatures", "parameters": items_params, "responses": ok}
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "operationId": "getFeature",
                    "parameters": [
                        collection_id,
                        {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
                        f_param,
                    ],
                    "responses": {**ok, "404": {"description": "Not found"}},
                }
            },
        },
    }
