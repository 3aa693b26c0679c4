"""Work waiting in the encumbrance room (assets.work.registry): agreements ending within 90 and 30 days, payments
overdue, and hearings within 14 days. BPKAD (and admins) see every agency's; an officer sees their agency's."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from assets.encumbrance import selectors
from assets.encumbrance.models import Utilisation
from assets.lib import formats
from assets.register import permissions
from assets.register.models import User
from assets.work.registry import Severity, WorkItem, work_source

_NOBODY = -1


def _date(value: dt.date | None) -> str:
    return date_format(value) if value else ""


def scope(user: User) -> int | None:
    """The agency whose work the user sees: None for every agency (BPKAD, admin), ``_NOBODY`` for roles that do not
    act on encumbrances (auditors, planners, an officer without an agency)."""
    roles = permissions.user_roles(user)
    if roles & {permissions.BPKAD, permissions.ADMIN}:
        return None
    if permissions.OFFICER in roles and user.agency_id is not None:
        return user.agency_id
    return _NOBODY


@work_source("utilisations_ending", order=40)
def utilisations_ending(user: User, today: dt.date | None = None) -> list[WorkItem]:
    agency = scope(user)
    if agency == _NOBODY:
        return []
    today = today or timezone.localdate()
    soon, later = sorted(selectors.ALERT_DAYS)
    items = []
    near = selectors.ending_between(today, today + dt.timedelta(days=soon), agency)
    far = selectors.ending_between(today + dt.timedelta(days=soon + 1), today + dt.timedelta(days=later), agency)
    sources: tuple[tuple[QuerySet[Utilisation], int, Severity, str], ...] = (
        (near, soon, "danger", _("Utilisation agreements ending within %(days)s days") % {"days": soon}),
        (far, later, "warning", _("Utilisation agreements ending within %(days)s days") % {"days": later}),
    )
    for qs, days, severity, title in sources:
        first = qs.first()
        detail = (
            _("first: %(number)s, %(partner)s, ends %(date)s")
            % {"number": first.agreement_number, "partner": first.partner_name, "date": _date(first.end_date)}
            if first
            else ""
        )
        url = reverse("encumbrance-utilisations") + f"?ending={days}"
        items.append(WorkItem("utilisations_ending", title, qs.count(), url, severity, detail))
    return items


@work_source("payments_overdue", order=41)
def payments_overdue(user: User, today: dt.date | None = None) -> list[WorkItem]:
    agency = scope(user)
    if agency == _NOBODY:
        return []
    qs = selectors.overdue_payments(today, agency)
    total = qs.aggregate(total=Sum(F("amount_due") - F("paid_amount")))["total"] or 0
    detail = _("outstanding: %(amount)s") % {"amount": formats.rupiah(total)}
    url = reverse("encumbrance-utilisations") + "?overdue=1"
    return [WorkItem("payments_overdue", _("Utilisation payments overdue"), qs.count(), url, "danger", detail)]


@work_source("hearings_soon", order=42)
def hearings_soon(user: User, today: dt.date | None = None) -> list[WorkItem]:
    agency = scope(user)
    if agency == _NOBODY:
        return []
    qs = selectors.hearings_within(selectors.HEARING_DAYS, today, agency)
    first = qs.first()
    detail = (
        _("first: %(case)s on %(date)s") % {"case": first.title, "date": _date(first.next_hearing)} if first else ""
    )
    url = reverse("encumbrance-cases") + f"?hearing={selectors.HEARING_DAYS}"
    title = _("Court hearings within %(days)s days") % {"days": selectors.HEARING_DAYS}
    return [WorkItem("hearings_soon", title, qs.count(), url, "warning", detail)]
