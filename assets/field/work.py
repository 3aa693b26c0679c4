"""Work waiting from the field: results of inventory campaigns not yet reviewed, per campaign the user manages."""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _

from assets.field import access, selectors
from assets.field.models import FieldResult, Review
from assets.register.models import User
from assets.work.registry import WorkItem, work_source


@work_source("field_results", order=70)
def field_results(user: User) -> list[WorkItem]:
    if not access.can_manage_campaigns(user):
        return []
    rows = (
        FieldResult.objects.filter(review=Review.PENDING, assignment__campaign__in=selectors.campaigns_for(user))
        .values("assignment__campaign", "assignment__campaign__name")
        .annotate(n=Count("pk"))
        .order_by("assignment__campaign__name")
    )
    return [
        WorkItem(
            source="field_results",
            title=_("Field results to review: %(campaign)s") % {"campaign": row["assignment__campaign__name"]},
            count=row["n"],
            url=reverse("field-campaign", args=[row["assignment__campaign"]]),
            severity="info",
        )
        for row in rows
    ]
