"""The demo's cases and agreements: written through the services on the located assets, with their parts inside."""

from __future__ import annotations

from django.test import TestCase

from assets.demo.encumbrances import populate_encumbrances
from assets.encumbrance.models import DisputeCase, Payment, Utilisation
from assets.models import LandAsset
from tests.factories import load_reference, make_asset, point_inside, square


class DemoEncumbranceTests(TestCase):
    def test_written_on_located_assets(self):
        load_reference()
        lon, lat = point_inside("64.71.05.1002")
        for i in range(10):
            make_asset(geom=square(lon + i * 0.0015, lat), plotting_status="located")
        make_asset(geom=None)  # without location: never picked
        cases, agreements, payments = populate_encumbrances(1)
        self.assertEqual((cases, agreements), (3, 5))
        self.assertEqual((DisputeCase.objects.count(), Utilisation.objects.count()), (3, 5))
        self.assertEqual(Payment.objects.count(), payments)
        for item in [*DisputeCase.objects.all(), *Utilisation.objects.all()]:
            self.assertGreater(item.area_m2, 0)
        self.assertFalse(LandAsset.objects.filter(geom__isnull=True, dispute_cases__isnull=False).exists())
        self.assertTrue(
            LandAsset.objects.filter(bermasalah=True).exists()
            or DisputeCase.objects.filter(closed_on__isnull=False).count() == 3
        )
