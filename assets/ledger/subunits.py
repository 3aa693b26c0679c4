"""Sub-units (kuasa pengguna barang / UPT) of an agency: which sub-unit holds an asset, and the permission limit of
an officer bound to a sub-unit (they change only its assets). The limit is added to the register's rules
(``permissions.OFFICER_EDIT_LIMITS``) when this module is imported (by assets.ledger.work, which AssetsConfig.ready
imports)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from assets.ledger.models import AssetSubUnit, OfficerSubUnit, SubUnit
from assets.register import permissions
from assets.register.models import LandAsset, User

_UNSET = object()


def officer_sub_unit(user: Any) -> int | None:
    """The sub-unit an officer is bound to (cached on the user object: one query per request)."""
    cached = getattr(user, "_sipanah_sub_unit", _UNSET)
    if cached is _UNSET:
        cached = OfficerSubUnit.objects.filter(user_id=user.pk).values_list("sub_unit_id", flat=True).first()
        user._sipanah_sub_unit = cached
    return cached  # type: ignore[return-value]


def asset_sub_unit(asset: Any) -> int | None:
    return AssetSubUnit.objects.filter(asset_id=asset.pk).values_list("sub_unit_id", flat=True).first()


def sub_unit_refusal(user: Any, asset: Any) -> str | None:
    """Why an officer bound to a sub-unit may not change ``asset`` (another sub-unit's, or the agency's own)."""
    mine = officer_sub_unit(user)
    if mine is None or asset.pk is None:
        return None
    if asset_sub_unit(asset) == mine:
        return None
    name = SubUnit.objects.filter(pk=mine).values_list("name", flat=True).first()
    return _("You may change only the assets of your sub-unit %(unit)s.") % {"unit": name}


if sub_unit_refusal not in permissions.OFFICER_EDIT_LIMITS:
    permissions.OFFICER_EDIT_LIMITS.append(sub_unit_refusal)


def can_set(user: User, asset: LandAsset) -> bool:
    """BPKAD, admins, and the agency's officers not bound to a sub-unit choose an asset's sub-unit."""
    return permissions.can_edit_asset(user, asset) and officer_sub_unit(user) is None


@transaction.atomic
def set_sub_unit(*, asset: LandAsset, sub_unit: SubUnit | None, user: User | None) -> None:
    if user is not None and not can_set(user, asset):
        raise PermissionDenied(_("Only BPKAD and the agency's officers choose an asset's sub-unit."))
    if sub_unit is not None and sub_unit.agency_id != asset.agency_id:
        raise ValidationError({"sub_unit": [_("%(unit)s is not a sub-unit of %(agency)s.")
                                            % {"unit": sub_unit.name, "agency": asset.agency}]})  # fmt: skip
    AssetSubUnit.objects.update_or_create(asset=asset, defaults={"sub_unit": sub_unit, "set_by": user})
