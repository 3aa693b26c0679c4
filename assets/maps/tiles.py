"""Mapbox Vector Tiles of the register, through the spatial index on both databases.

Zoom bands (the numbers keep a tile under ~500 KB at 1,000,000 demo assets; docs/maps.md, docs/benchmarks.md):

- z >= POLYGON_MIN_ZOOM: every asset as its clipped polygon (a parcel of ~1,300 m² is 7+ pixels wide from z15).
- z == POINT_ZOOM: one point per asset (at z14 a parcel is 3-4 pixels; a polygon would cost more bytes for no detail).
- z < POINT_ZOOM: grid aggregates: one point per AGG_CELL x AGG_CELL tile-pixel cell with the count per status class.

Every feature sits in the layer ``assets``. Asset features carry ``id``, ``s`` (certificate status) and ``d`` (the
dispute stage SENGKETA/DIBLOKIR, absent otherwise): what the style needs; the popup reads the rest by id. Aggregate
features carry ``n`` (total), ``nb``/``np``/``nt`` (belum/proses/terbit) and ``nd`` (in dispute).

PostGIS builds the tile in one SQL statement with ST_AsMVT, filtered by ``geom && ST_Transform(ST_TileEnvelope())`` so
the GiST index is used; the polygons are read from the EPSG:3857 copy PostgreSQL keeps (assets.maps.tile_geometry)
rather than transformed per parcel and tile. SpatiaLite has no MVT encoder and GeoDjango's lookups never consult its
R*Tree, so the rows are pre-selected through the ``idx_assets_landasset_geom`` R*Tree explicitly and encoded with
mapbox-vector-tile.
The aggregate tiles of the whole register (no filter, not as of a date) sum per-cell counts kept by triggers
(assets.tile_cells) instead of reading every parcel: the same numbers, a few thousand rows at most.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import mapbox_vector_tile
import numpy as np
import psycopg
import shapely
from django.contrib.gis.geos import Polygon
from django.db import connection, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.http import QueryDict

from assets.maps import tile_cells, tile_geometry, tile_version
from assets.register import history, permissions
from assets.register.models import LandAsset
from assets.register.reads import RegisterSelection

LAYER = "assets"
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
POLYGON_MIN_ZOOM = 15
POINT_ZOOM = 14
CACHE_MAX_ZOOM = 13  # the views cache the aggregate tiles (costly, few: 4^13 at most, ~100 cover the city at z13)
AGG_CELL = 256  # tile units per aggregate cell: 16 x 16 cells per tile, 16 screen pixels each
TILE_SCHEMA = "1"  # bump when the tile content changes shape, so cached ETags stop matching
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

_TABLE = LandAsset._meta.db_table
_RTREE = f"idx_{_TABLE}_geom"
_RTREE_WHERE = (
    f'"{_TABLE}"."id" IN (SELECT pkid FROM "{_RTREE}" WHERE xmax >= %s AND xmin <= %s AND ymax >= %s AND ymin <= %s)'  # noqa: S608
)


class TileOutOfRange(ValueError):
    pass


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(f"zoom {z} is outside 0..{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise TileOutOfRange(f"tile {x}/{y} does not exist at zoom {z} (0..{n - 1})")


def tile_bounds_lonlat(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a Web Mercator tile in degrees."""
    n = 1 << z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def _reading() -> BaseDatabaseWrapper:
    """The connection tiles are read from: a read replica inside a GET request when one is configured
    (sipanah/db_router.py, docs/scaling.md), else the primary. The version and the tile come from the same one."""
    return connections[router.db_for_read(LandAsset)]


# --- register version: the ETag's invalidation rule -------------------------------------------------------------


def register_version() -> str:
    """A string that changes whenever an asset is added, changed or deleted: "<counter>-<history id>-<asset id>".

    The counter (assets.tile_version) changes with every committed transaction that writes assets, in commit
    order, however it writes; the newest asset-history id and asset id are kept beside it (history-only changes,
    and databases written before the counter existed). Read from the database on every request (no per-process
    memo), so a write made by any process shows in the next ETag; on PostGIS the tile statement reads it itself
    (``versioned_tile``), which costs no extra round trip.
    """
    with _reading().cursor() as cursor:
        cursor.execute(f"SELECT {tile_version.read_sql(connection.vendor)}")  # noqa: S608 - constant
        return cursor.fetchone()[0]


