"""OGC API – Features: the OpenAPI 3.0 definition of /ogc/ (the oas30 conformance class)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from assets.interop.ogc.collections import COLLECTIONS
from assets.interop.ogc.params import DEFAULT_LIMIT, MAX_LIMIT


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
