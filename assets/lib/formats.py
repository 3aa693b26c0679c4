"""Numbers as people read them: Indonesian-style grouping, rupiah, areas, shares (templates, JSON for pages, PDFs).

Numbers go through Django's localisation (``django.utils.formats.number_format``) with grouping forced, so the active
language decides the separators: ``1.234.567,89`` in Indonesian, ``1,234,567.89`` in English. Settings keep
``USE_THOUSAND_SEPARATOR`` off so that ids and page numbers printed in templates are never grouped.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.formats import get_format, number_format

EMPTY = "—"
HECTARE_M2 = Decimal(10_000)


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def _format(value: Decimal, decimals: int) -> str:
    # Rounded half up first: Django's number_format cuts the extra digits off (2/3 would print as 66,6%).
    value = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return number_format(value, decimal_pos=decimals, force_grouping=True)


def number(value: Any, decimals: int = 0) -> str:
    """A number with the language's grouping and decimal separators."""
    amount = to_decimal(value)
    return EMPTY if amount is None else _format(amount, int(decimals))


def rupiah(value: Any) -> str:
    """``Rp 1.234.567`` (whole rupiah)."""
    amount = to_decimal(value)
    return EMPTY if amount is None else f"Rp {_format(amount, 0)}"


def rupiah_many() -> Callable[[Any], str]:
    """rupiah() for a whole table: the active language's separators are read once (number_format reads them on
    every call, the larger part of a finding's time for thousands of amounts). Same text as rupiah()
    (tests/lib/test_formats.py)."""
    separator = get_format("THOUSAND_SEPARATOR")
    if get_format("NUMBER_GROUPING") != 3:  # noqa: PLR2004 - the grouping of three Python's "," writes
        return rupiah

    def one(value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            whole = value  # an int or a database's Decimal needs no trip through str()
        else:
            amount = value if isinstance(value, Decimal) and value.is_finite() else to_decimal(value)
            if amount is None or not amount.is_finite():
                return rupiah(value)
            whole = int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return f"Rp {'-' if whole < 0 else ''}{abs(whole):,}".replace(",", separator)

    return one


def m2(value: Any) -> str:
    """An area in square metres with two decimals: ``1.234,50 m²``."""
    amount = to_decimal(value)
    return EMPTY if amount is None else f"{_format(amount, 2)} m²"


def area(value: Any) -> str:
    """An area in m² below one hectare, in hectares (two decimals) from one hectare up."""
    amount = to_decimal(value)
    if amount is None:
        return EMPTY
    if abs(amount) >= HECTARE_M2:
        return f"{_format(amount / HECTARE_M2, 2)} ha"
    return f"{_format(amount, 2)} m²"


def percent(value: Any, decimals: int = 1) -> str:
    """A share between 0 and 1 as a percentage: ``42,5%``."""
    share = to_decimal(value)
    return EMPTY if share is None else f"{_format(share * 100, int(decimals))}%"


def share_of(part: Any, whole: Any) -> float:
    """part / whole (0 when whole is empty), for use with ``percent``."""
    part, whole = to_decimal(part), to_decimal(whole)
    if part is None or not whole:
        return 0.0
    return float(part / whole)


def area_difference(value: Any, reference: Any) -> str:
    """``+12,30 m² (+0,5%)``: how far ``value`` is from ``reference`` (empty when either is missing)."""
    value, reference = to_decimal(value), to_decimal(reference)
    if value is None or reference is None:
        return ""
    diff = value - reference
    sign = "+" if diff > 0 else ("−" if diff < 0 else "±")
    text = f"{sign}{_format(abs(diff), 2)} m²"
    if reference:
        text += f" ({sign}{_format(abs(diff) / reference * 100, 1)}%)"
    return text
