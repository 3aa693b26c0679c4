"""The imports' work for the queues (assets.work): checked files waiting for confirmation. An officer's own
uploads (only they, BPKAD and admins may confirm them); BPKAD and admins see every upload, counted by the
uploader's agency. Auditors and planners confirm nothing, so they see nothing here."""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext

from assets.register.models import User
from assets.register.work import item, scope_of, with_query
from assets.transfer.jobs import awaiting_confirmation
from assets.work.registry import WorkItem, work_source


@work_source("imports", order=40)
def imports_to_confirm(user: User) -> list[WorkItem]:
    scope = scope_of(user)
    if scope is None:
        return []
    qs = awaiting_confirmation()
    if not scope.every_agency:
        qs = qs.filter(user=user)
    counts = dict(
        qs.order_by().values_list("user__agency_id").annotate(n=Count("id")).values_list("user__agency_id", "n")
    )

    def url_for(code: str) -> str:
        return with_query(reverse("import-list"), waiting=1)

    return [item("imports", gettext("Imports checked and waiting for confirmation"), scope, counts, url_for)]
