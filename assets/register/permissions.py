"""Roles and what each may do. Every view, the admin and the services ask here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from assets.register.models import LandAsset, User
    from assets.transfer.models import ImportJob

OFFICER = "pengurus_barang"  # asset officer of one agency: edits that agency's assets
BPKAD = "bpkad"  # BPKAD officer: edits every asset
AUDITOR = "auditor"  # reads everything, exports
PLANNER = "perencana"  # reads and queries
ADMIN = "admin"  # everything, including users and reference data

ROLES = {
    OFFICER: _("Asset officer (pengurus barang)"),
    BPKAD: _("BPKAD officer"),
    AUDITOR: _("Auditor"),
    PLANNER: _("Planner"),
    ADMIN: _("Administrator"),
}


def user_roles(user: User) -> frozenset[str]:
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_sipanah_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached = cached | {ADMIN}
        user._sipanah_roles = cached
    return cached


class RoleBackend(ModelBackend):
    """Django's ModelBackend, reading the signed-in user's roles in the same query as the user.

    ``get_user`` runs on every request of a signed-in user (pages, API, each of a map's dozens of vector tiles);
    with ModelBackend the roles then cost a second query (``user_roles``). Here one EXISTS per role rides along in
    the user's own SELECT. Read anew on every request, as before: a role taken away counts from the next request.
    """

    def get_user(self, user_id: Any) -> Any:
        flags = {f"_sipanah_has_{i}": Exists(Group.objects.filter(user=OuterRef("pk"), name=role))
                 for i, role in enumerate(ROLES)}  # fmt: skip
        user = get_user_model()._default_manager.filter(pk=user_id).annotate(**flags).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        roles = frozenset(role for i, role in enumerate(ROLES) if getattr(user, f"_sipanah_has_{i}"))
        user._sipanah_roles = roles | {ADMIN} if user.is_superuser else roles
        return user


def can_view_register(user: User) -> bool:
    return bool(user_roles(user))


def can_edit_all(user: User) -> bool:
    return bool(user_roles(user) & {BPKAD, ADMIN})


def can_create_asset(user: User) -> bool:
    roles = user_roles(user)
    return bool(roles & {BPKAD, ADMIN}) or (OFFICER in roles and user.agency_id is not None)


def can_edit_asset(user: User, asset: LandAsset) -> bool:
    roles = user_roles(user)
    if roles & {BPKAD, ADMIN}:
        return True
    return OFFICER in roles and user.agency_id is not None and user.agency_id == asset.agency_id


def can_export(user: User) -> bool:
    return bool(user_roles(user) & {AUDITOR, BPKAD, ADMIN})


def can_export_query(user: User) -> bool:
    """Planners take the result of their own spatial query with them, besides everyone who exports."""
    return can_export(user) or PLANNER in user_roles(user)


def can_view_findings(user: User) -> bool:
    """Every role reads the audit findings and the history; only exporters download them (can_export)."""
    return bool(user_roles(user))


def can_restore_asset(user: User) -> bool:
    return can_edit_all(user)


def can_view_imports(user: User) -> bool:
    """The import log: whoever may import sees their own imports; auditors read every import (not upload)."""
    return can_create_asset(user) or AUDITOR in user_roles(user)


def can_view_all_imports(user: User) -> bool:
    return bool(user_roles(user) & {BPKAD, AUDITOR, ADMIN})


def can_view_import(user: User, job: ImportJob) -> bool:
    """An import's page, report and original file: its uploader (while they still hold a role), BPKAD, auditors
    and admins."""
    return can_view_all_imports(user) or (bool(user_roles(user)) and job.user_id == user.pk)


def can_confirm_import(user: User, job: ImportJob) -> bool:
    """Confirming (or re-running) an import writes to the register: its uploader while they may still import,
    BPKAD and admins; auditors only read."""
    return can_edit_all(user) or (job.user_id == user.pk and can_create_asset(user))


# Model permissions each role's Django group carries (used by the admin site).
_GROUP_PERMISSIONS: dict[str, list[str]] = {
    OFFICER: [],
    BPKAD: [
        "assets.add_landasset",
        "assets.change_landasset",
        "assets.view_landasset",
        "assets.export_landasset",
        "assets.add_certificate",
        "assets.change_certificate",
        "assets.view_certificate",
        "assets.view_certificatestageevent",
        "assets.view_agency",
        "assets.view_administrativearea",
    ],
    AUDITOR: [
        "assets.view_landasset",
        "assets.export_landasset",
        "assets.view_certificate",
        "assets.view_certificatestageevent",
    ],
    PLANNER: ["assets.view_landasset", "assets.view_certificate"],
    ADMIN: ["*"],
}


def ensure_role_groups(using: str = "default", **_kwargs) -> None:
    """Create the role groups with their permissions (post_migrate: production needs them too)."""
    from django.contrib.auth.models import Group, Permission

    for name, codes in _GROUP_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        if codes == ["*"]:
            perms = Permission.objects.using(using).filter(content_type__app_label__in=["assets", "auth"])
        else:
            perms = [
                Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename)
                for app_label, codename in (code.split(".") for code in codes)
            ]
        group.permissions.set(perms)