def tile_etag(*, version: str, z: int, x: int, y: int, query: str) -> str:
    digest = hashlib.sha256(f"{TILE_SCHEMA}|{version}|{z}/{x}/{y}|{query}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def cache_key(*, z: int, x: int, y: int, query: str) -> str:
    """The server cache key of a low-zoom tile (its value: (version, bytes), so a stale entry is never served)."""
    return "sipanah:tile:" + hashlib.sha256(f"{TILE_SCHEMA}|{z}/{x}/{y}|{query}".encode()).hexdigest()[:32]


# --- tile building ----------------------------------------------------------------------------------------------


def versioned_tile(selection: RegisterSelection, *, z: int, x: int, y: int) -> tuple[str, bytes]:
    """(register_version(), the tile of the selection): the version the tile was built from, for its ETag.

    PostGIS: one statement reads both, from the same snapshot, in one round trip. SpatiaLite: the version is read
    first, so a tile is never labelled with a version newer than its content (a newer content under an older
    version only costs the client one more download after the next change). As of a date PostGIS builds the tile
    in one statement over the history rows valid at the date (_postgis_as_of_tile); SpatiaLite, and PostGIS when
    some live rows have no history, read the version first and build the tile from the snapshot (as_of_tile).
    """
    check_tile(z, x, y)
    if not selection.live:
        if connection.vendor == "postgresql":
            assets_unrecorded, certificates_unrecorded = history.unrecorded_models()
            if not assets_unrecorded:  # the history rows only (rows without history are merged by as_of_tile)
                if selection.params or selection.refine is not None:
                    with history.one_read((assets_unrecorded, certificates_unrecorded)):
                        rows, params = _as_of_rows_sql(selection, z, x, y)
                else:
                    rows, params = _as_of_unfiltered_rows_sql(selection.as_of, certificates_unrecorded, z, x, y)  # type: ignore[arg-type]
                return _versioned(*_postgis_as_of_sql(rows, params, z, x, y))
        return register_version(), as_of_tile(selection, z=z, x=x, y=y)
    qs = None if selection.unfiltered else selection.queryset()  # None: the whole register, no ORM
    if connection.vendor == "postgresql":
        return _postgis_tile(qs, z, x, y)
    version = register_version()
    if qs is None and z < POINT_ZOOM:
        return version, _encode(_cell_features(z, x, y))
    qs = LandAsset.objects.filter(removed_at__isnull=True) if qs is None else qs
    return version, _spatialite_tile(qs.order_by().filter(geom__isnull=False), z, x, y)


def _cell_features(z: int, x: int, y: int) -> list[dict[str, Any]]:
    """The aggregate features of the whole register from the per-cell counts (assets.tile_cells)."""
    sql, params = tile_cells.tile_sql(z, x, y)
    with _reading().cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    half = AGG_CELL // 2
    return [
        {
            "geometry": shapely.Point(cx * AGG_CELL + half, cy * AGG_CELL + half),
            "properties": dict(zip(tile_cells.COUNTS, map(int, counts), strict=True)),
        }
        for cx, cy, *counts in rows
    ]


def _mercator_sql(z: int, x: int, y: int, box: str = "a.geom") -> tuple[str, str]:
    """SQL for the tile-pixel position of each asset's bounding-box centre, from ``box`` (a geometry, or its box2d
    already read: see _positioned)."""
    lon = f"((ST_XMin({box}) + ST_XMax({box})) / 2)"
    lat = f"radians((ST_YMin({box}) + ST_YMax({box})) / 2)"
    scale = float((1 << z) * EXTENT)
    px = f"(({lon} + 180.0) / 360.0 * {scale} - {x * EXTENT})"
    py = f"((1 - ln(tan({lat}) + 1 / cos({lat})) / pi()) / 2 * {scale} - {y * EXTENT})"
    return px, py


def _positioned(inner: str, columns: str, z: int, x: int, y: int) -> str:
    """A subquery of ``columns`` (SQL over ``a``, the rows of ``inner``, which has a ``geom``) with ``px`` and ``py``,
    the tile-pixel position of each row's bounding-box centre (_mercator_sql), each computed once per row.

    The bounding box is read once (``geom::box2d``): each ST_XMin/ST_XMax/ST_YMin/ST_YMax of a geometry deserializes
    it and computes its box again, six times per row in _mercator_sql's expression. The OFFSET 0 fences keep
    PostgreSQL from folding the subqueries into the caller's, which would copy the expressions into its WHERE and
    its select list and evaluate them twice (the same numbers: box2d holds the box's doubles)."""
    px, py = _mercator_sql(z, x, y, "a.box")
    return (
        f"SELECT {columns}{', ' if columns else ''}{px} AS px, {py} AS py "  # noqa: S608 - constants and the ORM's SQL
        f"FROM (SELECT i.*, i.geom::box2d AS box FROM ({inner}) i OFFSET 0) a OFFSET 0"
    )


def _postgis_tile(qs: QuerySet[LandAsset] | None, z: int, x: int, y: int) -> tuple[str, bytes]:
    return _versioned(*postgis_tile_sql(qs, z=z, x=x, y=y))


def _versioned(sql: str, params: tuple) -> tuple[str, bytes]:
    """(register version, tile) of a PostGIS tile statement (live or as of a date)."""
    # One statement, one round trip: the register version and the tile in one SELECT, so from the same snapshot and
    # the ETag matches the content. The version is read by the function assets_register_version() (migration 0006,
    # assets.tile_version.install_function): its lookups' plans are kept per connection, and as PARALLEL UNSAFE it
    # keeps PostgreSQL from planning parallel workers for the whole statement. A tile reads a few thousand index
    # hits, and starting workers costs more than the scan (3-4x slower at z12/z14, 3x at z16 on 1M assets,
    # docs/benchmarks.md). That replaced a SET LOCAL statement sent with every tile (plus a savepoint inside a
    # transaction), and the version's three lookups planned anew in every tile statement (0.07-0.15 ms).
    with _reading().cursor() as cursor:
        cursor.execute(f"SELECT {tile_version.VERSION_FUNCTION}(), ({sql})", params)  # noqa: S608 - constants
        version, data = cursor.fetchone()
    return version, bytes(data) if data is not None else b""


_HISTORY_TABLE = LandAsset.history.model._meta.db_table
_AS_OF_ENVELOPE = f'"{_HISTORY_TABLE}"."geom" && ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)'


def _as_of_rows_sql(selection: RegisterSelection, z: int, x: int, y: int) -> tuple[str, tuple]:
    """The SELECT of (id, status span, open case, geom) of the as-of rows in the tile's envelope, found
    through the history table's GiST index (RegisterSelection.as_of_sources, with the certificates' numbers derived
    per asset: history.SPAN, history.CASED)."""
    envelope = [z, x, y]
    [qs] = selection.as_of_sources(
        stage=True,
        disputed=True,
        few=True,
        refine=lambda qs: qs.extra(where=[_AS_OF_ENVELOPE], params=envelope),  # noqa: S610 - constant SQL
    )
    columns = ("id", history.SPAN, history.CASED, "geom", _MERCATOR, _CLEARANCE)
    mercator = {c: f'"{_HISTORY_TABLE}"."{c}"' for c in (_MERCATOR, _CLEARANCE)}  # the history's copies (tile_geometry)
    return qs.filter(geom__isnull=False).extra(select=mercator).values(*columns).query.sql_with_params()  # noqa: S610


# The whole register as of a date, compiled by the ORM once per process (its compilation cost 4x the SQL of a z16
# tile) with stand-in values for the date and the tile, which each tile's values then replace.
_STAND_IN_DAY = dt.date(1901, 1, 1)
_STAND_IN_TILE = (-7001, -7002, -7003)
_AS_OF_COMPILED: dict[bool, tuple[str, tuple]] = {}


def _as_of_unfiltered_rows_sql(
    as_of: dt.date, certificates_unrecorded: bool, z: int, x: int, y: int
) -> tuple[str, tuple]:
    if certificates_unrecorded not in _AS_OF_COMPILED:
        stand_in = RegisterSelection(params=QueryDict(), as_of=_STAND_IN_DAY)
        _AS_OF_COMPILED[certificates_unrecorded] = _as_of_rows_sql(stand_in, *_STAND_IN_TILE)
    sql, stand_in_params = _AS_OF_COMPILED[certificates_unrecorded]
    values = {
        _STAND_IN_DAY: as_of,
        history.end_of_day(_STAND_IN_DAY): history.end_of_day(as_of),
        **dict(zip(_STAND_IN_TILE, (z, x, y), strict=True)),
    }
    return sql, tuple(values.get(p, p) if isinstance(p, dt.date | int) else p for p in stand_in_params)


def _postgis_as_of_sql(rows: str, params: tuple, z: int, x: int, y: int) -> tuple[str, tuple]:
    """The tile of the register as of a date on PostGIS: the live tile's statement over the history rows valid at the
    date (``rows``: _as_of_rows_sql), the certificate status, stage and dispute flag derived as of the date in the
    same statement."""
    # OFFSET 0 keeps PostgreSQL from inlining the subquery, which would repeat its per-asset subqueries in each CASE.
    derived = history.derived_sql(f"q.{history.SPAN}", f"q.{history.CASED}")
    renamed = ", ".join(f"{sql} AS {name}" for name, sql in derived.items())
    inner = f"SELECT q.id, {renamed}, q.geom, q.{_MERCATOR}, q.{_CLEARANCE} FROM ({rows} OFFSET 0) q"  # noqa: S608
    return _postgis_mvt_sql(inner, params, z=z, x=x, y=y)


def signed_in_tile(
    user_id: int, *, z: int, x: int, y: int, build: bool, as_of: dt.date | None = None
) -> tuple[tuple, str, bytes | None] | None:
    """PostGIS, the whole register (live, or ``as_of`` a date), for the session's user: one statement, one round
    trip, that reads the user with their roles (permissions.signed_in_sql), the register version and, with
    ``build`` and only for a user who may read the register, the tile. Returns (the user's row for
    permissions.verified_roles, version, tile or None), or None when there is no such user, or as of a date when
    some asset has no history row (versioned_tile merges those). The caller serves the tile only once
    verified_roles accepts the row; otherwise it takes Django's usual path (sign-in check, role_required)."""
    if not build:
        sql, params = "SELECT NULL::bytea", ()
    elif as_of is None:
        sql, params = postgis_tile_sql(None, z=z, x=x, y=y)
    else:
        assets_unrecorded, certificates_unrecorded = history.unrecorded_models()
        if assets_unrecorded:
            return None
        sql, params = _postgis_as_of_sql(*_as_of_unfiltered_rows_sql(as_of, certificates_unrecorded, z, x, y), z, x, y)
    statement = permissions.signed_in_sql(f"{tile_version.VERSION_FUNCTION}()", sql)
    reading = _reading()  # a replica's when the router gives one (the session was read there too)
    # The statement's text is the same for every tile when the tile is not built (a cached or revalidated one) or is
    # a polygon tile (the coordinates are parameters): prepared once per connection. The point and aggregate
    # statements carry per-tile constants; they are planned each time, as before.
    prepared = not build or z >= POLYGON_MIN_ZOOM
    with _prepared_cursor(reading) if prepared else reading.cursor() as cursor:
        cursor.execute(statement, (*params, user_id))
        row = cursor.fetchone()
    if row is None:
        return None
    *user, version, data = row
    return tuple(user), version, (bytes(data) if data is not None else b"") if build else None


class _PreparingCursor(psycopg.Cursor):
    """A psycopg cursor that binds values on the server and has PostgreSQL prepare each statement it sends (once per
    connection and text; psycopg keeps the names, up to its prepared_max, 100)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().execute(query, params, prepare=True, **{k: v for k, v in kwargs.items() if k != "prepare"})


@contextmanager
def _prepared_cursor(wrapper: BaseDatabaseWrapper) -> Iterator[Any]:
    """A cursor of ``wrapper``'s connection whose statements PostgreSQL prepares: planned once per connection (a
    generic plan after its first five runs) instead of on every run. Planning the signed-in tile's statement cost
    0.16-0.44 ms, as much as running it for a z17 tile of the grid (docs/benchmarks.md). Django's own cursors bind
    values in the client (no prepared statements, for connection poolers in transaction mode: a pooler in front of
    Sipanah must keep prepared statements, e.g. PgBouncer >= 1.21 with max_prepared_statements). Wrapped as
    Django wraps its cursors (execute_wrapper, error translation). While Django logs queries (DEBUG, a test
    capturing them) this is Django's own cursor: psycopg keeps no text of a prepared run for the log to show."""
    if wrapper.queries_logged:
        with wrapper.cursor() as cursor:
            yield cursor
        return
    wrapper.ensure_connection()
    wrapper.validate_thread_sharing()
    if wrapper.connection.prepare_threshold is None:  # Django's default: psycopg would then prepare nothing at all
        # Only this cursor asks to prepare; no statement reaches the threshold through Django's cursors, which bind
        # in the client and never prepare.
        wrapper.connection.prepare_threshold = 2**31 - 1
    raw = _PreparingCursor(wrapper.connection)
    try:
        with wrapper.wrap_database_errors:
            yield wrapper.make_cursor(raw)
    finally:
        raw.close()


