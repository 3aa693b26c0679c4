"""OGC API – Features Part 1 (Core, GeoJSON, HTML, OAS30) at /ogc/, read live by GDAL and QGIS.

Hand-written on DRF views rather than a library: the maintained Python servers (pygeoapi, tipg) are whole
applications with their own config and database access; none plugs into Django's auth, the role rules and the
register's read path. The views are thin, in pygeoapi's manner: check the parameters (assets.interop.ogc.params,
400 naming the problem), ask the collection for its feature source (assets.interop.ogc.collections) and write
the answer, JSON or HTML, with the geometry text made by the database so that no GEOS object is built per feature.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from assets.interop.ogc.collections import COLLECTIONS, Collection, city_bbox, collection
from assets.interop.ogc.openapi import openapi_document
from assets.interop.ogc.params import (
    CONFORMANCE,
    CRS84,
    DEFAULT_LIMIT,
    GEOJSON,
    MAX_LIMIT,
    OPENAPI,
    OgcError,
    check_params,
    int_param,
    wants_html,
)
from assets.lib import geojson_out
from assets.register import place
from assets.register.reads import SelectionError, parse_as_of


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return request.build_absolute_uri(reverse(name, kwargs=kwargs or None))


def _self_links(request: HttpRequest, url: str, json_type: str, title: str) -> list[dict[str, str]]:
    html = wants_html(request)
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
    if wants_html(request):
        return render(request, "ogc/page.html", {"title": title, "data": data, "features": data.get("features")})
    return JsonResponse(data, content_type=content_type, json_dumps_params={"ensure_ascii": False})


def _collection_json(request: HttpRequest, collection: Collection) -> dict[str, Any]:
    url = _url(request, "ogc-collection", collection_id=collection.id)
    items = _url(request, "ogc-items", collection_id=collection.id)
    extent: dict[str, Any] = {"spatial": {"bbox": [city_bbox()], "crs": CRS84}}
    interval = collection.temporal_interval()
    if interval is not None:
        extent["temporal"] = {"interval": [interval], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return {
        "id": collection.id,
        "title": _(collection.title),
        "description": _(collection.description),
        "itemType": "feature",
        "crs": [CRS84],
        "extent": extent,
        "links": [
            {"href": url, "rel": "self", "type": "application/json", "title": _(collection.title)},
            {"href": f"{items}?f=json", "rel": "items", "type": GEOJSON, "title": _("Items (GeoJSON)")},
            {"href": f"{items}?f=html", "rel": "items", "type": "text/html", "title": _("Items (HTML)")},
        ],
    }


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
        check_params(request._request, set(self.allowed_params))
        return self.respond(request._request, **kwargs)

    def respond(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        raise NotImplementedError


class LandingView(OgcView):
    def respond(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        title = "Sipanah OGC API – Features"
        data = {
            "title": title,
            "description": _("Land asset register (KIB A) of %(office)s.") % {"office": place.city().office},
            "links": [
                *_self_links(request, _url(request, "ogc-landing"), "application/json", title),
                {
                    "href": _url(request, "ogc-api"),
                    "rel": "service-desc",
                    "type": OPENAPI,
                    "title": _("API definition"),
                },
                {
                    "href": _url(request, "ogc-conformance"),
                    "rel": "conformance",
                    "type": "application/json",
                    "title": _("Conformance"),
                },
                {
                    "href": _url(request, "ogc-collections"),
                    "rel": "data",
                    "type": "application/json",
                    "title": _("Collections"),
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
        found = collection(collection_id)
        return _respond(request, _collection_json(request, found), title=_(found.title))


class ItemsView(OgcView):
    # as_of (an extension): the register as of that date, from the change history; datetime stays the
    # acquisition date (tanggal_perolehan).
    allowed_params = frozenset({"f", "bbox", "limit", "offset", "datetime", "as_of"})

    def respond(self, request: HttpRequest, collection_id: str = "", **kwargs: Any) -> HttpResponse:
        found = collection(collection_id)
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = int_param(request, "offset", 0, 0, None)
        try:
            as_of = parse_as_of(request.GET["as_of"] or "?") if "as_of" in request.GET else None
        except SelectionError as exc:
            raise OgcError(400, "InvalidParameterValue", str(exc)) from None
        html = wants_html(request)
        # The bbox and datetime filters refine the source (each history source of an as-of register too).
        source = found.source(as_of=as_of, refine=found.filters(request))
        features, matched = source.features(found.properties, offset=offset, limit=limit, as_text=not html)
        return self.page_response(request, found, features, matched, offset=offset, limit=limit, html=html)

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
            {
                "href": page(offset, own),
                "rel": "self",
                "type": "text/html" if html else GEOJSON,
                "title": _("This page"),
            },
            {
                "href": page(offset, "html" if not html else "json"),
                "rel": "alternate",
                "type": GEOJSON if html else "text/html",
                "title": _("This page in another format"),
            },
            {
                "href": _url(request, "ogc-collection", collection_id=collection.id),
                "rel": "collection",
                "type": "application/json",
                "title": _(collection.title),
            },
        ]
        if offset + limit < matched:
            links.append(
                {
                    "href": page(offset + limit, own),
                    "rel": "next",
                    "type": GEOJSON if not html else "text/html",
                    "title": _("Next page"),
                }
            )
        if offset > 0:
            links.append(
                {
                    "href": page(max(0, offset - limit), own),
                    "rel": "prev",
                    "type": GEOJSON if not html else "text/html",
                    "title": _("Previous page"),
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
            return _respond(request, {**head, "features": features}, title=_(collection.title))
        # The features are JSON text already (from the database on PostGIS): spliced, not parsed again.
        return HttpResponse(geojson_out.feature_collection_text(head, features), content_type=GEOJSON)


class ItemView(OgcView):
    def respond(
        self, request: HttpRequest, collection_id: str = "", feature_id: str = "", **kwargs: Any
    ) -> HttpResponse:
        found = collection(collection_id)
        rows: list[Any] = []
        if feature_id.isdigit():
            source = found.source(refine=lambda qs: qs.filter(pk=int(feature_id)))
            rows, _count = source.features(found.properties, offset=0, limit=1, as_text=False)
        if not rows:
            raise OgcError(404, "NotFound", _("No feature %(fid)s in %(id)s.") % {"fid": feature_id, "id": found.id})
        feature = rows[0]
        url = _url(request, "ogc-item", collection_id=found.id, feature_id=feature_id)
        feature["links"] = [
            *_self_links(request, url, GEOJSON, f"{_(found.title)} {feature_id}"),
            {
                "href": _url(request, "ogc-collection", collection_id=found.id),
                "rel": "collection",
                "type": "application/json",
                "title": _(found.title),
            },
        ]
        return _respond(request, feature, title=f"{_(found.title)} {feature_id}", content_type=GEOJSON)
