"""Bulk inserts through PostgreSQL COPY, for the importer: the same rows bulk_create would write, much faster.

Django's bulk_create sends multi-row INSERTs whose SQL text Python has to build and PostgreSQL to parse; at
100k assets (plus their history rows) that was half of an import's time. COPY streams the rows instead
(psycopg 3 ``cursor.copy()`` on Django's own connection, so inside the caller's transaction: a rollback
undoes it like any INSERT).

Primary keys are reserved first with ``nextval`` on the table's own sequence (one query per batch), so the
caller gets its objects back with their ids as bulk_create gives them, and the sequence needs no repair.
Every value goes through the field's ``pre_save`` (auto_now/auto_now_add) and ``get_db_prep_save``, as
bulk_create does; geometries are sent as hex EWKB (SRID included), which PostGIS reads as text input.

Only for PostgreSQL: :func:`supported` says when to use it; other databases keep bulk_create.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.contrib.gis.db.models import GeometryField
from django.db import connection, models
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object, get_history_manager_for_model


def supported() -> bool:
    return connection.vendor == "postgresql"


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count]
        )
        return [row[0] for row in cursor.fetchall()]


def copy_insert(model: type[models.Model], objs: Sequence[models.Model]) -> list[models.Model]:
    """Insert ``objs`` (new, unsaved instances of ``model``) with COPY; sets their pk as bulk_create does."""
    if not objs:
        return list(objs)
    opts = model._meta
    fields = list(opts.concrete_fields)
    missing = [obj for obj in objs if obj.pk is None]
    if missing:
        for obj, pk in zip(missing, _reserve_ids(model, len(missing)), strict=True):
            obj.pk = pk
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(opts.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper: same connection, same transaction
        # wrap_database_errors: a failing COPY raises django.db's IntegrityError & co, as bulk_create would
        with connection.wrap_database_errors, raw.copy(sql) as copy:
            values = _row_builders(model)
            for obj in objs:
                copy.write_row([value(obj) for value in values])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)


# On PostgreSQL, get_db_prep_save returns a value of these exact types unchanged for these exact field classes
# (to_python/get_prep_value are identities on them, and the backend's adapt_*_value return their input); skipping
# that call halves the Python cost of a row. Any other field class or value type takes the full path.
_INT_FIELDS = (models.AutoField, models.BigAutoField, models.IntegerField, models.BigIntegerField,
               models.PositiveIntegerField, models.PositiveSmallIntegerField, models.SmallIntegerField)  # fmt: skip
_PASS_THROUGH: dict[type, tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.BooleanField: (bool,),
    models.DecimalField: (Decimal,),
    models.DateField: (dt.date,),
    **dict.fromkeys(_INT_FIELDS, (int,)),
}


def _pass_through_types(field: models.Field) -> tuple[type, ...]:
    if isinstance(field, models.ForeignKey):
        return _PASS_THROUGH.get(type(field.target_field), ()) if type(field.target_field) in _INT_FIELDS else ()
    return _PASS_THROUGH.get(type(field), ())


def _value_builder(field: models.Field) -> Callable[[models.Model], Any]:
    """The function giving the value COPY writes for ``field`` of an object, as bulk_create would send it."""
    if type(field).pre_save is models.Field.pre_save:  # no auto_now & co: pre_save is a plain attribute read
        read = operator.attrgetter(field.attname)
    else:
        read = functools.partial(field.pre_save, add=True)
    if isinstance(field, GeometryField):

        def geometry(obj: models.Model) -> str | None:
            value = read(obj)
            if value is None:
                return None
            if value.srid is None:
                value.srid = field.srid
            return value.hexewkb.decode("ascii")

        return geometry
    unchanged = _pass_through_types(field)

    def value(obj: models.Model) -> Any:
        value = read(obj)
        if value is None or type(value) in unchanged:
            return value
        return field.get_db_prep_save(value, connection)

    return value


@functools.cache
def _row_builders(model: type[models.Model]) -> list[Callable[[models.Model], Any]]:
    return [_value_builder(field) for field in model._meta.concrete_fields]


def copy_insert_with_history(model: type[models.Model], objs: Sequence[models.Model]) -> list[models.Model]:
    """copy_insert plus one "+" history row per object, built exactly as simple_history's
    ``bulk_history_create`` (called by bulk_create_with_history) builds them."""
    created = copy_insert(model, objs)
    history_manager = get_history_manager_for_model(model)
    history_model = history_manager.model
    rows = []
    for instance in created:
        row = history_model(
            history_date=getattr(instance, "_history_date", timezone.now()),
            history_user=getattr(instance, "_history_user", history_model.get_default_history_user(instance)),
            history_change_reason=get_change_reason_from_object(instance) or None,
            history_type="+",
            **{field.attname: getattr(instance, field.attname) for field in history_model.tracked_fields},
        )
        if hasattr(history_model, "history_relation"):
            row.history_relation_id = instance.pk
        rows.append(row)
    copy_insert(history_model, rows)
    return created