_MERCATOR = tile_geometry.COLUMN  # the parcel in EPSG:3857, kept by PostgreSQL (assets.maps.tile_geometry)
_CLEARANCE = tile_geometry.CLEARANCE  # its minimum clearance in metres, kept beside it
_MERCATOR_SELECT = {c: f'"{_TABLE}"."{c}"' for c in (_MERCATOR, _CLEARANCE)}  # for the ORM's extra(select=...)
_UNFILTERED_SQL = (  # constant SQL: the tile coordinates are parameters
    f"SELECT id, status_sertifikat, tahap_sertifikat, bermasalah, geom, {_MERCATOR}, {_CLEARANCE} "  # noqa: S608
    "FROM assets_landasset "
    "WHERE geom && ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326) AND removed_at IS NULL"
)


def postgis_tile_sql(
    qs: QuerySet[LandAsset] | None, *, z: int, x: int, y: int, cells: bool = True
) -> tuple[str, tuple]:
    """The one SQL statement that builds the tile on PostGIS (the bench runs it raw to measure our overhead).

    The whole register (qs None: the usual map) skips the ORM, whose compilation costs more than a small tile's SQL,
    and its aggregate tiles sum the per-cell counts (assets.tile_cells; cells=False: count the parcels, as filtered
    tiles do). Filters go through the ORM so that they mean exactly what AssetFilter says.
    """
    if qs is None and z < POINT_ZOOM and cells:
        cell_sql, params = tile_cells.tile_sql(z, x, y)
        half = AGG_CELL // 2
        sql = f"""
            SELECT ST_AsMVT(t, '{LAYER}', {EXTENT}, 'geom') FROM (
              SELECT ST_MakePoint(cx * {AGG_CELL} + {half}, cy * {AGG_CELL} + {half}) AS geom, n, nb, np, nt, nd
              FROM ({cell_sql}) c
            ) t"""  # noqa: S608 - constants; values are params
        return sql, params
    if qs is None:
        inner, params = _UNFILTERED_SQL, (z, x, y)
    else:
        qs = qs.order_by().filter(geom__isnull=False)
        qs = qs.extra(  # noqa: S610 - constant SQL, integer params
            where=[f'"{_TABLE}"."geom" && ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)'], params=[z, x, y]
        )
        fields = ("id", "status_sertifikat", "tahap_sertifikat", "bermasalah", "geom", _MERCATOR, _CLEARANCE)
        inner, params = qs.extra(select=_MERCATOR_SELECT).values(*fields).query.sql_with_params()  # noqa: S610
    return _postgis_mvt_sql(inner, params, z=z, x=x, y=y)


