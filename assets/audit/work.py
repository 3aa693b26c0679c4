"""The audit's work for the queues (assets.work): certification cases stuck in a BPN stage past the threshold, and
area mismatches to verify. Both apply the rules of the findings (assets.audit.findings, default options: the 180 days
and the area tolerance the finding pages use), so a queue never disagrees with its finding page.

The finding pages read a snapshot in Python; the queues only count, so they ask the database: one grouped query
per source over the live tables (the stuck cases through the certificates' (stage, stage_since) index, the area
mismatches in one pass over the register's areas with the certificates' summed areas), instead of a snapshot of
the register in Python (2.5 s at 20,000 parcels, 20-30 s at 100k; tests/work/test_sources.py compares both).

The per-agency counts are kept in the cache, keyed by the scope, the day and the data they read: the register
version (every write of assets, raw SQL included, in commit order: assets.maps.tile_version) and the newest
certificate history row (every write of a certificate through the services or the admin). Reading that key is one
query; a change of either counts anew on the next read (0.1-0.6 s at 100k). A certificate changed by raw SQL alone
shows at the next write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from assets.audit import findings
from assets.maps import tile_version
from assets.register.models import Certificate, User
from assets.register.work import Scope, item, scope_of, with_query
from assets.work.registry import WorkItem, work_source

# The certificates of assets in the register (not removed) in a pipeline stage since before a day, per agency.
_STUCK_SQL = """
    SELECT a.agency_id, count(*), min(c.stage_since)
    FROM assets_certificate c JOIN assets_landasset a ON a.id = c.asset_id
    WHERE c.stage IN ({stages}) AND c.stage_since < %s AND a.removed_at IS NULL {agency}
    GROUP BY a.agency_id"""

# find_area_mismatch's rule: the certificates' stated area (their sum), else the KIB area, against the GIS area,
# beyond the larger of tolerance_pct % of that reference and tolerance_m2.
_MISMATCH_SQL = """
    SELECT agency_id, count(*) FROM (
      SELECT a.agency_id, a.luas_gis_m2 AS gis, coalesce(c.area, a.luas_kib_m2) AS ref
      FROM assets_landasset a LEFT JOIN (
        SELECT asset_id, sum(luas_sertifikat_m2) AS area FROM assets_certificate
        WHERE luas_sertifikat_m2 IS NOT NULL GROUP BY asset_id
      ) c ON c.asset_id = a.id
      WHERE a.removed_at IS NULL AND a.luas_gis_m2 IS NOT NULL {agency}
    ) m
    WHERE ref IS NOT NULL
      AND abs(gis - ref) > CASE WHEN abs(ref) * %s / 100 > %s THEN abs(ref) * %s / 100 ELSE %s END
    GROUP BY agency_id"""


def _rows(sql: str, before: list[Any], scope: Scope, after: tuple[Any, ...] = ()) -> list[tuple]:
    """``sql`` for ``scope`` (its ``{agency}`` narrowed to one agency, or every agency); ``before`` and ``after``:
    the parameters before and after that place."""
    agency = "" if scope.every_agency else "AND a.agency_id = %s"
    params = [*before, *([] if scope.every_agency else [scope.agency_id]), *after]
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{agency}", agency), params)
        return cursor.fetchall()


def _number(value: Any) -> Any:
    """A Decimal option as a parameter: SQLite compares floats (a Decimal would be bound as text)."""
    return value if connection.vendor == "postgresql" else float(value)


CACHE_SECONDS = 3600  # a safety net only: the key changes with every write


def _data_version() -> str:
    history = Certificate.history.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {tile_version.read_sql(connection.vendor)}, "  # noqa: S608 - module constants only
            f'coalesce((SELECT history_id FROM "{history}" ORDER BY history_id DESC LIMIT 1), 0)'
        )
        register, certificates = cursor.fetchone()
    return f"{register}:{certificates}"


def finding_counts(scope: Scope) -> dict[str, Any]:
    """Per agency id in ``scope``: the stuck cases, the oldest one's days and the area mismatches (cached per data
    version, above)."""
    options = findings.FindingOptions()
    raw = f"{timezone.localdate()}:{_data_version()}:{options}:{scope.agency_id}"
    key = f"work:findings:{hashlib.sha256(raw.encode()).hexdigest()}"
    counts = cache.get(key)
    if counts is None:
        stuck, oldest, days = stuck_counts(scope)
        counts = {"stuck": stuck, "stuck_oldest": oldest, "stuck_days": days, "area-mismatch": mismatch_counts(scope)}
        cache.set(key, counts, CACHE_SECONDS)
    return counts


def stuck_counts(scope: Scope) -> tuple[dict[int, int], dict[int, int], int]:
    """Per agency id in ``scope``: the stuck cases and the oldest one's days; and the threshold in days."""
    options = findings.FindingOptions()
    today = timezone.localdate()
    stages = ", ".join(["%s"] * len(findings.PIPELINE_STAGES))
    since = today - dt.timedelta(days=options.stuck_days)
    rows = _rows(_STUCK_SQL.replace("{stages}", stages), [*findings.PIPELINE_STAGES, since], scope)
    oldest = {agency: (today - _day(first)).days for agency, _n, first in rows}
    return {agency: n for agency, n, _first in rows}, oldest, options.stuck_days


def mismatch_counts(scope: Scope) -> dict[int, int]:
    """Per agency id in ``scope``: the assets whose GIS area is beyond the tolerance of their reference area."""
    options = findings.FindingOptions()
    pct, m2 = _number(options.tolerance_pct), _number(options.tolerance_m2)
    return dict(_rows(_MISMATCH_SQL, [], scope, (pct, m2, pct, m2)))


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))  # SQLite returns text


def _finding_url(slug: str) -> Any:
    def url_for(code: str) -> str:
        return with_query(reverse("audit-finding", args=[slug]), agency=code)

    return url_for


@work_source("stuck", order=10)
def stuck(user: User) -> list[WorkItem]:
    scope = scope_of(user, auditors=True)
    if scope is None:
        return []
    counts = finding_counts(scope)
    oldest = counts["stuck_oldest"].values()
    detail = gettext("oldest: %(days)s days") % {"days": max(oldest)} if oldest else ""
    title = gettext("Certificates stuck in a BPN stage for more than %(days)s days") % {"days": counts["stuck_days"]}
    return [item("stuck", title, scope, counts["stuck"], _finding_url("stuck"), severity="danger", detail=detail)]


@work_source("area-mismatch", order=30)
def area_mismatch(user: User) -> list[WorkItem]:
    scope = scope_of(user, auditors=True)
    if scope is None:
        return []
    title = gettext("Area mismatches to verify (KIB, certificate, GIS)")
    return [item("area-mismatch", title, scope, finding_counts(scope)["area-mismatch"], _finding_url("area-mismatch"))]
