from django.test import override_settings

from assets.demo.campaign import DEMO_CAMPAIGN, create_demo_campaign
from assets.demo.users import DEMO_OFFICER_AGENCY, create_demo_users
from assets.register.models import Agency
from tests.factories import load_reference, make_asset, point_inside, square


@override_settings(SIPANAH_DEMO=True)
def test_demo_campaign_gives_the_officer_a_team(db):
    load_reference()
    agency = Agency.objects.get(code=DEMO_OFFICER_AGENCY)
    lon, lat = point_inside("64.71.01.1001")
    for i in range(5):
        make_asset(agency=agency, geom=square(lon + 0.0015 * i, lat))
    create_demo_users()
    campaign = create_demo_campaign()
    assert campaign.name == DEMO_CAMPAIGN and campaign.status == "open"
    assert campaign.assignments.count() == 5
    assert campaign.teams.filter(members__username="officer").exists()
    assert create_demo_campaign().pk == campaign.pk  # made once
