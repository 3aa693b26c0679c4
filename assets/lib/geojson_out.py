"""GeoJSON features as text, for the REST API lists and the OGC API items.

On PostGIS the database writes each feature (json_build_object + ST_AsGeoJSON): no GEOS object and
no Python dict per feature, which keeps a 1,000-feature page close to the cost of the SQL alone
(bench/bench_api.py). On SpatiaLite the same features are written in Python from ``values()``
rows with the geometry text from AsGeoJSON. Both give the same JSON (tests/interop/test_ogc.py checks types):
decimals as numbers, dates as ISO strings, booleans as booleans, no geometry as null.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db import connection, connections, transaction
from django.db.models import DecimalField, F, FloatField, Func, IntegerField, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

GEOJSON_PRECISION = 7  # ~1 cm; parcels are surveyed to centimetres at best

Properties = Sequence[tuple[str, str]]  # (output name, queryset value path)


class _JsonBuildObjectText(Func):
    """PostgreSQL json_build_object(...)::text (json, not jsonb: no re-parsing, keys kept in order)."""

    function = "json_build_object"
    template = "%(function)s(%(expressions)s)::text"
    output_field = TextField()


class _AsJson(Func):
    template = "(%(expressions)s)::json"
    output_field = TextField()


def _field_for(model: Any, path: str) -> Any:
    *joins, last = path.split("__")
    for join in joins:
        model = model._meta.get_field(join).related_model
    return model._meta.get_field(last)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def feature_dicts(qs: QuerySet, properties: Properties) -> list[dict[str, Any]]:
    """Features as dicts (for HTML pages and single features)."""
    paths = [path for _name, path in properties]
    rows = qs.annotate(geometry_json=AsGeoJSON("geom", precision=GEOJSON_PRECISION)).values(
        "id", "geometry_json", *paths
    )
    return [
        {
            "type": "Feature",
            "id": row["id"],
            "geometry": json.loads(row["geometry_json"]) if row["geometry_json"] else None,
            "properties": {name: json_value(row[path]) for name, path in properties},
        }
        for row in rows
    ]


def feature_page(
    qs: QuerySet,
    properties: Properties,
    *,
    offset: int,
    limit: int,
    key: str = "id",
    rows: Callable[[QuerySet], QuerySet] | None = None,
) -> tuple[list[str], int]:
    """One page of ``qs`` (ordered) as GeoJSON feature texts, and the number of all its matches.

    On PostGIS one statement does both, like the raw SQL of bench/bench_api.py: the page's ids are
    chosen first and the JSON written for those rows alone (otherwise each parallel worker writes
    features for its own top-N before the merge keeps ``limit``), with the count as a sub-select.
    Elsewhere: a count, then the page's rows written in Python.

    ``key`` is the column that names one row of ``qs`` (a history table's ``history_id``: its ``id`` repeats);
    ``rows`` turns the page's keys (a subquery) into the queryset the features are written from (default: the rows
    of ``qs``'s table with those keys), for values that cost too much to compute for every match (the as-of
    certificate status, computed for the page's rows only). A property path may name an annotation of ``rows``.
    """
    if connection.vendor != "postgresql":
        matched = qs.count()
        if offset >= matched:
            return [], matched
        return [dumps(f) for f in feature_dicts(qs[offset : offset + limit], properties)], matched
    keys = qs[offset : offset + limit].values(key)
    written = rows(keys) if rows is not None else qs.model._base_manager.filter(**{f"{key}__in": keys})
    args: list[Any] = []
    for name, path in properties:
        value: Any = F(path)
        if path not in written.query.annotations and isinstance(_field_for(qs.model, path), DecimalField):
            value = Cast(value, FloatField())  # numeric would print as 500.00; float8 prints 500
        args += [Value(name), value]
    feature = _JsonBuildObjectText(
        Value("type"),
        Value("Feature"),
        Value("id"),
        F("id"),
        Value("geometry"),
        _AsJson(AsGeoJSON("geom", precision=GEOJSON_PRECISION)),
        Value("properties"),
        Func(*args, function="json_build_object", output_field=TextField()),
    )
    # Django compiles the count's SQL from the queryset; user input stays in the parameters.
    count_sql, count_params = qs.order_by().values(key).query.sql_with_params()
    ordering = qs.query.order_by or ("id",)
    page = written.order_by(*ordering).annotate(
        feature_text=feature,
        matched=RawSQL(  # noqa: S611
            f"SELECT count(*) FROM ({count_sql}) AS matches",  # noqa: S608
            count_params,
            output_field=IntegerField(),
        ),
    )
    using = page.db  # a read replica inside a GET request (sipanah/db_router.py), else the primary
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        # One page of an interactive request: JIT compilation (~60 ms) and parallel workers cost more
        # than they save on an index scan of a few thousand rows, and workers take cores from other
        # requests. SET LOCAL ends with this transaction.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        fetched = list(page.values_list("feature_text", "matched"))
    if not fetched:
        return [], qs.count() if offset else 0
    return [text for text, _matched in fetched], fetched[0][1]


def page(qs: QuerySet, properties: Properties, *, offset: int, limit: int, as_text: bool) -> tuple[list[Any], int]:
    """One page of ``qs`` (ordered) and the number of all its matches: feature texts (feature_page), or feature
    dicts for HTML pages (feature_dicts)."""
    if as_text:
        return feature_page(qs, properties, offset=offset, limit=limit)
    return feature_dicts(qs[offset : offset + limit], properties), qs.count()


def feature_collection_text(head: dict[str, Any], features: list[str]) -> str:
    """``head`` (type, counts, links...) followed by the features, spliced as text without parsing them."""
    return dumps(head)[:-1] + ',"features":[' + ",".join(features) + "]}"
