"""The audit's work for the queues (assets.work): certification cases stuck in a BPN stage past the threshold, and
area mismatches to verify. Both run the findings themselves (assets.audit.findings, default options: the 180 days
and the area tolerance the finding pages use), so a queue never disagrees with its finding page.

The findings read a snapshot in Python (an officer's: their agency's part of the register; BPKAD's: all of it, a
second or two at 20,000 parcels). Their per-agency counts are therefore kept in the cache, keyed by the scope, the
day and the data they read: the register version (every write of assets, in commit order: assets.maps.tile_version)
and the newest certificate history row (every write of a certificate). Reading that key is one query; a change of
either computes the counts anew on the next read.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from assets.audit import findings
from assets.maps import tile_version
from assets.register.models import Certificate, User
from assets.register.reads import RegisterSelection
from assets.register.work import Scope, item, scope_of, with_query
from assets.work.registry import WorkItem, work_source

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
    """Per agency id: the stuck cases and the oldest one's days, and the area mismatches, of the live register in
    ``scope`` (one agency for an officer: a snapshot of that agency only; every agency for the others)."""
    options = findings.FindingOptions()
    raw = f"{timezone.localdate()}:{_data_version()}:{options}:{scope.agency_id}"
    key = f"work:findings:{hashlib.sha256(raw.encode()).hexdigest()}"
    counts = cache.get(key)
    if counts is None:
        params = {} if scope.every_agency else {"agency": scope.agency_code}
        states = RegisterSelection.from_params(params, as_of=None).states()
        stuck = findings.run_finding("stuck", states, options=options)
        oldest: dict[int | None, int] = {}
        for row in stuck:  # sorted, oldest first
            oldest.setdefault(row.asset.agency_id, row.values["days"])
        mismatch = findings.run_finding("area-mismatch", states, options=options)
        counts = {
            "stuck": dict(Counter(row.asset.agency_id for row in stuck)),
            "stuck_oldest": oldest,
            "area-mismatch": dict(Counter(row.asset.agency_id for row in mismatch)),
            "stuck_days": options.stuck_days,
        }
        cache.set(key, counts, CACHE_SECONDS)
    return counts


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
