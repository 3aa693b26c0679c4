"""Pure rules of the encumbrance room (no database): where a case may move next, and the identity numbers."""

from __future__ import annotations

import re

from assets.encumbrance.models import CASE_PATH, CLOSED_STAGES, CaseStage


def allowed_next_case_stages(current: str) -> list[str]:
    """The stages a case may move to from ``current``: forward along the path (steps may be skipped: a mediation
    that settles goes straight to SELESAI, a PN decision nobody appeals to INKRACHT), or stopped (DIHENTIKAN) from
    any open stage. A closed case moves no more (a new case is opened instead)."""
    if current in CLOSED_STAGES:
        return []
    forward = list(CASE_PATH[CASE_PATH.index(current) + 1 :])
    return [*forward, CaseStage.DIHENTIKAN]


_DIGITS = re.compile(r"[\s.\-]")


def clean_npwp(value: str) -> str | None:
    """The NPWP's digits (15, or 16 since PMK 112/2022), or None when it is not one. Dots, dashes and spaces
    as usually written (01.234.567.8-901.000) are dropped."""
    digits = _DIGITS.sub("", value or "")
    return digits if re.fullmatch(r"\d{15}|\d{16}", digits) else None


def clean_nik(value: str) -> str | None:
    """The NIK's 16 digits, or None when it is not one."""
    digits = _DIGITS.sub("", value or "")
    return digits if re.fullmatch(r"\d{16}", digits) else None
