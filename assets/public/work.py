"""Work waiting for BPKAD from the public pages: reports and requests not yet closed."""

from __future__ import annotations

from django.db.models import Count, Min
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.public.models import PublicReport
from assets.register import permissions
from assets.register.models import User
from assets.work.registry import WorkItem, work_source


@work_source("public_reports", order=60)
def public_reports(user: User) -> list[WorkItem]:
    if not permissions.can_handle_public_reports(user):
        return []
    open_statuses = [PublicReport.Status.RECEIVED, PublicReport.Status.REVIEWING]
    totals = PublicReport.objects.filter(status__in=open_statuses).aggregate(n=Count("id"), oldest=Min("created_at"))
    if not totals["n"]:
        return []
    days = (timezone.now() - totals["oldest"]).days
    return [
        WorkItem(
            source="public_reports",
            title=_("Reports and requests from the public to answer"),
            count=totals["n"],
            url=reverse("public-reports") + f"?status={PublicReport.Status.RECEIVED}",
            severity="warning" if days < 14 else "danger",
            detail=_("oldest: %(days)s days") % {"days": days},
        )
    ]
