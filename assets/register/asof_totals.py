"""The register's totals as of any date, kept by triggers: the maintained totals (assets.register.aggregates) of the
register as of a date, so an as-of list, map or aggregate reads a few hundred rows instead of every asset.

Two tables, written only by the SQL here, which the triggers of assets.register.history_validity run after the
history intervals and the certificate status spans of the assets a statement touches:

- ``assets_asofpiece`` (AsOfPiece): each asset's contribution to the totals as spans of time. An asset's history
  row (or, without history, its live row) holds for ``s < t <= u`` (history.valid_at's rule), its certificate status
  span (CertificateStatusSpan) for its own span of time; where both hold unchanged the asset is one piece: its group
  (agency, kecamatan, kelurahan, status and stage as of then, plotting status, removed or not) and its sums;
- ``assets_asoftotal`` (AsOfTotal): per day and group, what the pieces add on that day (a piece starting on the
  local day of its ``s``) and take away (on the local day of its ``u``). The register as of D (the end of day D) is
  the sum of the rows dated D or earlier, per group: ``s < end_of_day(D)`` is "local day of s <= D", and
  ``end_of_day(D) <= u`` is "D < local day of u".

A recount of an asset takes its old pieces out of the day totals, writes its pieces again and adds them back: a
statement touching few assets costs a few rows, whatever the register's size. The day totals are integers like the
maintained ones (hundredths of m², whole rupiah): exact sums on both databases; "located" is the as-of rule's
(plotting status not unknown). Rows whose sums are all zero are deleted.
"""

# ruff: noqa: S608 - every statement here is built from this module's constants

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from assets.register.aggregates import KEY_COLUMNS, SUMS  # the live totals' groups and sums, as of a date
from assets.register.models import CertificateStatus, PlottingStatus, Stage
from assets.register.rules import STAGE_RANK, STATUS_CODE

PIECES = "assets_asofpiece"
LEDGER = "assets_asoftotal"
ASSETS, ASSET_HISTORY = "assets_landasset", "assets_historicallandasset"
UNRECORDED = "assets_unrecordedrow"
SPANS = "assets_certificatestatusspan"
# The columns of a live asset a piece reads (while it has no history row).
PIECE_COLUMNS = ("agency_id", "kecamatan_id", "kelurahan_id", "plotting_status", "removed_at", "luas_kib_m2",
                 "luas_gis_m2", "nilai_perolehan", "created_at")  # fmt: skip


# The assets a PostGIS trigger recounts: its plpgsql array ``affected`` (assets.register.history_validity), as the
# SELECT of ids the functions here take.
AFFECTED = "SELECT unnest(affected)"


def member(column: str, ids: str) -> str:
    """SQL: ``column`` is one of ``ids`` (a SELECT of ids). The trigger's array (AFFECTED) is tested as
    ``= ANY(affected)``, whose size PostgreSQL reads off the array; as a subquery over its unnest it counts as 200 rows
    whatever its length, and a 10,000-parcel batch of an import was planned as nested loops that scanned the history
    for each of them (6-10 s a batch at 100k, growing with the history)."""
    return f"{column} = ANY(affected)" if ids == AFFECTED else f"{column} IN ({ids})"


def narrowed(column: str, ids: str | None) -> str:
    """`` AND column = ANY(affected)`` in a PostGIS trigger's recount (``ids`` AFFECTED), else nothing: a join to a
    whole history or span table repeats the recounted set, so that PostgreSQL reads only those assets' rows instead
    of merging the whole table in (the whole asset history, once per 10,000-parcel batch of an import: 3-5 s a batch
    at 100k, growing with the register). Not on the live assets' join: that one goes through the unrecorded rows,
    whose statistics always say empty (they are listed and taken off within each batch), and with the set repeated
    PostgreSQL planned it as a nested loop of 10,000 x 10,000 (19 s a batch)."""
    return f" AND {member(column, ids)}" if ids == AFFECTED else ""


def _row_values(r: str, postgis: bool) -> str:
    """An asset row's group (but status and stage) and sums, named."""
    return ", ".join(f"{e} AS {name}" for name, e in _row_expressions(r, postgis).items())