_WEB_MERCATOR_HALF = 20037508.342789244  # half the width of the world in EPSG:3857, ST_TileEnvelope's default bounds


def drawn_sql(extent: int, buffer: int) -> str:
    """SQL of the parcel ``a`` (its stored EPSG:3857 copy and clearance, assets.maps.tile_geometry) in tile
    coordinates, with the parameters drawn_params() gives.

    ``ST_AsMVTGeom`` clips every parcel to the tile and its buffer and makes the result valid (wagyu): most of a
    dense polygon tile's statement (z15 of the grid: 1,681 parcels). A parcel that lies within the buffered tile
    needs no clipping, and one whose minimum clearance is more than √2 tile units cannot be made invalid by
    rounding its vertices to the tile's grid (each moves by at most √2/2 units, so none can reach another vertex or
    an edge): those are transformed and rounded as ``ST_AsMVTGeom`` does (the same affine transform, to the last
    bit, and the same rounding) and oriented as it orients them; the rest go through ``ST_AsMVTGeom``. The shapes
    are the same; a ring may start at another vertex, and collinear vertices stay (tests/maps/test_tile_geometry.py).
    "Within" is tested on PostGIS's single-precision boxes (~1 m apart at Balikpapan's x in EPSG:3857): from z20,
    where the 64-unit buffer is narrower than that, a parcel may reach past the buffer unclipped, outside anything
    the tile shows."""
    mercator, clearance = f"a.{_MERCATOR}", f"a.{_CLEARANCE}"
    return (
        f"CASE WHEN {clearance} > %s AND {mercator} @ ST_TileEnvelope(%s, %s, %s, margin => {buffer / extent})"
        f" THEN ST_ForcePolygonCCW(ST_SnapToGrid(ST_Affine({mercator}, %s, 0, 0, %s, %s, %s), 1))"
        f" ELSE ST_AsMVTGeom({mercator}, ST_TileEnvelope(%s, %s, %s), {extent}, {buffer}, true) END"
    )


