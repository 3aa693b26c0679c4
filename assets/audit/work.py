"""The audit's work for the queues (assets.work): certification cases stuck in a BPN stage past the threshold, and
area mismatches to verify. Both run the findings themselves (assets.audit.findings, default options: the 180 days
and the area tolerance the finding pages use), so a queue never disagrees with its finding page.

The two sources share one snapshot of the user's part of the register per user object (a request, or one user of
the digest): the snapshot is one query for the assets and one for their certificates.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from assets.audit import findings
from assets.register.history import AssetState
from assets.register.models import User
from assets.register.reads import RegisterSelection
from assets.register.work import Scope, item, scope_of, with_query
from assets.work.registry import WorkItem, work_source


def _states(user: User, scope: Scope) -> list[AssetState]:
    """The live register of ``scope`` as snapshot states, kept on the user object for the other source."""
    key = (timezone.localdate(), scope.agency_id)
    cached: tuple[Any, list[AssetState]] | None = getattr(user, "_work_audit_states", None)
    if cached is None or cached[0] != key:
        params = {"agency": scope.agency_code} if not scope.every_agency else {}
        cached = (key, RegisterSelection.from_params(params, as_of=None).states())
        user._work_audit_states = cached  # type: ignore[attr-defined]
    return cached[1]


def _finding_url(slug: str) -> Any:
    def url_for(code: str) -> str:
        return with_query(reverse("audit-finding", args=[slug]), agency=code)

    return url_for


@work_source("stuck", order=10)
def stuck(user: User) -> list[WorkItem]:
    scope = scope_of(user, auditors=True)
    if scope is None:
        return []
    options = findings.FindingOptions()
    rows = findings.run_finding("stuck", _states(user, scope), options=options)
    counts = Counter(row.asset.agency_id for row in rows)
    detail = gettext("oldest: %(days)s days") % {"days": rows[0].values["days"]} if rows else ""
    title = gettext("Certificates stuck in a BPN stage for more than %(days)s days") % {"days": options.stuck_days}
    return [item("stuck", title, scope, counts, _finding_url("stuck"), severity="danger", detail=detail)]


@work_source("area-mismatch", order=30)
def area_mismatch(user: User) -> list[WorkItem]:
    scope = scope_of(user, auditors=True)
    if scope is None:
        return []
    rows = findings.run_finding("area-mismatch", _states(user, scope), options=findings.FindingOptions())
    counts = Counter(row.asset.agency_id for row in rows)
    title = gettext("Area mismatches to verify (KIB, certificate, GIS)")
    return [item("area-mismatch", title, scope, counts, _finding_url("area-mismatch"))]
