"""The demo's open inventory campaign: the demo officer's agency in one kecamatan, two teams, for trying the field
app in a phone-sized window (``make demo``)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count
from django.utils import timezone

from assets.demo.users import DEMO_OFFICER_AGENCY
from assets.field import services
from assets.field.models import Campaign
from assets.register import selectors
from assets.register.models import Agency, User

DEMO_CAMPAIGN = "Inventarisasi Tanah Demo"


def create_demo_campaign() -> Campaign | None:
    """The open demo campaign (made once; None when the demo users or the agency's parcels are missing)."""
    if not settings.SIPANAH_DEMO:
        raise ImproperlyConfigured("The demo campaign is created only when SIPANAH_DEMO=1 (never in production).")
    existing = Campaign.objects.filter(name=DEMO_CAMPAIGN).first()
    if existing is not None:
        return existing
    agency = Agency.objects.filter(code=DEMO_OFFICER_AGENCY).first()
    officer, bpkad = User.objects.filter(username="officer").first(), User.objects.filter(username="bpkad").first()
    if agency is None or officer is None or bpkad is None:
        return None
    busiest = (
        selectors.live_parcels()
        .filter(agency=agency)
        .values("kecamatan")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    if busiest is None:
        return None
    today = timezone.localdate()
    return services.campaign_create(
        user=None, name=DEMO_CAMPAIGN, starts_on=today, ends_on=today + dt.timedelta(days=30),
        teams=[("Tim Lapangan 1", [officer]), ("Tim Lapangan 2", [bpkad])], agency=agency,
        kecamatan=selectors.kecamatan_list().get(pk=busiest["kecamatan"]),
    )  # fmt: skip
