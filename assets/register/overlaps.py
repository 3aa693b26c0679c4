"""Overlaps of a parcel with the live register, and the rule for saving one.

A parcel overlaps another when they share more than ``place.overlap_tolerance_m2()`` (1 m²: survey slivers along a
common edge are not overlaps). The neighbours are found through the spatial index on both databases
(``selectors.intersecting``) and each shared area is measured by ``geo.clip_areas`` (geodesic m², the same number on
SpatiaLite and PostGIS). Used by the geometry check (``/assets/geometry/check/``) and by every save of an asset
(``services.asset_create`` / ``asset_update``), so the warning shown while drawing and the rule applied when saving
are one computation.

The rule (docs/register.md, "Geometry check and overlaps"): a save that creates an overlap, or makes one larger, is
refused for an asset officer (the message names each asset and the area); BPKAD and administrators may save it
with a reason, which is recorded as the history row's change reason and so appears in the activity log. Disputes
over land are real (the city counts at least 20 parcels overlapping residents' holdings); an officer entering an
outline over another agency's asset is far more often a mistake, and a dispute is BPKAD's to record.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from assets.register import geo, permissions, place, selectors
from assets.register.models import LandAsset, User

# The most overlaps a check lists (largest first); a parcel drawn over a whole kelurahan does not list thousands.
MAX_LISTED_OVERLAPS = 50
# The change reason a save with an overlap records (history_change_reason is 100 characters long).
REASON_PREFIX = "tumpang tindih: "
MAX_REASON_LENGTH = 100 - len(REASON_PREFIX)


@dataclass(frozen=True)
class Overlap:
    id: int
    label: str  # "kode barang/nomor register nama barang", as the register lists it
    area_m2: float  # geodesic area shared with the parcel


def find_overlaps(geom: GEOSGeometry | None, *, exclude: int | None = None, limit: int | None = None) -> list[Overlap]:
    """The live register's parcels (not removed) sharing more than the tolerance with ``geom`` (lon/lat), largest
    overlap first (ties by id); ``exclude``: the asset being edited. ``limit`` cuts the list after the sort."""
    if geom is None or geom.empty:
        return []
    neighbours = selectors.intersecting(selectors.live_parcels(), geom).only(
        "id", "kode_barang", "nomor_register", "nama_barang", "geom"
    )
    if exclude is not None:
        neighbours = neighbours.exclude(pk=exclude)
    assets = list(neighbours.order_by("id"))
    tolerance = place.overlap_tolerance_m2()
    found = [
        Overlap(asset.id, str(asset), round(area, 2))
        for asset, (_geom, area) in zip(assets, geo.clip_areas([a.geom for a in assets], geom), strict=True)
        if area > tolerance
    ]
    found.sort(key=lambda o: (-o.area_m2, o.id))
    return found[:limit] if limit is not None else found


def new_overlaps(before: GEOSGeometry | None, after: GEOSGeometry | None, *, exclude: int | None) -> list[Overlap]:
    """The overlaps of ``after`` that ``before`` (the stored geometry) did not have, or had smaller by more than the
    tolerance: what a save would add. Editing anything else of a parcel that already overlaps adds nothing."""
    if after is None:
        return []
    if before is not None and before.equals_exact(after, tolerance=1e-9):
        return []
    had = {o.id: o.area_m2 for o in find_overlaps(before, exclude=exclude)}
    tolerance = place.overlap_tolerance_m2()
    return [o for o in find_overlaps(after, exclude=exclude) if o.area_m2 > had.get(o.id, 0.0) + tolerance]


def describe(overlaps: list[Overlap]) -> str:
    """ "1.3.1.01.01.01.001/0004 Tanah SD (312.50 m²), …" for the messages (at most five named)."""
    named = ", ".join(f"{o.label} ({o.area_m2:,.2f} m²)" for o in overlaps[:5])
    if len(overlaps) > 5:
        named += " " + _("and %(count)s more") % {"count": len(overlaps) - 5}
    return named


def check_save(*, user: User | None, asset: LandAsset, before: GEOSGeometry | None, reason: str | None) -> str | None:
    """The overlap rule for saving ``asset`` with its new geometry (``before``: the stored one). Returns the change
    reason to record (None: no overlap added, or a system write); raises ValidationError for a refusal."""
    if user is None:  # fixtures, the demo generator, management commands: not a person drawing a parcel
        return None
    added = new_overlaps(before, _geos(asset.geom), exclude=asset.pk)
    if not added:
        return None
    reason = (reason or "").strip()
    if not permissions.can_edit_all(user):
        raise ValidationError(
            {
                "geom": [
                    _(
                        "The parcel overlaps %(assets)s. Correct the outline; if the land really is disputed, ask "
                        "BPKAD to record it with a reason."
                    )
                    % {"assets": describe(added)}
                ]
            }
        )
    if not reason:
        raise ValidationError(
            {
                "overlap_reason": [
                    _(
                        "The parcel overlaps %(assets)s. Correct the outline, or say why the overlap is recorded "
                        "(for example a dispute and its case number)."
                    )
                    % {"assets": describe(added)}
                ]
            }
        )
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            {
                "overlap_reason": [
                    _("The reason is %(length)s characters long; at most %(max)s are kept.")
                    % {"length": len(reason), "max": MAX_REASON_LENGTH}
                ]
            }
        )
    return REASON_PREFIX + reason


def _geos(value: GEOSGeometry | str | None) -> GEOSGeometry | None:
    """The asset's geometry as GEOS: services store hex EWKB on the field until it is saved."""
    if value is None or isinstance(value, GEOSGeometry):
        return value
    return GEOSGeometry(value)