def drawn_params(z: int, x: int, y: int, extent: int) -> tuple:
    """The values of drawn_sql(): ST_TileEnvelope's arithmetic and then ST_AsMVTGeom's (PostGIS mvt.c), so that the
    vertices drawn either way are the same doubles before rounding."""
    width = (_WEB_MERCATOR_HALF + _WEB_MERCATOR_HALF) / float(1 << z)
    x1, x2 = -_WEB_MERCATOR_HALF + width * x, -_WEB_MERCATOR_HALF + width * (x + 1)
    y1, y2 = _WEB_MERCATOR_HALF - width * (y + 1), _WEB_MERCATOR_HALF - width * y
    fx, fy = extent / (x2 - x1), -(extent / (y2 - y1))
    return (math.sqrt(2) / fx, z, x, y, fx, fy, -x1 * fx, -y2 * fy, z, x, y)


def _postgis_mvt_sql(inner: str, params: tuple, *, z: int, x: int, y: int) -> tuple[str, tuple]:
    """The tile statement around ``inner``, a SELECT of (id, status_sertifikat, tahap_sertifikat, bermasalah, geom,
    the stored EPSG:3857 copy and its clearance) already limited to the tile's envelope."""
    dispute = "CASE WHEN a.bermasalah THEN a.tahap_sertifikat END"
    if z >= POLYGON_MIN_ZOOM:
        sql = f"""
            SELECT ST_AsMVT(t, '{LAYER}', {EXTENT}, 'geom') FROM (
              SELECT a.id, a.status_sertifikat AS s, {dispute} AS d, {drawn_sql(EXTENT, BUFFER)} AS geom
              FROM ({inner}) a
            ) t"""  # noqa: S608 - constants and the ORM's SQL; values are params
        # No "WHERE t.geom IS NOT NULL" for the parcels whose clipped shape is empty: ST_AsMVT skips rows whose
        # geometry is NULL (the same bytes), and PostgreSQL would copy ST_AsMVTGeom(ST_Transform()) into that WHERE
        # and compute it twice per parcel (a third of the statement).
        params = (*drawn_params(z, x, y, EXTENT), *params)
    elif z == POINT_ZOOM:
        positioned = _positioned(inner, f"a.id, a.status_sertifikat AS s, {dispute} AS d", z, x, y)
        sql = f"""
            SELECT ST_AsMVT(t, '{LAYER}', {EXTENT}, 'geom') FROM (
              SELECT id, s, d, ST_MakePoint(round(px), round(py)) AS geom FROM ({positioned}) p
              WHERE px >= 0 AND px < {EXTENT} AND py >= 0 AND py < {EXTENT}
            ) t"""  # noqa: S608 - constants and the ORM's SQL; values are params
    else:
        positioned = _positioned(inner, "a.status_sertifikat AS s, a.bermasalah AS b", z, x, y)
        half = AGG_CELL // 2
        sql = f"""
            SELECT ST_AsMVT(t, '{LAYER}', {EXTENT}, 'geom') FROM (
              SELECT ST_MakePoint(cx * {AGG_CELL} + {half}, cy * {AGG_CELL} + {half}) AS geom, count(*) AS n,
                     count(*) FILTER (WHERE s = 'belum') AS nb, count(*) FILTER (WHERE s = 'proses') AS np,
                     count(*) FILTER (WHERE s = 'terbit') AS nt, count(*) FILTER (WHERE b) AS nd
              FROM (
                SELECT floor(px / {AGG_CELL}) AS cx, floor(py / {AGG_CELL}) AS cy, s, b FROM ({positioned}) p
                WHERE px >= 0 AND px < {EXTENT} AND py >= 0 AND py < {EXTENT}
              ) c GROUP BY cx, cy
            ) t"""  # noqa: S608 - constants and the ORM's SQL; values are params
    return sql, tuple(params)


