"""The custody's work for the queues (assets.work): original certificates out on loan past their due date. The
custody of originals is BPKAD's (admins too); auditors see the count read-only. Officers see nothing here: the
loans page is not theirs."""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from assets.evidence import selectors
from assets.register.models import User
from assets.register.work import item, scope_of
from assets.work.registry import WorkItem, work_source

AGENCY = "certificate__asset__agency_id"


@work_source("loans-overdue", order=50)
def loans_overdue(user: User) -> list[WorkItem]:
    scope = scope_of(user, officers=False, auditors=True)
    if scope is None:
        return []
    qs = selectors.overdue_loans(timezone.localdate()).order_by()
    counts = dict(qs.values_list(AGENCY).annotate(n=Count("id")).values_list(AGENCY, "n"))

    def url_for(code: str) -> str:
        return reverse("custody-loans")

    title = gettext("Original certificates on loan past their due date")
    return [item("loans-overdue", title, scope, counts, url_for, severity="danger")]
