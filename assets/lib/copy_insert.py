"""Bulk inserts through PostgreSQL COPY, for the importer: the same rows bulk_create would write, much faster.

Django's bulk_create sends multi-row INSERTs whose SQL text Python has to build and PostgreSQL to parse; at
100k assets (plus their history rows) that was half of an import's time. COPY streams the rows instead
(psycopg 3 ``cursor.copy()`` on Django's own connection, so inside the caller's transaction: a rollback
undoes it like any INSERT).

Primary keys are reserved first with ``nextval`` on the table's own sequence (one query per batch), so the
caller gets its objects back with their ids as bulk_create gives them, and the sequence needs no repair.
Every value goes through the field's ``pre_save`` (auto_now/auto_now_add) and ``get_db_prep_save``, as
bulk_create does; geometries are sent as hex EWKB (SRID included), which PostGIS reads as text input.

On SQLite (SpatiaLite) the same functions send one compiled ``INSERT`` through ``executemany`` instead of COPY,
and the history rows are copied by ``INSERT ... SELECT`` as on PostgreSQL. An import writes its rows in one
transaction, and SQLite has one writer: bulk_create spent most of that transaction compiling SQL in Python
(Django's compiler and simple_history's ``bulk_history_create`` were ~60 % of a 20k-parcel import's time, py-spy)
while every sign-in and edit waited for the lock (``bench/bench_sqlite_writers.py``).

:func:`supported` says when to use it (PostgreSQL and SQLite); other databases keep bulk_create.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import shapely
from django.contrib.gis.db.models import GeometryField
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object, get_history_manager_for_model

_HEX = re.compile(r"[0-9A-Fa-f]+")


def supported() -> bool:
    return connection.vendor in ("postgresql", "sqlite")


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # SQLite has no sequence to reserve from. The caller's transaction holds the database's one write lock
            # (transaction_mode IMMEDIATE), so the ids above both the table's largest and AUTOINCREMENT's last
            # (sqlite_sequence; ids are never reused) stay free until it commits.
            if not connection.in_atomic_block:
                raise RuntimeError("copy_insert on SQLite reserves ids inside a transaction only")
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT MAX(COALESCE((SELECT MAX({connection.ops.quote_name(column)}) FROM {quoted}), 0), "  # noqa: S608
                "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
                [table],
            )  # identifiers from the model's meta, quoted
            last = cursor.fetchone()[0]
            return list(range(last + 1, last + 1 + count))
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count]
        )
        return [row[0] for row in cursor.fetchall()]


def copy_insert(model: type[models.Model], objs: Sequence[models.Model]) -> list[models.Model]:
    """Insert ``objs`` (new, unsaved instances of ``model``) with COPY; sets their pk as bulk_create does."""
    if not objs:
        return []
    missing = [obj for obj in objs if obj.pk is None]
    if missing:
        for obj, pk in zip(missing, _reserve_ids(model, len(missing)), strict=True):
            obj.pk = pk
    values = _row_builders(model, connection.vendor)
    rows = [[value(obj) for value in values] for obj in objs]
    copy_rows(model, [f.column for f in model._meta.concrete_fields], rows, prepared=True)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)


def copy_rows(
    model: type[models.Model],
    columns: list[str],
    rows: Iterable[Sequence[Any]],
    *,
    using: str = DEFAULT_DB_ALIAS,
    prepared: bool = False,
) -> None:
    """COPY ``rows`` (values ready for PostgreSQL, in ``columns`` order) into the model's table, in the current
    transaction. ``rows`` may be a generator: it is consumed as it is sent (backups restore through it).
    On SQLite: one INSERT run by ``executemany``; each value goes through its field's ``get_db_prep_save`` unless
    ``prepared`` (copy_insert's rows already did); geometries as hex EWKB."""
    conn = connections[using]
    names = ", ".join(conn.ops.quote_name(c) for c in columns)
    if conn.vendor == "sqlite":
        fields: dict[str, Any] = {f.column: f for f in model._meta.concrete_fields}
        geometry = [isinstance(fields[c], GeometryField) for c in columns]
        # GeomFromWKB with the column's SRID, as Django's SpatiaLite backend writes: SpatiaLite's GeomFromEWKB reads
        # a one-part MultiPolygon as a Polygon, which the column's type constraint refuses
        marks = ", ".join(
            f"GeomFromWKB(%s, {int(fields[c].srid)})" if g else "%s" for c, g in zip(columns, geometry, strict=True)
        )
        insert = f"INSERT INTO {conn.ops.quote_name(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608
        values = (
            [_wkb(v) if g else v if v is None or prepared else fields[c].get_db_prep_save(v, conn)
             for c, g, v in zip(columns, geometry, row, strict=True)]
            for row in rows
        )  # fmt: skip
        with conn.cursor() as cursor:
            cursor.executemany(insert, values)  # type: ignore[arg-type]  # any iterable; identifiers from the model's meta, quoted; values are parameters
        return
    sql = f"COPY {conn.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
    with conn.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper: same connection, same transaction
        # wrap_database_errors: a failing COPY raises django.db's IntegrityError & co, as bulk_create would
        with conn.wrap_database_errors, raw.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


def _wkb(hexewkb: str | None) -> bytes | None:
    """Hex EWKB (what the row builders give) as plain WKB for SpatiaLite's GeomFromWKB."""
    return None if hexewkb is None else shapely.to_wkb(shapely.from_wkb(hexewkb))


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


def _value_builder(field: models.Field, vendor: str) -> Callable[[models.Model], Any]:
    """The function giving the value COPY (or SQLite's INSERT) writes for ``field`` of an object, as bulk_create
    would send it."""
    read: Callable[[models.Model], Any]
    if type(field).pre_save is models.Field.pre_save:  # no auto_now & co: pre_save is a plain attribute read
        read = operator.attrgetter(field.attname)
    else:
        read = functools.partial(field.pre_save, add=True)
    if isinstance(field, GeometryField):

        def geometry(obj: models.Model) -> str | None:
            stored = obj.__dict__.get(field.attname)
            if isinstance(stored, str) and _HEX.fullmatch(stored):
                return stored  # hex EWKB as services.prepare_parcels gives it: sent as it is, no GEOS round trip
            value = read(obj)
            if value is None:
                return None
            if value.srid is None:
                value.srid = field.srid
            return value.hexewkb.decode("ascii")

        return geometry
    postgresql = vendor == "postgresql"  # the shortcuts below are PostgreSQL's; SQLite takes the full path
    unchanged = _pass_through_types(field) if postgresql else ()
    aware_datetime = postgresql and isinstance(field, models.DateTimeField)

    def value(obj: models.Model) -> Any:
        value = read(obj)
        if value is None or type(value) in unchanged:
            return value
        if aware_datetime and type(value) is dt.datetime and value.tzinfo is not None:
            return value  # what DateTimeField.get_db_prep_save returns for an aware datetime on PostgreSQL
        return field.get_db_prep_save(value, connection)

    return value


@functools.cache
def _row_builders(model: type[models.Model], vendor: str) -> list[Callable[[models.Model], Any]]:
    return [_value_builder(field, vendor) for field in model._meta.concrete_fields]


def _auto_now(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


@functools.cache
def _staged_builders(model: type[models.Model], vendor: str) -> list[Callable[[models.Model], Any]]:
    fields = model._meta.concrete_fields
    if not fields[0].primary_key:
        raise NotImplementedError("staged rows need the primary key as the first column")
    return [_value_builder(f, vendor) for f in fields[1:] if not _auto_now(f)]


def staged_values(model: type[models.Model], obj: models.Model) -> list[Any]:
    """The values :func:`copy_insert` would write for ``obj`` (a new instance), without its primary key and its
    auto_now / auto_now_add fields, which :func:`copy_staged_with_history` sets when it writes them.

    For an importer that checks its rows long before it writes them: it keeps these plain values (a list of str,
    int, Decimal, date, hex EWKB) instead of model instances, which were a fifth of a 100k import's CPU to pickle
    into its staging file and back."""
    return [value(obj) for value in _staged_builders(model, connection.vendor)]


def staged_position(model: type[models.Model], attname: str) -> int:
    """Where the field ``attname`` is in :func:`staged_values`' list (to set a foreign key known only later)."""
    fields = [f.attname for f in model._meta.concrete_fields[1:] if not _auto_now(f)]
    return fields.index(attname)


def copy_staged_with_history(
    model: type[models.Model], rows: Sequence[list[Any]], *, user_id: int | None, reason: str | None
) -> list[int]:
    """Insert rows made by :func:`staged_values` (COPY on PostgreSQL, executemany on SQLite) with one "+" history
    row each, as :func:`copy_insert_with_history` writes them for instances; gives the new primary keys, in order.
    The auto_now fields get the time of this call, as ``pre_save`` gives them."""
    if not rows:
        return []
    fields = model._meta.concrete_fields
    now = timezone.now()
    late = {
        i: f.get_db_prep_save(now if isinstance(f, models.DateTimeField) else timezone.localdate(now), connection)
        for i, f in enumerate(fields)
        if i and _auto_now(f)
    }
    ids = _reserve_ids(model, len(rows))
    order = [i for i in range(1, len(fields)) if i not in late]

    def full(pk: int, staged: list[Any]) -> list[Any]:
        row: list[Any] = [pk, *([None] * (len(fields) - 1))]
        for i, value in zip(order, staged, strict=True):
            row[i] = value
        for i, value in late.items():
            row[i] = value
        return row

    if not late and order == list(range(1, len(fields))):
        values: Iterable[Sequence[Any]] = ([pk, *staged] for pk, staged in zip(ids, rows, strict=True))
    else:
        values = (full(pk, staged) for pk, staged in zip(ids, rows, strict=True))
    copy_rows(model, [f.column for f in fields], values, prepared=True)
    _copy_history(model, {(now, reason or None, user_id): ids})
    return ids


def copy_insert_with_history(model: type[models.Model], objs: Sequence[models.Model]) -> list[models.Model]:
    """copy_insert plus one "+" history row per object, with the values simple_history's ``bulk_history_create``
    (called by bulk_create_with_history) gives them.

    The history row repeats the object's tracked columns, so PostgreSQL copies them from the rows just written
    (``INSERT INTO history SELECT ... FROM table WHERE id = ANY(...)``, in id order, so history ids follow the
    objects' order as bulk_history_create gives them): the same values, not built in Python and sent a second
    time (at 100k assets that was a quarter of the client's work and 58 MB more COPY text for the server to parse).
    """
    copy_insert(model, objs)
    if not objs:
        return []
    history_model = get_history_manager_for_model(model).model
    now = timezone.now()
    groups: dict[tuple[Any, ...], list[Any]] = {}  # one statement per (date, reason, user): one for an import
    for obj in objs:
        user = obj._history_user if hasattr(obj, "_history_user") else history_model.get_default_history_user(obj)
        key = (getattr(obj, "_history_date", now), get_change_reason_from_object(obj) or None,
               user.pk if user is not None else None)  # fmt: skip
        groups.setdefault(key, []).append(obj.pk)
    _copy_history(model, groups)
    return list(objs)


def _copy_history(model: type[models.Model], groups: dict[tuple[Any, ...], list[Any]]) -> None:
    """The "+" history rows of the rows just written, copied from them by one INSERT ... SELECT per (history date,
    change reason, history user id) of ``groups``, each naming its rows' primary keys."""
    history_model = get_history_manager_for_model(model).model
    if hasattr(history_model, "history_relation"):  # not used by Sipanah's models: take simple_history's own path
        raise NotImplementedError("copy_insert_with_history does not write history_relation")
    tracked = {f.attname: f.column for f in model._meta.concrete_fields}
    history_fields = list(history_model._meta.concrete_fields)
    quote = connection.ops.quote_name
    written = {"history_date", "history_change_reason", "history_type", "history_user_id"}
    # history_id: the history table's sequence numbers them; columns neither tracked nor written here (the validity
    # interval, assets.register.history_validity) are left to their default and the database's triggers
    columns = [f for f in history_fields if f.attname in tracked or f.attname in written]
    names = ", ".join(quote(f.column) for f in columns)
    for (date, reason, user_id), ids in groups.items():
        special = {"history_date": date, "history_change_reason": reason, "history_type": "+",
                   "history_user_id": user_id}  # fmt: skip
        select, params = [], []
        for f in columns:
            if f.attname in tracked:
                select.append(quote(tracked[f.attname]))
            else:
                select.append("%s")
                params.append(f.get_db_prep_save(special[f.attname], connection))  # SQLite: naive UTC text
        pk = quote(model._meta.pk.column)
        # identifiers from the models' meta, quoted; values are parameters
        sqlite = connection.vendor == "sqlite"
        # SQLite has no arrays: JSON; PostgreSQL: the array as its text (psycopg's list dumper took ~1 s per 100k ids)
        integer = isinstance(model._meta.pk, _INT_FIELDS)
        among = "IN (SELECT value FROM json_each(%s))" if sqlite else "= ANY(%s::bigint[])" if integer else "= ANY(%s)"
        sql = (
            f"INSERT INTO {quote(history_model._meta.db_table)} ({names}) SELECT {', '.join(select)} "  # noqa: S608
            f"FROM {quote(model._meta.db_table)} WHERE {pk} {among} ORDER BY {pk}"
        )
        with connection.cursor() as cursor:
            listed = json.dumps(ids) if sqlite else "{" + ",".join(map(str, ids)) + "}" if integer else ids
            cursor.execute(sql, [*params, listed])