def _selection_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in lon/lat of the parcels a tile may show."""
    west, south, east, north = tile_bounds_lonlat(z, x, y)
    if z >= POLYGON_MIN_ZOOM:  # take the clipping buffer's neighbours too
        pad_x, pad_y = (east - west) * BUFFER / EXTENT, (north - south) * BUFFER / EXTENT
        west, east, south, north = west - pad_x, east + pad_x, south - pad_y, north + pad_y
    return west, south, east, north


def as_of_tile(selection: RegisterSelection, *, z: int, x: int, y: int) -> bytes:
    """The tile of the register as of a date (docs/register.md, the as-of rule), same layer and properties as the
    live tiles.

    The rows are the audit snapshot's (assets.audit: the history tables, with the certificate status derived
    as of the date), each source pre-selected by the tile's envelope (``geom && envelope`` on PostGIS). They are
    encoded in Python on both databases: the live PostGIS statement reads status columns that have no history.
    The fallback of versioned_tile (SpatiaLite; PostGIS while some live rows have no history): correct, not fast.
    """
    check_tile(z, x, y)
    west, south, east, north = _selection_bounds(z, x, y)
    envelope = Polygon.from_bbox((west, south, east, north))
    envelope.srid = 4326
    lookup = "geom__bboverlaps" if connection.vendor == "postgresql" else "geom__intersects"
    states = selection.states(with_geom=True, refine=lambda qs: qs.filter(**{lookup: envelope}))
    rows = [(a.id, a.status, a.tahap, a.bermasalah, a.wkb) for a in states if a.wkb is not None]
    if z >= POLYGON_MIN_ZOOM:
        return _encode(_polygon_features(rows, z, x, y))
    bounds = shapely.bounds(shapely.from_wkb([r[4] for r in rows])) if rows else np.empty((0, 4))
    boxes = [(*r[:4], b[0], b[2], b[1], b[3]) for r, b in zip(rows, bounds, strict=True)]
    return _encode(_point_features(boxes, z, x, y))


def _spatialite_tile(qs: QuerySet[LandAsset], z: int, x: int, y: int) -> bytes:
    west, south, east, north = _selection_bounds(z, x, y)
    # The R*Tree stores float32 boxes rounded outwards, so this pre-selection never misses a parcel.
    qs = qs.extra(  # noqa: S610 - constant SQL, float params
        where=[_RTREE_WHERE],
        params=[west, east, south, north],
    )
    if z >= POLYGON_MIN_ZOOM:
        rows = _raw_rows(qs, wkb=f'AsBinary("{_TABLE}"."geom")')
        return _encode(_polygon_features(rows, z, x, y))
    rows = _raw_rows(
        qs,
        x0=f'MbrMinX("{_TABLE}"."geom")',
        x1=f'MbrMaxX("{_TABLE}"."geom")',
        y0=f'MbrMinY("{_TABLE}"."geom")',
        y1=f'MbrMaxY("{_TABLE}"."geom")',
    )
    return _encode(_point_features(rows, z, x, y))


def _raw_rows(qs: QuerySet[LandAsset], **columns: str) -> list[tuple]:
    """(id, status, stage, disputed, *columns) of qs, compiled by the ORM (the filters mean what AssetFilter says)
    but fetched on a plain cursor: Django's row conversion (a GEOS geometry per parcel, then its WKB again) took
    longer than encoding the tile."""
    qs = qs.annotate(**{name: RawSQL(sql, []) for name, sql in columns.items()})  # noqa: S611 - constants
    sql, params = qs.values_list(
        "id", "status_sertifikat", "tahap_sertifikat", "bermasalah", *columns
    ).query.sql_with_params()
    with connections[qs.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _point_features(rows: list[tuple], z: int, x: int, y: int) -> list[dict[str, Any]]:
    """Points (z == POINT_ZOOM) or grid aggregates (lower) of rows (id, status, stage, disputed, x0, x1, y0, y1)."""
    if not rows:
        return []
    ids = np.array([r[0] for r in rows])
    lon = np.array([(r[4] + r[5]) / 2 for r in rows])
    lat = np.radians(np.array([(r[6] + r[7]) / 2 for r in rows]))
    px, py = _lonlat_to_tile(lon, lat, z, x, y)
    inside = (px >= 0) & (px < EXTENT) & (py >= 0) & (py < EXTENT)
    if z == POINT_ZOOM:
        return [
            {
                "geometry": shapely.Point(round(px[i]), round(py[i])),
                "properties": _asset_properties(int(ids[i]), rows[i][1], rows[i][2], rows[i][3]),
            }
            for i in np.flatnonzero(inside)
        ]
    return _aggregate(rows, px, py, inside)


def _encode(features: list[dict[str, Any]]) -> bytes:
    if not features:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": LAYER, "features": features}], default_options={"y_coord_down": True, "extents": EXTENT}
    )


def _lonlat_to_tile(lon: np.ndarray, lat_rad: np.ndarray, z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    scale = (1 << z) * EXTENT
    px = (lon + 180.0) / 360.0 * scale - x * EXTENT
    py = (1 - np.log(np.tan(lat_rad) + 1 / np.cos(lat_rad)) / math.pi) / 2 * scale - y * EXTENT
    return px, py


def _asset_properties(pk: int, status: str, stage: str, disputed: bool) -> dict[str, Any]:
    props: dict[str, Any] = {"id": pk, "s": status}
    if disputed:
        props["d"] = stage
    return props


def clipped_to_tile(wkbs: list[bytes], z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat WKBs in tile units, clipped to the tile and its buffer, as one array: (shapes, indexes of those
    not empty). Every tile layer drawn in Python (the register's, the encumbrances') clips through here."""
    lo, hi = -BUFFER, EXTENT + BUFFER

    def to_tile(coords: np.ndarray) -> np.ndarray:
        px, py = _lonlat_to_tile(coords[:, 0], np.radians(coords[:, 1]), z, x, y)
        return np.column_stack([px, py])

    shapes = shapely.clip_by_rect(shapely.transform(shapely.from_wkb(wkbs), to_tile), lo, lo, hi, hi)
    return shapes, np.flatnonzero(~shapely.is_empty(shapes))


