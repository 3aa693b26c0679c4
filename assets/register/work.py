"""The register's work for the queues (assets.work): parcels without a location. Also the rule every room's
sources share for whose work a user sees (``scope_of``) and the per-agency breakdown of a count.

Who sees what: an officer sees the work of their own agency; BPKAD and admins see every agency, with the count of
each; auditors see, read-only, the sources that name them as readers; planners see nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext

from assets.register import permissions
from assets.register.models import Agency, LandAsset, PlottingStatus, User
from assets.work.registry import AgencyCount, WorkItem, work_source


@dataclass(frozen=True)
class Scope:
    """Whose work a user sees: one agency (``agency_id``) or every agency (``agency_id`` None)."""

    agency_id: int | None
    agency_code: str = ""
    read_only: bool = False  # auditors: they look, others act

    @property
    def every_agency(self) -> bool:
        return self.agency_id is None


def scope_of(user: User, *, auditors: bool = False, officers: bool = True) -> Scope | None:
    """The scope of ``user`` for a source: None when the source has nothing for them."""
    roles = permissions.user_roles(user)
    if roles & {permissions.BPKAD, permissions.ADMIN}:
        return Scope(None)
    agency = user.agency if officers and permissions.OFFICER in roles else None
    if agency is not None:
        return Scope(agency.pk, agency.code)
    if auditors and permissions.AUDITOR in roles:
        return Scope(None, read_only=True)
    return None


def with_query(url: str, **params: Any) -> str:
    """``url`` with the query ``params`` (None values left out)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{url}?{query}" if query else url


def breakdown(
    counts: Mapping[Any, int], url_for: Callable[[str], str], names: Iterable[tuple[int, str, str]] | None = None
) -> tuple[AgencyCount, ...]:
    """Per-agency counts (agency id -> count; None: no agency), largest first, each with the URL ``url_for(code)``.
    ``names``: (id, code, name) rows already read; otherwise one query for the agencies counted."""
    ids = [i for i in counts if i is not None]
    if names is None:
        names = Agency.objects.filter(id__in=ids).values_list("id", "code", "name") if ids else []
    known = {i: (code, name) for i, code, name in names}
    rows = []
    for agency_id, count in counts.items():
        if not count:
            continue
        code, name = known.get(agency_id, ("", gettext("No agency"))) if agency_id is not None else ("", "")
        rows.append(AgencyCount(name or gettext("No agency"), count, url_for(code) if code else url_for("")))
    rows.sort(key=lambda r: (-r.count, r.name))
    return tuple(rows)


def item(
    source: str, title: str, scope: Scope, counts: Mapping[Any, int], url_for: Callable[[str], str], **kw: Any
) -> WorkItem:
    """One WorkItem from per-agency ``counts``: for one agency its count and URL, for every agency the total with the
    breakdown."""
    total = sum(counts.values())
    if scope.read_only and "severity" not in kw:
        kw["severity"] = "info"
    if scope.every_agency:
        return WorkItem(source, title, total, url_for(""), breakdown=breakdown(counts, url_for), **kw)
    return WorkItem(source, title, total, url_for(scope.agency_code), **kw)


@work_source("unlocated", order=20)
def unlocated(user: User) -> list[WorkItem]:
    """Parcels of the register (not removed) with no geometry: one grouped COUNT."""
    scope = scope_of(user, auditors=True)
    if scope is None:
        return []
    qs = LandAsset.objects.filter(removed_at__isnull=True, plotting_status=PlottingStatus.UNKNOWN)
    if scope.agency_id is not None:
        qs = qs.filter(agency_id=scope.agency_id)
    # count(agency_id): the columns of the partial index landasset_unlocated only (an index-only scan once vacuumed)
    counts = dict(qs.order_by().values_list("agency_id").annotate(n=Count("agency_id")).values_list("agency_id", "n"))

    def url_for(code: str) -> str:
        return with_query(reverse("asset-list"), plotting=PlottingStatus.UNKNOWN.value, agency=code)

    return [item("unlocated", gettext("Parcels without location"), scope, counts, url_for)]
