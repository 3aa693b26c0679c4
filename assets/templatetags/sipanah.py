"""Template filters for Sipanah: numbers, rupiah and areas (assets.lib.formats), role labels, certificates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from assets.lib import formats
from assets.register import kib, palette, permissions, reads

register = template.Library()

register.filter("number", formats.number)
register.filter("rupiah", formats.rupiah)
register.filter("m2", formats.m2)
register.filter("area", formats.area)
register.filter("percent", formats.percent)
register.filter("share_of", formats.share_of)
register.simple_tag(formats.area_difference, name="area_difference")
# why the register as of a date holds nothing, when the date is the reason (assets.register.reads.empty_before)
register.simple_tag(reads.empty_before, name="as_of_empty_reason")


@register.simple_tag
def palette_css() -> SafeString:
    """The status colours as CSS custom properties (assets.register.palette), for base.html's head."""
    return mark_safe(palette.css_custom_properties())  # noqa: S308 - constant colours, no user input


@register.filter
def role_labels(roles: Any) -> list[str]:
    """Labels of a set of role codes (permissions.ROLES), in the order ROLES lists them."""
    roles = roles or ()
    return [str(label) for code, label in permissions.ROLES.items() if code in roles]


@register.filter
def certificate_area_total(asset: Any) -> Decimal | None:
    """Sum of the certificate areas recorded for an asset (None when no certificate has one).

    Reads ``asset.certificates.all()``, which the detail view prefetches.
    """
    areas = [c.luas_sertifikat_m2 for c in asset.certificates.all() if c.luas_sertifikat_m2 is not None]
    return sum(areas, Decimal(0)) if areas else None


@register.filter
def certificates_having(asset: Any, field: str) -> list:
    """The asset's certificates whose ``field`` is filled in (reads the prefetched certificates)."""
    return [c for c in asset.certificates.all() if getattr(c, field, None) not in (None, "")]


@register.filter
def kib_label(name: str) -> str:
    """A KIB A column's printed label for its field name (assets.register.kib), or the name when it is no column."""
    column = kib.BY_NAME.get(name)
    return column.label if column is not None else name
