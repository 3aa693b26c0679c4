"""Roles and what each may do. Every view, the admin and the services ask here.

Rules are plain functions ``can_…(user[, object]) -> bool``. Views enforce them in one way: ``@role_required(rule)``
for a rule about the user alone, ``require(rule(user, obj))`` once the object is loaded; both answer 403 with a
message that names the real reason (``require_edit_asset`` says whose asset it is).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse

    from assets.register.models import LandAsset, User


class AuthenticatedRequest(HttpRequest):
    """The request of a view only signed-in users reach (LoginRequiredMiddleware, then the view's role check): its
    ``user`` is a User, never AnonymousUser. An annotation for views only: Django builds plain HttpRequests."""

    user: User


class Owned(Protocol):
    """Something a user made (an import job, later a document): the rules read only who made it."""

    user_id: int | None


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


def user_roles(user: User | AnonymousUser) -> frozenset[str]:
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


ROLE_BACKEND = f"{RoleBackend.__module__}.{RoleBackend.__qualname__}"


def session_user_id(request: HttpRequest) -> int | None:
    """The id of the user the request's session was signed in as through RoleBackend, read from the session alone
    (not yet checked against the user's row: see ``signed_in_sql`` and ``verified_roles``); None otherwise."""
    session = request.session
    if session.get(BACKEND_SESSION_KEY) != ROLE_BACKEND or ROLE_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        return None
    try:
        return int(session[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


def signed_in_sql(also: str, when_may_view: str) -> str:
    """PostGIS, for the hottest signed-in requests (the map's vector tiles): one SELECT that reads the session's
    user (``%s``, the last parameter) with what ``verified_roles`` needs, ``also`` (SQL expressions), and
    ``when_may_view`` (a scalar subquery's SQL) evaluated only for an active user holding a role that reads the
    register (can_view_register). No row: no such user. The parameters of ``also`` and ``when_may_view`` come
    first, in that order."""
    user = get_user_model()._meta.db_table
    user_groups = get_user_model().groups.through._meta.db_table
    group = Group._meta.db_table
    names = ", ".join(f"'{role}'" for role in ROLES)  # constants
    roles = (
        f'SELECT g.name FROM "{user_groups}" ug JOIN "{group}" g ON g.id = ug.group_id '  # noqa: S608 - constants
        f"WHERE ug.user_id = u.id AND g.name IN ({names})"
    )
    return (
        f"SELECT u.password, u.is_active, u.is_superuser, ARRAY({roles}), {also}, "  # noqa: S608 - constants
        f"CASE WHEN u.is_active AND (u.is_superuser OR EXISTS({roles})) THEN ({when_may_view}) END "
        f'FROM "{user}" u WHERE u.id = %s'
    )


def verified_roles(
    request: HttpRequest, user_id: int, password: str, is_active: bool, is_superuser: bool, roles: Iterable[str]
) -> frozenset[str] | None:
    """The roles of the session's user read by ``signed_in_sql``, when Django's own sign-in check
    (django.contrib.auth.get_user with RoleBackend) would accept that user for this session: active, and the
    session's hash matching the password's with the current SECRET_KEY. None in every other case (a changed
    password, a fallback key, an inactive user): the caller then takes the usual path, which does what Django
    does there (signs the session out, rotates the key)."""
    if not is_active:
        return None
    session_hash = request.session.get(HASH_SESSION_KEY)
    user = get_user_model()(id=user_id, password=password)
    if not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    held = frozenset(role for role in roles if role in ROLES)
    return held | {ADMIN} if is_superuser else held


def can_view_register(user: User | AnonymousUser) -> bool:
    return bool(user_roles(user))


def can_edit_all(user: User | AnonymousUser) -> bool:
    return bool(user_roles(user) & {BPKAD, ADMIN})


def can_handle_public_reports(user: User | AnonymousUser) -> bool:
    """Read and answer the reports and requests sent through the public pages (assets.public): BPKAD."""
    return bool(user_roles(user) & {BPKAD, ADMIN})


def can_create_asset(user: User | AnonymousUser) -> bool:
    roles = user_roles(user)
    return bool(roles & {BPKAD, ADMIN}) or (OFFICER in roles and user.is_authenticated and user.agency_id is not None)


# Narrower rules for officers that a room above adds (assets.ledger.subunits: an officer bound to a sub-unit edits
# only that sub-unit's assets). Each takes (user, asset) and returns why the officer may not change it, or None.
OFFICER_EDIT_LIMITS: list[Callable[[Any, Any], str | None]] = []


def _officer_limit(user: User, asset: LandAsset) -> str | None:
    for limit in OFFICER_EDIT_LIMITS:
        refusal = limit(user, asset)
        if refusal is not None:
            return refusal
    return None


def can_edit_asset(user: User, asset: LandAsset) -> bool:
    roles = user_roles(user)
    if roles & {BPKAD, ADMIN}:
        return True
    return (
        OFFICER in roles
        and user.agency_id is not None
        and user.agency_id == asset.agency_id
        and _officer_limit(user, asset) is None
    )


def can_view_asset_documents(user: User | AnonymousUser, asset: LandAsset) -> bool:
    """An asset's documents and photos (assets.evidence): officers of its agency, BPKAD, auditors and admins.
    Planners and officers of other agencies see the asset, not its files."""
    roles = user_roles(user)
    if roles & {BPKAD, AUDITOR, ADMIN}:
        return True
    return (
        OFFICER in roles and user.is_authenticated and user.agency_id is not None and user.agency_id == asset.agency_id
    )


def can_manage_custody(user: User | AnonymousUser) -> bool:
    """The custody of original certificates (storage, loans, returns) is BPKAD's."""
    return can_edit_all(user)


def can_view_all_custody(user: User | AnonymousUser) -> bool:
    """Every loan of an original certificate: BPKAD, auditors and admins."""
    return bool(user_roles(user) & {BPKAD, AUDITOR, ADMIN})


def can_export(user: User | AnonymousUser) -> bool:
    return bool(user_roles(user) & {AUDITOR, BPKAD, ADMIN})


def can_export_kib_a(user: User | AnonymousUser, agency_id: int | None) -> bool:
    """The printed KIB A of one agency (``agency_id``) or of the whole city (None): exporters any agency and the
    city; an officer their own agency's only."""
    if can_export(user):
        return True
    return (
        OFFICER in user_roles(user)
        and agency_id is not None
        and user.is_authenticated
        and user.agency_id is not None
        and user.agency_id == agency_id
    )


def can_export_query(user: User | AnonymousUser) -> bool:
    """Planners take the result of their own spatial query with them, besides everyone who exports."""
    return can_export(user) or PLANNER in user_roles(user)


def can_view_findings(user: User | AnonymousUser) -> bool:
    """Every role reads the audit findings and the history; only exporters download them (can_export)."""
    return bool(user_roles(user))


def can_restore_asset(user: User | AnonymousUser) -> bool:
    return can_edit_all(user)


def can_view_imports(user: User | AnonymousUser) -> bool:
    """The import log: whoever may import sees their own imports; auditors read every import (not upload)."""
    return can_create_asset(user) or AUDITOR in user_roles(user)


def can_view_all_imports(user: User | AnonymousUser) -> bool:
    return bool(user_roles(user) & {BPKAD, AUDITOR, ADMIN})


def can_view_import(user: User, job: Owned) -> bool:
    """An import's page, report and original file: its uploader (while they still hold a role), BPKAD, auditors
    and admins."""
    return can_view_all_imports(user) or (bool(user_roles(user)) and job.user_id == user.pk)


def can_confirm_import(user: User, job: Owned) -> bool:
    """Confirming (or re-running) an import writes to the register: its uploader while they may still import,
    BPKAD and admins; auditors only read."""
    return can_edit_all(user) or (job.user_id == user.pk and can_create_asset(user))


# --- enforcing the rules in views ------------------------------------------------------------------------------


def deny(message: str | None = None) -> NoReturn:
    """Answer 403 with the reason (the 403 page shows it)."""
    raise PermissionDenied(message or gettext("Your role does not allow this."))


def require(allowed: bool, message: str | None = None) -> None:
    """403 unless ``allowed`` (a rule's answer for an object the view has loaded)."""
    if not allowed:
        deny(message)


def role_required(
    rule: Callable[[Any], bool], message: str | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: 403 unless ``rule(request.user)``, before the view runs."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            require(rule(request.user), message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def edit_asset_refusal(user: User, asset: LandAsset) -> str | None:
    """Why ``user`` may not change ``asset`` (None when they may): their role, or the asset's agency."""
    if can_edit_asset(user, asset):
        return None
    roles = user_roles(user)
    if OFFICER in roles and user.agency_id is not None and user.agency_id == asset.agency_id:
        return _officer_limit(user, asset) or gettext("Your role does not allow changing assets.")
    if OFFICER in roles and user.agency_id is not None:
        return gettext("This asset belongs to %(agency)s; you may change only the assets of %(yours)s.") % {
            "agency": asset.agency,
            "yours": user.agency,
        }
    if OFFICER in roles:
        return gettext("Your account belongs to no agency: ask an administrator to assign yours.")
    return gettext("Your role does not allow changing assets.")


def require_edit_asset(user: User, asset: LandAsset) -> None:
    """403 naming the reason unless ``user`` may change ``asset``."""
    refusal = edit_asset_refusal(user, asset)
    if refusal is not None:
        deny(refusal)


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
        "assets.add_storageplace",
        "assets.change_storageplace",
        "assets.view_storageplace",
        "assets.add_documentrequirement",
        "assets.change_documentrequirement",
        "assets.view_documentrequirement",
        "assets.view_document",
        "assets.view_custodyevent",
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


def ensure_role_groups(using: str = "default", **_kwargs: Any) -> None:
    """Create the role groups with their permissions (post_migrate: production needs them too)."""
    from django.contrib.auth.models import Group, Permission

    for name, codes in _GROUP_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        perms: Iterable[Permission]
        if codes == ["*"]:
            perms = Permission.objects.using(using).filter(content_type__app_label__in=["assets", "auth"])
        else:
            perms = [
                Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename)
                for app_label, codename in (code.split(".") for code in codes)
            ]
        group.permissions.set(perms)
