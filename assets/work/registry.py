"""The registry of work sources. A source is a function of a user that returns the items waiting for that user
(for their agency, or for every agency when their role sees all), or nothing.

    @work_source("certificates_stuck", order=10)
    def certificates_stuck(user: User) -> list[WorkItem]:
        ...

Each item names what waits, how many, and the URL of the page where the user acts on it; for a user who sees
every agency, ``breakdown`` gives the count of each agency with the URL filtered to it.

This room sits just above ``lib`` (below ``register``): every room, the register included, may register sources,
and the home page (a register view) and the digest read them. It imports no room but ``lib``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["info", "warning", "danger"]
User = Any  # assets.register.models.User; not imported, this room sits below the register


@dataclass(frozen=True)
class AgencyCount:
    name: str  # the agency's name
    count: int
    url: str  # the place to act, filtered to this agency


@dataclass(frozen=True)
class WorkItem:
    source: str  # the slug of the source that produced it
    title: str  # translated: "Certificates stuck more than 180 days"
    count: int  # how many things wait (0: the source returns no item)
    url: str  # the page where the user acts on them
    severity: Severity = "warning"
    detail: str = ""  # one translated line: "oldest: 412 days, Dinas Pendidikan"
    breakdown: tuple[AgencyCount, ...] = ()  # per agency, largest first (users who see every agency)


WorkSource = Callable[[User], list[WorkItem]]


@dataclass(frozen=True)
class _Registered:
    slug: str
    order: int
    fn: WorkSource


_SOURCES: dict[str, _Registered] = {}


def work_source(slug: str, order: int = 100) -> Callable[[WorkSource], WorkSource]:
    """Register ``fn`` as the source ``slug``; sources are asked in ``order``. Registering a slug twice replaces
    it (a module imported again)."""

    def decorate(fn: WorkSource) -> WorkSource:
        _SOURCES[slug] = _Registered(slug, order, fn)
        return fn

    return decorate


def sources() -> list[str]:
    return [r.slug for r in sorted(_SOURCES.values(), key=lambda r: (r.order, r.slug))]


def items_for(user: User) -> list[WorkItem]:
    """Everything waiting for ``user``, source by source, items with a count of 0 left out."""
    items: list[WorkItem] = []
    for registered in sorted(_SOURCES.values(), key=lambda r: (r.order, r.slug)):
        items.extend(item for item in registered.fn(user) if item.count > 0)
    return items