def _polygon_features(rows: Iterable[tuple], z: int, x: int, y: int) -> list[dict[str, Any]]:
    """Clipped polygons of rows (id, status, stage, disputed, WKB in lon/lat), transformed and clipped as one array."""
    rows = list(rows)
    if not rows:
        return []
    shapes, keep = clipped_to_tile([r[4] for r in rows], z, x, y)
    return [
        {"geometry": shapes[i], "properties": _asset_properties(rows[i][0], rows[i][1], rows[i][2], rows[i][3])}
        for i in keep
    ]


def _aggregate(rows: list[tuple], px: np.ndarray, py: np.ndarray, inside: np.ndarray) -> list[dict[str, Any]]:
    """The grid aggregates of the rows inside the tile: counts per AGG_CELL cell, summed with numpy."""
    keep = np.flatnonzero(inside)
    if not len(keep):
        return []
    per_side = EXTENT // AGG_CELL
    cell = (px[keep] // AGG_CELL).astype(np.int64) * per_side + (py[keep] // AGG_CELL).astype(np.int64)
    cells, slot = np.unique(cell, return_inverse=True)
    status = np.array([rows[i][1] for i in keep])
    disputed = np.array([bool(rows[i][3]) for i in keep])
    counts = {
        "n": np.bincount(slot, minlength=len(cells)),
        "nb": np.bincount(slot, weights=status == "belum", minlength=len(cells)),
        "np": np.bincount(slot, weights=status == "proses", minlength=len(cells)),
        "nt": np.bincount(slot, weights=status == "terbit", minlength=len(cells)),
        "nd": np.bincount(slot, weights=disputed, minlength=len(cells)),
    }
    half = AGG_CELL // 2
    return [
        {
            "geometry": shapely.Point((c // per_side) * AGG_CELL + half, (c % per_side) * AGG_CELL + half),
            "properties": {name: int(values[j]) for name, values in counts.items()},
        }
        for j, c in enumerate(cells.tolist())
    ]


# --- outline tiles (the public layer) -----------------------------------------------------------------------------

OUTLINE_LAYER = "land"
OUTLINE_EXTENT = 1024  # a quarter of the register's grid: at z15 one unit is ~1.2 m, an outline, not a survey


def outline_tile(qs: QuerySet[LandAsset] | None, *, z: int, x: int, y: int) -> bytes:
    """A tile of ``qs`` that carries geometry only: outlines (z >= POLYGON_MIN_ZOOM), bare points (POINT_ZOOM) or
    grid cells with their count ``n`` alone (lower zooms); no id, no status, no attribute of any parcel, on a grid
    four times coarser than the register's tiles. For the public pages (assets.public), whose queryset is already
    limited to what BPKAD publishes. ``qs`` None: every live located parcel, read as the register's own tiles
    read it (low zooms from the per-cell counts, assets.maps.tile_cells; constant SQL without the ORM)."""
    check_tile(z, x, y)
    whole_register = qs is None
    if whole_register and z < POINT_ZOOM:
        shrink = EXTENT // OUTLINE_EXTENT
        return _encode_outlines(
            [
                {
                    "geometry": shapely.Point(f["geometry"].x // shrink, f["geometry"].y // shrink),
                    "properties": {"n": f["properties"]["n"]},
                }
                for f in _cell_features(z, x, y)
            ]
        )
    if connection.vendor == "postgresql":
        sql, params = outline_sql(qs, z=z, x=x, y=y)
        with _reading().cursor() as cursor:
            cursor.execute(sql, params)
            data = cursor.fetchone()[0]
        return bytes(data) if data is not None else b""
    qs = LandAsset.objects.filter(removed_at__isnull=True) if qs is None else qs
    qs = qs.order_by().filter(geom__isnull=False)
    west, south, east, north = _selection_bounds(z, x, y)
    qs = qs.extra(where=[_RTREE_WHERE], params=[west, east, south, north])  # noqa: S610 - constant SQL
    if z >= POLYGON_MIN_ZOOM:
        features = _polygon_features(_raw_rows(qs, wkb=f'AsBinary("{_TABLE}"."geom")'), z, x, y)
        shrink = EXTENT // OUTLINE_EXTENT
        shapes = [shapely.set_precision(shapely.transform(f["geometry"], lambda c: c / shrink), 1.0) for f in features]
        outlines = [{"geometry": s, "properties": {}} for s in shapes if not shapely.is_empty(s)]
        return _encode_outlines(outlines)
    boxes = _raw_rows(
        qs,
        x0=f'MbrMinX("{_TABLE}"."geom")',
        x1=f'MbrMaxX("{_TABLE}"."geom")',
        y0=f'MbrMinY("{_TABLE}"."geom")',
        y1=f'MbrMaxY("{_TABLE}"."geom")',
    )
    features = _point_features(boxes, z, x, y)
    shrink = EXTENT // OUTLINE_EXTENT
    return _encode_outlines(
        [
            {
                "geometry": shapely.Point(f["geometry"].x // shrink, f["geometry"].y // shrink),
                "properties": {"n": int(f["properties"]["n"])} if z < POINT_ZOOM else {},
            }
            for f in features
        ]
    )


def outline_sql(qs: QuerySet[LandAsset] | None, *, z: int, x: int, y: int) -> tuple[str, tuple]:
    """The PostGIS statement of an outline tile of ``qs`` (None: the whole live register) at z >= POINT_ZOOM, or of
    a filtered one at any zoom (the bench runs it raw to measure the view's overhead)."""
    if qs is None:
        return _outline_sql(_UNFILTERED_SQL, (z, x, y), z, x, y)
    qs = qs.order_by().filter(geom__isnull=False)
    qs = qs.extra(  # noqa: S610 - constant SQL, integer params
        where=[f'"{_TABLE}"."geom" && ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)'], params=[z, x, y]
    )
    inner, params = qs.extra(select=_MERCATOR_SELECT).values("geom", _MERCATOR, _CLEARANCE).query.sql_with_params()  # noqa: S610
    return _outline_sql(inner, tuple(params), z, x, y)


def _outline_sql(inner: str, params: tuple, z: int, x: int, y: int) -> tuple[str, tuple]:
    extent, buffer = OUTLINE_EXTENT, BUFFER // (EXTENT // OUTLINE_EXTENT)
    if z >= POLYGON_MIN_ZOOM:
        sql = f"""
            SELECT ST_AsMVT(t, '{OUTLINE_LAYER}', {extent}, 'geom') FROM (
              SELECT {drawn_sql(extent, buffer)} AS geom FROM ({inner}) a
            ) t"""  # noqa: S608 - constants and the ORM's SQL; values are params (no WHERE: as _postgis_mvt_sql)
        return sql, (*drawn_params(z, x, y, extent), *params)
    positioned = _positioned(inner, "", z, x, y)
    cell = AGG_CELL
    if z == POINT_ZOOM:
        sql = f"""
            SELECT ST_AsMVT(t, '{OUTLINE_LAYER}', {extent}, 'geom') FROM (
              SELECT ST_MakePoint(floor(px / 4), floor(py / 4)) AS geom FROM ({positioned}) p
              WHERE px >= 0 AND px < {EXTENT} AND py >= 0 AND py < {EXTENT}
            ) t"""  # noqa: S608 - constants and the ORM's SQL; values are params
        return sql, params
    half = cell // 2
    sql = f"""
        SELECT ST_AsMVT(t, '{OUTLINE_LAYER}', {extent}, 'geom') FROM (
          SELECT ST_MakePoint((cx * {cell} + {half}) / 4, (cy * {cell} + {half}) / 4) AS geom, count(*) AS n FROM (
            SELECT floor(px / {cell}) AS cx, floor(py / {cell}) AS cy FROM ({positioned}) p
            WHERE px >= 0 AND px < {EXTENT} AND py >= 0 AND py < {EXTENT}
          ) c GROUP BY cx, cy
        ) t"""  # noqa: S608 - constants and the ORM's SQL; values are params
    return sql, params


def _encode_outlines(features: list[dict[str, Any]]) -> bytes:
    if not features:
        return b""
    return mapbox_vector_tile.encode(
        [{"name": OUTLINE_LAYER, "features": features}],
        default_options={"y_coord_down": True, "extents": OUTLINE_EXTENT},
    )
