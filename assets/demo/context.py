"""What the demo generator reads from the database: kelurahan, kecamatan, agencies and the numbers in use."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import IntegerField, Max
from django.db.models.functions import Cast

from assets.demo.records import DemoError
from assets.demo.tables import KECAMATAN_OFFICE, NIBAR_PREFIX, USES
from assets.register.geo import KelurahanIndex
from assets.register.models import AdministrativeArea, Agency, LandAsset
from assets.register.services import kelurahan_index


@dataclass(frozen=True)
class Place:
    """A kelurahan as an address, a price zone and the region part of a NIB see it."""

    kelurahan: str
    kecamatan: str
    kecamatan_code: str
    nib_prefix: str  # 9 digits: 6471 + kecamatan (2) + kelurahan (3)


@dataclass(frozen=True)
class DemoContext:
    index: KelurahanIndex
    places: dict[int, Place]  # by kelurahan id
    kecamatan_codes: dict[int, str]  # by kecamatan id
    agencies: dict[str, tuple[int, str]]  # code -> (id, name)
    kecamatan_offices: dict[str, str]  # kecamatan code -> agency code of its office
    register_after: dict[str, int]  # kode_barang -> last nomor_register already used
    nibar_after: int


def build_context(*, continue_numbering: bool = False) -> DemoContext:
    """Read boundaries and agencies (and, to append, the numbers already used) from the database."""
    areas = AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KELURAHAN).select_related("parent")
    places = {a.id: _place(a) for a in areas}
    if not places:
        raise DemoError("No kelurahan boundaries in the database: run `manage.py load_reference_data` first.")
    agencies = {a.code: (a.id, a.name) for a in Agency.objects.all()}
    kecamatan = AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KECAMATAN)
    offices = {k.code: _office_code(k.name, agencies) for k in kecamatan}
    needed = {code for use in USES for code in use.agencies if code != KECAMATAN_OFFICE} - set(agencies)
    if needed:
        raise DemoError(f"Agencies {sorted(needed)} are missing: run `manage.py load_reference_data` first.")
    register_after, nibar_after = _numbers_in_use() if continue_numbering else ({}, 0)
    return DemoContext(
        index=kelurahan_index(),
        places=places,
        kecamatan_codes={k.id: k.code for k in kecamatan},
        agencies=agencies,
        kecamatan_offices=offices,
        register_after=register_after,
        nibar_after=nibar_after,
    )


def _place(area: AdministrativeArea) -> Place:
    kec, kel = area.code.split(".")[2:4]  # 64.71.03.1002 -> 03, 1002
    return Place(area.name, area.parent.name, area.parent.code, f"6471{kec}{kel[-3:]}")


def _office_code(kecamatan_name: str, agencies: dict[str, tuple[int, str]]) -> str:
    for code, (_id, name) in agencies.items():
        if name == f"Kecamatan {kecamatan_name}":
            return code
    raise DemoError(f"No agency for the office of Kecamatan {kecamatan_name}: run `manage.py load_reference_data`.")


def _numbers_in_use() -> tuple[dict[str, int], int]:
    rows = LandAsset.objects.values("kode_barang").annotate(top=Max(Cast("nomor_register", IntegerField())))
    top_nibar = LandAsset.objects.filter(nibar__regex=rf"^{NIBAR_PREFIX}[0-9]{{7}}$").aggregate(top=Max("nibar"))["top"]
    return {r["kode_barang"]: r["top"] or 0 for r in rows}, int(top_nibar[len(NIBAR_PREFIX) :]) if top_nibar else 0
