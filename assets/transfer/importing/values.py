"""Reading a cell as a KIB A value: text, numbers as printed (Rp. 1.250.000,-), dates as written in Indonesia,
choices by code or label, the agency by code or name. A value that cannot be read raises ValueRefused."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from assets.lib import cells
from assets.register.kib import normalise_name
from assets.register.models import (
    Agency,
    Stage,
)


class ValueRefused(ValueError):
    pass


def text_of(value: Any) -> str:
    """A cell as text: a whole float without its ".0", the apostrophe our CSV exports put before a formula-like
    text removed (assets.lib.cells), surrounding blanks trimmed."""
    if type(value) is str:  # most cells: the same as below, without the calls
        text = value.strip()
        return cells.unquote(text) if text.startswith(cells.QUOTE) else text
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return cells.unquote(str(value).strip())


def digits_of(value: Any) -> str:
    text = text_of(value)
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


_PRINTED_NUMBER = re.compile(r"^Rp\.?|(,-|\.-|m2|m²)$", flags=re.IGNORECASE)  # currency before, unit after


_BLANKS = re.compile(r"\s+")  # (\s: no-break spaces too)
_THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})+(,\d+)?")  # Indonesian 1.250.000,50
_DECIMAL_COMMA = re.compile(r"\d+,\d+")


def decimal_of(value: Any, name: str) -> Decimal | None:
    if type(value) is int:  # what the text path below gives an int, without it
        return Decimal(value)
    text = text_of(value)
    if not text.replace(".", "").replace(",", "").isdigit():  # as printed: "Rp. 1.250.000,-", "1.250,5 m²"
        text = _PRINTED_NUMBER.sub("", _BLANKS.sub("", text))
    if not text:
        return None
    if _THOUSANDS.fullmatch(text):
        text = text.replace(".", "").replace(",", ".")
    elif _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueRefused(_("%(value)s is not a number.") % {"value": text_of(value)}) from exc
    if not number.is_finite():
        raise ValueRefused(_("%(value)s is not a number.") % {"value": text_of(value)})
    return number


def date_of(value: Any) -> dt.date | None:
    text = text_of(value)
    if not text:
        return None
    parsed = _parse_date(text)
    if parsed is None:
        raise ValueRefused(_("%(value)s is not a date (expected YYYY-MM-DD or DD/MM/YYYY).") % {"value": text})
    return parsed


@functools.lru_cache(maxsize=8192)  # a register repeats its dates; strptime is slow
def _parse_date(text: str) -> dt.date | None:
    iso = len(text) == 10 and text[4] == text[7] == "-" and text.isascii()
    if iso and text[:4].isdigit() and text[5:7].isdigit() and text[8:].isdigit():
        # YYYY-MM-DD (GeoPackage dates as read): what strptime's first pattern gives, ~20x faster
        with contextlib.suppress(ValueError):
            return dt.date(int(text[:4]), int(text[5:7]), int(text[8:]))
    for pattern in (
        "%Y-%m-%d",
        "%Y/%m/%d",
        "%d/%m/%Y",
        "%d-%m-%Y",
        "%d.%m.%Y",
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
    ):
        try:
            return dt.datetime.strptime(text[:19], pattern).date()
        except ValueError:
            continue
    # As printed in Indonesian: 12 Maret 2005, 1-Agu-2010, 03 Des. 1998 (strptime's %B is the C locale's English)
    match = re.fullmatch(r"(\d{1,2})[\s.-]+([A-Za-z]{3,9})\.?[\s.,-]+(\d{4})", text.strip())
    month = _MONTHS.get(match[2][:3].lower()) if match else None
    if match and month:
        with contextlib.suppress(ValueError):
            return dt.date(int(match[3]), month, int(match[1]))
    return None


_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "mei": 5, "may": 5, "jun": 6, "jul": 7, "agu": 8, "agt": 8,
           "ags": 8, "aug": 8, "sep": 9, "okt": 10, "oct": 10, "nov": 11, "nop": 11, "des": 12, "dec": 12}  # fmt: skip


@functools.lru_cache(maxsize=64)
def _choice_labels(choices: Any, language: str | None) -> tuple[tuple[str, str], ...]:
    """(value, label) of each choice, the import's language first, then the site's other languages: a printed
    KIB A is written in Indonesian ("Penyerahan PSU / fasum-fasos") whatever the language of who imports it."""
    others = [code for code, _name in settings.LANGUAGES if code != language]
    labels: dict[tuple[str, str], None] = {}
    for code in (language, *others):
        with translation.override(code):
            labels.update({(value, normalise_name(str(label)).upper()): None for value, label in choices.choices})
    return tuple(labels)


def choice_of(value: Any, choices: Any, name: str, language: str | None = None) -> str | None:
    text = text_of(value)
    if not text:
        return None
    found = _find_choice(text, choices, language or translation.get_language())
    if found is None:
        raise ValueRefused(
            _("%(value)s is not one of %(choices)s.") % {"value": text, "choices": ", ".join(choices.values)}
        )
    return found


@functools.lru_cache(maxsize=4096)
def _find_choice(text: str, choices: Any, language: str | None) -> str | None:
    key = normalise_name(text).upper()
    labels = _choice_labels(choices, language)
    for choice_value, label in labels:
        if key in (choice_value.upper(), label):
            return choice_value
    # One word of a label ("Pembelian" in "Purchase (pembelian)"), only when it points to a single choice.
    words = {v for v, label in labels if key and key in label.split("_")}  # (a choice's labels in each language)
    if len(words) == 1:
        return words.pop()
    return None


STAGE_ALIASES = {"TERBIT": Stage.SERTIFIKAT_TERBIT, "SERTIFIKAT": Stage.SERTIFIKAT_TERBIT}


def agency_lookup() -> dict[str, int]:
    table: dict[str, int] = {}
    for pk, code, name in Agency.objects.values_list("pk", "code", "name"):
        table[code.lower()] = pk
        table[normalise_name(name)] = pk
    return table
