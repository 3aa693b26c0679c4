"""Signature blocks of printed outputs: who signs, from the ``Signatory`` records kept in Sipanah.

A role with nobody recorded still gets its place in the block, with a dotted line for the name, so a printed
form can be signed by hand; the admin (Signatories) is where BPKAD keeps names and NIPs current.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.formats import date_format

from assets.register import place
from assets.register.models import Agency, Signatory

CITY_ROLES = frozenset(
    str(role)
    for role in (Signatory.Role.KEPALA_BPKAD, Signatory.Role.PENGELOLA_BARANG, Signatory.Role.PENGURUS_BARANG_PENGELOLA)
)


@dataclass(frozen=True)
class Slot:
    """One place in a signature block: "Mengetahui, Kepala Dinas ..." / name / NIP."""

    caption: str  # the role as printed above the signature ("Pengguna Barang")
    title: str  # the jabatan ("Kepala Dinas Pendidikan dan Kebudayaan"); may be empty
    name: str  # empty: nobody recorded, the form prints a dotted line
    nip: str


@dataclass(frozen=True)
class SignatureBlock:
    place_and_date: str  # "Balikpapan, 6 Desember 2026", in the active language's date format
    slots: tuple[Slot, ...]


def signature_block(roles: Sequence[str], agency: Agency | None = None, on: dt.date | None = None) -> SignatureBlock:
    """The block for ``roles`` (``Signatory.Role`` values, in print order, left to right): agency roles from
    ``agency``, city roles (head of BPKAD, pengelola) from the city-level records."""
    wanted = [str(role) for role in roles]
    city_records = Signatory.objects.filter(role__in=wanted, agency__isnull=True)
    records = {(s.agency_id, s.role): s for s in city_records}
    if agency is not None:
        records.update({(s.agency_id, s.role): s for s in agency.signatories.filter(role__in=wanted)})
    slots = []
    for role in wanted:
        key = (None if role in CITY_ROLES or agency is None else agency.pk, role)
        record = records.get(key)
        slots.append(
            Slot(
                caption=str(Signatory.Role(role).label),
                title=record.title if record else "",
                name=record.name if record else "",
                nip=record.nip if record else "",
            )
        )
    day = on or timezone.localdate()
    return SignatureBlock(
        place_and_date=f"{place.city().signing_place}, {date_format(day, 'j F Y')}", slots=tuple(slots)
    )