def _row_expressions(r: str, postgis: bool) -> dict[str, str]:
    as_int = "round({})::bigint" if postgis else "CAST(round({}) AS INTEGER)"
    removed = f"({r}.removed_at IS NOT NULL)"
    located = f"({r}.plotting_status <> '{PlottingStatus.UNKNOWN}')"
    values = {
        "agency_id": f"{r}.agency_id",
        "kecamatan_id": f"coalesce({r}.kecamatan_id, 0)",
        "kelurahan_id": f"coalesce({r}.kelurahan_id, 0)",
        "plotting_status": f"{r}.plotting_status",
        "removed": removed if postgis else f"CAST({removed} AS INTEGER)",
        "located": f"{located}::integer" if postgis else f"CAST({located} AS INTEGER)",
        "luas_kib_c": as_int.format(f"{r}.luas_kib_m2 * 100"),
        "luas_gis_c": f"coalesce({as_int.format(f'{r}.luas_gis_m2 * 100')}, 0)",
        "nilai": as_int.format(f"{r}.nilai_perolehan"),
    }
    return values


def _names(column: str, codes: dict[str, int], default: str) -> str:
    whens = " ".join(f"WHEN {code} THEN '{name}'" for name, code in codes.items())
    return f"CASE coalesce({column}, 0) {whens} ELSE '{default}' END"


def pieces_sql(assets: str | None, postgis: bool) -> str:
    """INSERT the pieces of the assets ``assets`` (a SELECT of ids; None: all). No CTE (SQLite allows none in a
    trigger): the same derived tables are written out where they are read."""
    only = f" AND {member('{r}.id', assets)}" if assets is not None else ""
    # the live rows among the unrecorded ones, the set tested there: tested on the live table's index instead,
    # PostgreSQL sorted the whole ``affected`` array again for each unrecorded row (3-4 s per 10,000-parcel batch)
    listed = f" AND {member('row_id', assets)}" if assets is not None else ""
    start = "CASE WHEN h.history_valid_from < h.history_date THEN h.history_valid_from ELSE h.history_date END"
    rows = (
        f"(SELECT h.id AS asset_id, {start} AS s, h.history_valid_until AS u, {_row_values('h', postgis)} "
        f"FROM {ASSET_HISTORY} h WHERE h.history_type <> '-'{only.format(r='h')} "
        f"UNION ALL SELECT l.id, l.created_at, NULL, {_row_values('l', postgis)} FROM {ASSETS} l "
        f"WHERE l.id IN (SELECT row_id FROM {UNRECORDED} WHERE \"table\" = '{ASSETS}'{listed}))"
    )
    span_only = f" WHERE {member('asset_id', assets)}" if assets is not None else ""
    spans = f"(SELECT asset_id, valid_from AS s, valid_until AS u, status_code, stage_rank FROM {SPANS}{span_only})"
    points = (
        f"SELECT asset_id, s AS p FROM {rows} r1 UNION SELECT asset_id, u FROM {rows} r2 WHERE u IS NOT NULL "
        f"UNION SELECT asset_id, s FROM {spans} s1 UNION SELECT asset_id, u FROM {spans} s2 WHERE u IS NOT NULL"
    )
    steps = f"SELECT asset_id, p AS lo, lead(p) OVER (PARTITION BY asset_id ORDER BY p) AS hi FROM ({points}) pt"
    status = _names("sp.status_code", STATUS_CODE, CertificateStatus.BELUM)
    stage = _names("sp.stage_rank", STAGE_RANK, Stage.BELUM)
    columns = ", ".join(("asset_id", "valid_from", "valid_until", *KEY_COLUMNS, *SUMS))
    # The row a step lies in: the asset's history row, or its live row while it has none. Joined as the tables
    # themselves, through their indexes (the history's id, the live primary key, the spans' asset_id), not as the
    # derived table ``rows``: SQLite joined that one by scanning it for every step, N x N for a recount of N
    # assets (12.9 s for 20,000; PostgreSQL hashes either).
    recorded, live = _row_expressions("h", postgis), _row_expressions("l", postgis)
    row = {name: f"CASE WHEN h.history_id IS NOT NULL THEN {e} ELSE {live[name]} END" for name, e in recorded.items()}
    return (
        f"INSERT INTO {PIECES} ({columns}) SELECT st.asset_id, st.lo, st.hi, {row['agency_id']}, "
        f"{row['kecamatan_id']}, {row['kelurahan_id']}, {status}, {stage}, {row['plotting_status']}, "
        f"{row['removed']}, 1, {row['located']}, {row['luas_kib_c']}, {row['luas_gis_c']}, {row['nilai']} "
        f"FROM ({steps}) st "
        f"LEFT JOIN {ASSET_HISTORY} h ON h.id = st.asset_id AND h.history_type <> '-' AND {start} <= st.lo "
        f"AND (h.history_valid_until IS NULL OR h.history_valid_until >= st.hi){narrowed('h.id', assets)} "
        f"LEFT JOIN {ASSETS} l ON l.id = st.asset_id AND l.created_at <= st.lo "
        f"AND l.id IN (SELECT row_id FROM {UNRECORDED} WHERE \"table\" = '{ASSETS}') "
        f"LEFT JOIN {SPANS} sp ON sp.asset_id = st.asset_id AND sp.valid_from <= st.lo "
        f"AND (sp.valid_until IS NULL OR sp.valid_until >= st.hi){narrowed('sp.asset_id', assets)} "
        "WHERE h.history_id IS NOT NULL OR l.id IS NOT NULL;"
    )


