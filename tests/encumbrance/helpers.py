"""Shared set-up of the encumbrance tests: a located asset, users per role and a case or agreement on it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from assets.encumbrance import services
from assets.encumbrance.models import CaseKind, UtilisationForm
from assets.models import Agency
from assets.register import permissions
from tests.factories import make_asset, make_user, point_inside, square

TODAY = timezone.localdate()
KELURAHAN = "64.71.05.1002"


def located_asset(agency: Agency | None = None, half: float = 0.0005, **fields):
    lon, lat = point_inside(KELURAHAN)
    return make_asset(agency=agency, geom=square(lon, lat, half), plotting_status="located", **fields)


def part_of(asset, share: float = 0.5):
    """A square around the parcel's centre covering about ``share`` of its side."""
    c = asset.geom.centroid
    half = (asset.geom.extent[2] - asset.geom.extent[0]) / 2 * share
    return square(c.x, c.y, half)


def open_case(asset, kind=CaseKind.OKUPASI, opened_on=None, user=None, **fields):
    return services.case_open(
        user=user, assets=[asset], kind=kind, title=fields.pop("title", "Warga menempati lahan"),
        opened_on=opened_on or TODAY - dt.timedelta(days=10), **fields,
    )  # fmt: skip


def lease(asset, start=None, end=None, user=None, **fields):
    start = start or TODAY - dt.timedelta(days=300)
    defaults = {
        "form": UtilisationForm.SEWA, "partner_name": "CV Maju Jaya", "agreement_number": "030/123/BPKAD",
        "agreement_date": start, "start_date": start, "end_date": end or start + dt.timedelta(days=730),
        "purpose": "Kios", "tariff": Decimal("12000000"),
    }  # fmt: skip
    defaults.update(fields)
    return services.utilisation_create(user=user, asset=asset, **defaults)


def users(agency, other):
    return {
        "officer": make_user("officer", permissions.OFFICER, agency),
        "other_officer": make_user("other_officer", permissions.OFFICER, other),
        "bpkad": make_user("bpkad", permissions.BPKAD),
        "auditor": make_user("auditor", permissions.AUDITOR),
        "planner": make_user("planner", permissions.PLANNER),
    }
