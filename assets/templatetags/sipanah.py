"""Template filters for Sipanah: Indonesian-style numbers, rupiah, areas and role labels.

Numbers go through Django's localisation (``django.utils.formats.number_format``) with
grouping forced, so the active language decides the separators: ``1.234.567,89`` in
Indonesian, ``1,234,567.89`` in English. Settings keep ``USE_THOUSAND_SEPARATOR`` off so
that ids and page numbers printed in templates are never grouped.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format

from assets.register import permissions

register = template.Library()

EMPTY = "—"
HECTARE_M2 = Decimal(10_000)


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def _format(value: Decimal, decimals: int) -> str:
    return number_format(value, decimal_pos=decimals, force_grouping=True)


@register.filter
def number(value, decimals: int = 0) -> str:
    """A number with the language's grouping and decimal separators."""
    amount = _decimal(value)
    return EMPTY if amount is None else _format(amount, int(decimals))


@register.filter
def rupiah(value) -> str:
    """``Rp 1.234.567`` (whole rupiah)."""
    amount = _decimal(value)
    return EMPTY if amount is None else f"Rp {_format(amount, 0)}"


@register.filter
def m2(value) -> str:
    """An area in square metres with two decimals: ``1.234,50 m²``."""
    amount = _decimal(value)
    return EMPTY if amount is None else f"{_format(amount, 2)} m²"


@register.filter
def area(value) -> str:
    """An area in m² below one hectare, in hectares (two decimals) from one hectare up."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    if abs(amount) >= HECTARE_M2:
        return f"{_format(amount / HECTARE_M2, 2)} ha"
    return f"{_format(amount, 2)} m²"


@register.filter
def percent(value, decimals: int = 1) -> str:
    """A share between 0 and 1 as a percentage: ``42,5%``."""
    share = _decimal(value)
    return EMPTY if share is None else f"{_format(share * 100, int(decimals))}%"


@register.filter
def share_of(part, whole) -> float:
    """part / whole (0 when whole is empty), for use with ``percent``."""
    part, whole = _decimal(part), _decimal(whole)
    if part is None or not whole:
        return 0.0
    return float(part / whole)


@register.filter
def role_labels(roles) -> list[str]:
    """Labels of a set of role codes (permissions.ROLES), in the order ROLES lists them."""
    roles = roles or ()
    return [str(label) for code, label in permissions.ROLES.items() if code in roles]


@register.filter
def certificate_area_total(asset) -> Decimal | None:
    """Sum of the certificate areas recorded for an asset (None when no certificate has one).

    Reads ``asset.certificates.all()``, which the detail view prefetches.
    """
    areas = [c.luas_sertifikat_m2 for c in asset.certificates.all() if c.luas_sertifikat_m2 is not None]
    return sum(areas, Decimal(0)) if areas else None


@register.simple_tag
def area_difference(value, reference) -> str:
    """``+12,30 m² (+0,5%)``: how far ``value`` is from ``reference`` (empty when either is missing)."""
    value, reference = _decimal(value), _decimal(reference)
    if value is None or reference is None:
        return ""
    diff = value - reference
    sign = "+" if diff > 0 else ("−" if diff < 0 else "±")
    text = f"{sign}{_format(abs(diff), 2)} m²"
    if reference:
        text += f" ({sign}{_format(abs(diff) / reference * 100, 1)}%)"
    return text


@register.filter
def certificates_having(asset, field: str) -> list:
    """The asset's certificates whose ``field`` is filled in (reads the prefetched certificates)."""
    return [c for c in asset.certificates.all() if getattr(c, field, None) not in (None, "")]
