"""``full_clean`` for a whole batch of model instances, as a bulk import needs it: the same validators, the same
messages, errors merged the same way, but field by field over the batch, each field's ``clean`` run once per
distinct value (assets.register.services.clean_assets; the importer's certificates)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.gis.db.models import GeometryField
from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator, MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.expressions import DatabaseDefault

CACHE_MAX = 20_000  # cached field results per import: memory must not grow with the size of an import


@functools.cache
def _clean_plan(model: type[models.Model], exclude: frozenset[str]) -> tuple[tuple[Any, ...], ...]:
    """The fields clean_fields visits: (cache key, field, name, attname, is a geometry, empty values when blank,
    a test of the values that surely pass unchanged, or None)."""
    return tuple(
        (
            (model._meta.label, i),
            f,
            f.name,
            f.attname,
            isinstance(f, GeometryField),
            f.empty_values if f.blank else (),
            _passes_unchanged(f),
        )  # fmt: skip
        for i, f in enumerate(model._meta.fields)
        if not f.generated and f.name not in exclude
    )


def _passes_unchanged(f: Any) -> Callable[[Any], bool] | None:
    """For a plain CharField/TextField/DecimalField (no choices; only the validators Django gives it, and for a
    DecimalField fixed minimum and maximum values), a test of
    a value that ``f.clean`` surely returns unchanged (or equal), so the call can be skipped; None for any other
    field. A value the test does not pass still goes through ``f.clean`` (for its exact message)."""
    if f.choices:
        return None
    if type(f) in (models.CharField, models.TextField) and all(type(v) is MaxLengthValidator for v in f.validators):
        limit = f.max_length if f.max_length is not None else math.inf
        return lambda value: type(value) is str and value != "" and len(value) <= limit
    bounds = [v for v in f.validators if type(v) in (MinValueValidator, MaxValueValidator)]
    plain = all(type(v) is DecimalValidator or v in bounds for v in f.validators)
    if type(f) is models.DecimalField and plain and not any(callable(v.limit_value) for v in bounds):
        places, whole = -f.decimal_places, Decimal(10) ** (f.max_digits - f.decimal_places)
        low = max((v.limit_value for v in bounds if type(v) is MinValueValidator), default=-whole)
        high = min((v.limit_value for v in bounds if type(v) is MaxValueValidator), default=whole)

        def decimal_passes(value: Any) -> bool:
            # DecimalValidator's digit counts (at most decimal_places after the point, the rest before it) and the
            # field's MinValueValidator/MaxValueValidator bounds
            if type(value) is not Decimal:
                return False
            exponent = value.as_tuple().exponent  # an int when the value is finite; "n", "N", "F" for NaN, sNaN, ∞
            return isinstance(exponent, int) and exponent >= places and abs(value) < whole and low <= value <= high

        return decimal_passes
    return None


def clean_instance(obj: Any, *, exclude: frozenset[str], cache: dict | None = None) -> None:
    """``obj.clean_fields(exclude)`` then ``obj.clean()``, as ``full_clean`` runs them: :func:`clean_instances`
    for one object, raising its ValidationError."""
    (error,) = clean_instances([obj], exclude=exclude, cache=cache)
    if error is not None:
        raise error


def clean_instances(
    objs: list[Any], *, exclude: frozenset[str], cache: dict | None = None
) -> list[ValidationError | None]:
    """For each object (all of one model), ``clean_fields(exclude)`` then ``clean()``, as ``full_clean`` runs them
    (same validators, same messages, errors merged the same way): None, or the ValidationError ``full_clean``
    would raise. Cleaned values are set on the objects as ``clean_fields`` sets them.

    Field by field over the whole batch, each field's ``clean()`` run once per distinct value: a bulk import
    checks a kode barang, a date or a choice met 10,000 times once, and visits each field of each object in a
    list comprehension rather than through ``full_clean``'s per-object machinery (at 100k assets that machinery
    was a fifth of an import's time). ``cache`` keeps the results across batches (the importer passes one for the
    whole file); it is bounded. Sound because these fields' ``clean`` depends on the value only (the instance is
    read by foreign keys alone, which callers exclude).
    """
    if not objs:
        return []
    errors: list[dict[str, list] | None] = [None] * len(objs)
    results = cache if cache is not None else {}
    model: type[models.Model] = type(objs[0])
    for position, f, name, attname, geometry, empty, passes in _clean_plan(model, exclude):
        # a geometry: its stored value, no lazy GEOS load (hex EWKB from prepare_parcels is a checked MultiPolygon)
        values = [obj.__dict__.get(attname) for obj in objs] if geometry else [getattr(obj, attname) for obj in objs]
        for i, raw_value in enumerate(values):
            if (empty and raw_value in empty) or isinstance(raw_value, DatabaseDefault):
                continue
            if geometry and isinstance(raw_value, str):
                continue
            if passes is not None and passes(raw_value):
                continue  # f.clean would return it unchanged: the call (and a cache entry per value) is skipped
            key = None
            hit: tuple[Any] | ValidationError | None = None  # f.clean's result, or its error; None: not known yet
            if not geometry:
                key = (position, type(raw_value), str(raw_value) if isinstance(raw_value, Decimal) else raw_value)
                try:
                    hit = results.get(key)
                except TypeError:  # an unhashable value: no caching
                    key = None
            if hit is None:
                try:
                    hit = (f.clean(raw_value, objs[i]),)
                except ValidationError as e:
                    hit = e
                if key is not None:
                    if len(results) > CACHE_MAX:  # bounded: memory must not grow with the size of an import
                        results.clear()
                    results[key] = hit
            if isinstance(hit, tuple):
                if hit[0] is not raw_value:
                    setattr(objs[i], attname, hit[0])
            else:
                obj_errors = errors[i]
                if obj_errors is None:
                    obj_errors = errors[i] = {}
                obj_errors[name] = hit.error_list
    out: list[ValidationError | None] = []
    for obj, found in zip(objs, errors, strict=True):
        try:
            obj.clean()
        except ValidationError as e:
            found = e.update_error_dict(found or {})
        out.append(ValidationError(found) if found else None)
    return out
