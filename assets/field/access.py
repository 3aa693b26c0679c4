"""Who may do what in the field room (the roles are assets.register.permissions')."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from assets.field.models import Campaign, Team
from assets.register import permissions
from assets.register.models import Agency, User


def can_manage_campaigns(user: User | AnonymousUser) -> bool:
    """Open campaigns and review their results: BPKAD (every agency) or an asset officer (their own agency)."""
    return permissions.can_edit_all(user) or permissions.can_create_asset(user)


def can_manage_campaign_for(user: User, agency: Agency | None) -> bool:
    """A campaign over ``agency`` (None: every agency): BPKAD always, an officer only over their own agency."""
    if permissions.can_edit_all(user):
        return True
    return permissions.can_create_asset(user) and agency is not None and agency.pk == user.agency_id


def can_manage_campaign(user: User, campaign: Campaign) -> bool:
    return can_manage_campaign_for(user, campaign.agency)


def can_work_in_team(user: User | AnonymousUser, team: Team) -> bool:
    """A field user works on their own team's parcels, while the campaign is open and they hold a role."""
    if not permissions.user_roles(user) or not user.is_authenticated:
        return False
    return team.campaign.status == Campaign.Status.OPEN and team.members.filter(pk=user.pk).exists()
