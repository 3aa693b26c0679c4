"""For other rooms' tests: an asset inventoried today (so the audit's "not inventoried in 5 years" leaves it out)."""

from __future__ import annotations

import uuid

from django.utils import timezone

from assets.field.models import Assignment, Campaign, FieldResult, Found, Team
from assets.register.models import LandAsset, User


def inventoried_today(asset: LandAsset) -> FieldResult:
    user, _created = User.objects.get_or_create(username="inventory-team")
    today = timezone.localdate()
    campaign = Campaign.objects.create(name="Inventarisasi uji", starts_on=today, ends_on=today)
    team = Team.objects.create(campaign=campaign, name="Tim uji")
    assignment = Assignment.objects.create(campaign=campaign, team=team, asset=asset)
    return FieldResult.objects.create(
        client_id=uuid.uuid4(), assignment=assignment, submitted_by=user, found=Found.FOUND, base_version=asset.version
    )
