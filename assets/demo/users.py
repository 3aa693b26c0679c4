"""Demo users, one per role, for `make run` only (settings.SIPANAH_DEMO)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from assets.register import permissions
from assets.register.models import Agency, Signatory, User

DEMO_PASSWORD = "sipanah-demo"  # noqa: S105 - documented in the README (demo users), demo mode only
DEMO_OFFICER_AGENCY = "1.01.01"  # Dinas Pendidikan dan Kebudayaan
DEMO_USERS = (
    ("officer", permissions.OFFICER, "Pengurus Barang Disdikbud"),
    ("bpkad", permissions.BPKAD, "Petugas BPKAD"),
    ("auditor", permissions.AUDITOR, "Auditor Inspektorat"),
    ("planner", permissions.PLANNER, "Perencana DPPR"),
    ("admin", permissions.ADMIN, "Administrator Sipanah"),
)


@transaction.atomic
def create_demo_users() -> list[User]:
    if not settings.SIPANAH_DEMO:
        raise ImproperlyConfigured("Demo users are created only when SIPANAH_DEMO=1 (never in production).")
    permissions.ensure_role_groups()
    users = []
    for username, role, full_name in DEMO_USERS:
        first, _sep, last = full_name.partition(" ")
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
        if created:
            user.set_password(DEMO_PASSWORD)
        user.is_staff = role in (permissions.BPKAD, permissions.ADMIN)
        user.is_superuser = role == permissions.ADMIN
        if role == permissions.OFFICER:
            user.agency = Agency.objects.get(code=DEMO_OFFICER_AGENCY)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        users.append(user)
    create_demo_signatories()
    return users


def _demo_nip(n: int) -> str:
    """A NIP-shaped number (18 digits: birth date, appointment month, sex, serial) that is plainly a demo value."""
    return f"19800101 200501 1 {n:03d}"


def create_demo_signatories() -> None:
    """Names and NIPs for the signature blocks: the city's roles and, per agency, its head and pengurus barang."""
    city_roles = (
        (Signatory.Role.KEPALA_BPKAD, "Demo Kepala BPKAD", "Kepala Badan Pengelolaan Keuangan dan Aset Daerah"),
        (Signatory.Role.PENGELOLA_BARANG, "Demo Sekretaris Daerah", "Sekretaris Daerah Kota Balikpapan"),
        (Signatory.Role.PENGURUS_BARANG_PENGELOLA, "Demo Pengurus Barang Pengelola", "Pengurus Barang Pengelola"),
    )
    n = 0
    for role, name, title in city_roles:
        n += 1
        Signatory.objects.update_or_create(
            agency=None, role=role, defaults={"name": name, "nip": _demo_nip(n), "title": title}
        )
    for agency in Agency.objects.order_by("code"):
        for role, name, title in (
            (Signatory.Role.PENGGUNA_BARANG, f"Demo Kepala {agency.code}", f"Kepala {agency.name}"),
            (Signatory.Role.PENGURUS_BARANG, f"Demo Pengurus {agency.code}", "Pengurus Barang"),
        ):
            n += 1
            Signatory.objects.update_or_create(
                agency=agency, role=role, defaults={"name": name, "nip": _demo_nip(n), "title": title}
            )
