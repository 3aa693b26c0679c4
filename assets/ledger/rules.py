"""Who may do what in the ledger room: BPKAD and administrators run and decide; auditors read."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from assets.register import permissions
from assets.register.models import User


def can_reconcile(user: User | AnonymousUser) -> bool:
    """Upload an official export, decide on its lines, close and reopen a run."""
    return permissions.can_edit_all(user)


def can_view_reconciliation(user: User | AnonymousUser) -> bool:
    """Read runs, their lines and decisions, the comparison and the berita acara."""
    roles = permissions.user_roles(user)
    return bool(roles & {permissions.BPKAD, permissions.ADMIN, permissions.AUDITOR})
