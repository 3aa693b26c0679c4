"""Reads that can leave the primary: PostgreSQL streaming replicas behind a Django database router (docs/scaling.md).

Configured by ``DATABASE_REPLICA_URLS`` (sipanah/settings.py): each URL becomes a database alias ``replica1``,
``replica2``, … and ``SIPANAH_READ_REPLICAS`` lists them. With none configured neither the router nor the middleware
is installed, and every query goes to ``default`` as before.

Which reads go to a replica: only those of a request the middleware opened for it, that is a GET, HEAD or OPTIONS
request (tiles, lists, OGC and REST pages, exports, maps) — one replica for the whole request, so its reads see one
state of the register. Everything else reads from the primary: other methods, management commands, the worker, any
read inside a transaction (``transaction.atomic``, ``select_for_update``), any read after the request wrote, and raw
SQL on ``django.db.connection`` (the primary's connection; code that may read from a replica asks
``router.db_for_read``). Writes and migrations always go to the primary.

Read your own writes: a request that wrote (any method other than GET/HEAD/OPTIONS/TRACE, or a GET that wrote
through the ORM) answers with a signed cookie holding the primary's WAL position (LSN) after the write. While a
client sends it, its reads go to a replica only once that replica has replayed up to that position
(``pg_last_wal_replay_lsn()``; one short query), and to the primary before that; once caught up, the cookie is
removed. So a user who just saved a parcel sees it on the next page, however far behind a replica is, and everyone
else reads from replicas. The cookie lasts ``SIPANAH_REPLICA_PIN_SECONDS`` (300): a replica further behind than that
is broken, not late. API clients get the read-your-writes guarantee when they keep cookies (e.g. requests.Session).

A replica that does not answer is left out for ``SIPANAH_REPLICA_RETRY_SECONDS`` (30) in this process; its reads go
to the primary meanwhile.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

COOKIE = "sipanah_read_after"  # the primary's LSN after this client's last write
_SALT = "sipanah.db_router.read_after"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass
class _Request:
    """What the router knows of the request being served: the replica it may read from, and whether it wrote."""

    replica: str | None
    wrote: bool = False


_request: ContextVar[_Request | None] = ContextVar("sipanah_db_request", default=None)
_down_until: dict[str, float] = {}  # replica alias -> time.monotonic() until which it is left out (this process)


def is_replica(alias: str) -> bool:
    """Whether ``alias`` is one of the read replicas (settings name them replica1, replica2, …)."""
    return re.fullmatch(r"replica\d+", alias) is not None


def _ours(alias: str | None) -> bool:
    """The primary or one of its replicas (not another database, such as a restore's target)."""
    return alias is None or alias == DEFAULT_DB_ALIAS or is_replica(alias)


def _instance_db(hints: dict[str, Any]) -> str | None:
    return getattr(getattr(hints.get("instance"), "_state", None), "db", None)


class ReplicaRouter:
    """Reads of a replica-eligible request go to its replica; all else (writes, migrations) to the primary. Objects
    of any other database (a restore's target, ``--database``) are left to Django's own rule (their database)."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if not _ours(_instance_db(hints)):
            return None
        state = _request.get()
        if state is None or state.replica is None or state.wrote:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:  # a transaction reads what it is about to write
            return DEFAULT_DB_ALIAS
        return state.replica

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        if not _ours(_instance_db(hints)):
            return None
        state = _request.get()
        if state is not None:
            state.wrote = True  # this request's later reads come from the primary, and its answer sets the cookie
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        if _ours(obj1._state.db) and _ours(obj2._state.db):
            return True  # a replica holds the same rows as the primary
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if is_replica(db) else None  # a standby is read-only; other databases as without the router


def primary_lsn() -> str:
    """The primary's current WAL write position: every transaction committed so far ends at or before it."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def replayed(alias: str, lsn: str) -> bool:
    """Whether the replica ``alias`` has replayed the primary's WAL up to ``lsn``."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
        return bool(cursor.fetchone()[0])


def replica_lag_bytes(alias: str) -> int:
    """How many bytes of WAL the replica ``alias`` has still to replay (0: it shows every committed write)."""
    lsn = primary_lsn()
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())", [lsn])
        return max(0, int(cursor.fetchone()[0]))


def _available(aliases: Iterable[str]) -> list[str]:
    now = time.monotonic()
    return [alias for alias in aliases if _down_until.get(alias, 0.0) <= now]


def _reachable(alias: str) -> bool:
    try:
        connections[alias].ensure_connection()
    except DatabaseError:
        _down_until[alias] = time.monotonic() + settings.SIPANAH_REPLICA_RETRY_SECONDS
        return False
    return True


class ReplicaReadsMiddleware:
    """Opens each request for the router: chooses its replica (or none), and marks clients that wrote."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        replicas = settings.SIPANAH_READ_REPLICAS
        if not replicas:
            return self.get_response(request)
        read_after = self._read_after(request)
        replica = self._replica(request, replicas, read_after)
        state = _Request(replica=replica)
        token = _request.set(state)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        if state.wrote or request.method not in SAFE_METHODS:
            try:
                lsn = primary_lsn()
            except DatabaseError:  # the primary is gone: the answer (an error page) needs no cookie
                return response
            response.set_signed_cookie(
                COOKIE,
                lsn,
                salt=_SALT,
                max_age=settings.SIPANAH_REPLICA_PIN_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        elif read_after is not None and replica is not None:
            response.delete_cookie(COOKIE, samesite="Lax")  # the replica has caught up with this client's writes
        if replica is not None and isinstance(response, StreamingHttpResponse) and not response.is_async:
            # A streamed export reads while it is sent, after this method returned: on the same replica.
            response.streaming_content = _reading_from(state, cast(Iterator[bytes], response.streaming_content))
        return response

    @staticmethod
    def _read_after(request: HttpRequest) -> str | None:
        value = request.get_signed_cookie(
            COOKIE, default=None, salt=_SALT, max_age=settings.SIPANAH_REPLICA_PIN_SECONDS
        )
        return value or None

    @staticmethod
    def _replica(request: HttpRequest, replicas: Iterable[str], read_after: str | None) -> str | None:
        if request.method not in SAFE_METHODS:
            return None
        candidates = _available(replicas)
        if not candidates:
            return None
        alias = random.choice(candidates)  # noqa: S311 - spreading load, not security
        if not _reachable(alias):
            return None
        if read_after is not None:
            try:
                if not replayed(alias, read_after):
                    return None  # this client's last write has not reached the replica yet
            except DatabaseError:
                _down_until[alias] = time.monotonic() + settings.SIPANAH_REPLICA_RETRY_SECONDS
                return None
        return alias


def _reading_from(state: _Request, chunks: Iterator[bytes]) -> Iterator[bytes]:
    token = _request.set(state)
    try:
        yield from chunks
    finally:
        # closed from another context (ASGI): nothing of this request was left in this one
        with contextlib.suppress(ValueError):
            _request.reset(token)
