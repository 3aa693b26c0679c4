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


def is_member(user: User | AnonymousUser, team: Team) -> bool:
    return user.is_authenticated and team.members.filter(pk=user.pk).exists()


def can_see_team(user: User | AnonymousUser, team: Team) -> bool:
    """The team's page: its members, and those who manage the campaign."""
    if not permissions.user_roles(user) or not user.is_authenticated:
        return False
    return is_member(user, team) or can_manage_campaign(user, team.campaign)  # type: ignore[arg-type]


def can_move_parcels(user: User | AnonymousUser, team: Team) -> bool:
    """Move parcels out of ``team`` to another team of its campaign, while it is open: the team's leader, or those
    who manage the campaign (BPKAD; an officer over their own agency's campaign)."""
    if not user.is_authenticated or not permissions.user_roles(user) or team.campaign.status != Campaign.Status.OPEN:
        return False
    return team.leader_id == user.pk or can_manage_campaign(user, team.campaign)  # type: ignore[arg-type]