def _day(column: str, postgis: bool) -> str:
    """The local day of an instant (TIME_ZONE; SQLite holds instants as UTC text, and the zone's offset now stands
    for every instant: Asia/Makassar keeps one offset all year)."""
    if postgis:
        return f"(({column}) AT TIME ZONE '{settings.TIME_ZONE}')::date"
    offset = timezone.get_default_timezone().utcoffset(dt.datetime(2000, 1, 1)) or dt.timedelta(0)
    return f"date({column}, '{int(offset.total_seconds()) // 60:+d} minutes')"


def _ledger_rows(pieces: str, sign: int, postgis: bool) -> str:
    """What the pieces ``pieces`` (a FROM item) add to the day totals (``sign`` 1) or take from them (-1): each
    piece on the local day of its start, and the opposite on the local day of its end."""
    keys = ", ".join(KEY_COLUMNS)
    plus = ", ".join(f"{'' if sign > 0 else '-'}{c} AS {c}" for c in SUMS)
    minus = ", ".join(f"{'-' if sign > 0 else ''}{c} AS {c}" for c in SUMS)
    return (
        f"SELECT {_day('valid_from', postgis)} AS day, {keys}, {plus} FROM {pieces} "
        f"UNION ALL SELECT {_day('valid_until', postgis)}, {keys}, {minus} FROM {pieces} WHERE valid_until IS NOT NULL"
    )


def ledger_sql(rows: str) -> str:
    """Add ``rows`` (_ledger_rows, one or more joined by UNION ALL) to the day totals, summed per day and group.
    Only the (day, group) whose sums change are written: an edit that moves no total (a name, a note) touches no
    row of the day totals, so writers of different assets of a group do not wait for each other's commit there."""
    keys = ", ".join(KEY_COLUMNS)
    totals = ", ".join(f"sum({c})" for c in SUMS)
    changed = " OR ".join(f"sum({c}) <> 0" for c in SUMS)
    upsert = ", ".join(f"{c} = {LEDGER}.{c} + excluded.{c}" for c in SUMS)
    return (
        f"INSERT INTO {LEDGER} (day, {keys}, {', '.join(SUMS)}) SELECT day, {keys}, {totals} FROM ({rows}) d "
        f"WHERE true GROUP BY day, {keys} HAVING {changed} ON CONFLICT (day, {keys}) DO UPDATE SET {upsert};"
    )


def refresh_sql(assets: str | None, postgis: bool) -> list[str]:
    """Recount the pieces of the assets ``assets`` (None: all) and move the day totals with them: the old pieces
    are set aside (their asset id negated: ids are positive), the new ones written, the day totals moved by the
    difference of the two in one statement, and the old ones deleted."""
    empty = " AND ".join(f"{c} = 0" for c in SUMS)
    if assets is None:
        return [
            f"DELETE FROM {LEDGER};",
            f"DELETE FROM {PIECES};",
            pieces_sql(None, postgis),
            ledger_sql(_ledger_rows(PIECES, 1, postgis)),
            f"DELETE FROM {LEDGER} WHERE {empty};",
        ]
    # Set aside, the old pieces are the only rows with a negative id this transaction sees (each recount deletes
    # its own before it ends; another transaction's are not visible): found through the asset_id index as a range.
    old_pieces = f"(SELECT * FROM {PIECES} WHERE asset_id < 0) o"
    new_pieces = f"(SELECT * FROM {PIECES} WHERE {member('asset_id', assets)}) n"
    return [
        f"UPDATE {PIECES} SET asset_id = -asset_id WHERE {member('asset_id', assets)};",
        pieces_sql(assets, postgis),
        ledger_sql(_ledger_rows(old_pieces, -1, postgis) + " UNION ALL " + _ledger_rows(new_pieces, 1, postgis)),
        f"DELETE FROM {PIECES} WHERE asset_id < 0;",
        f"DELETE FROM {LEDGER} WHERE {empty};",
    ]
