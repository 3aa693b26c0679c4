"""The map's encumbrance layer: disputed parts of open cases and used parts of agreements in use as vector tile
layers, under the register's filters, empty below its zoom; the maps carry the layer."""

from __future__ import annotations

import math

import mapbox_vector_tile
from django.test import TestCase
from django.urls import reverse

from assets.encumbrance import services
from assets.models import Agency
from tests.encumbrance.helpers import TODAY, lease, located_asset, open_case, part_of, users
from tests.factories import load_reference


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


class EncumbranceTileTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency, cls.other = Agency.objects.order_by("code")[:2]
        cls.users = users(cls.agency, cls.other)
        cls.asset = located_asset(cls.agency)
        cls.case = open_case(cls.asset, geom=part_of(cls.asset, 0.5))
        cls.closed = open_case(cls.asset, geom=part_of(cls.asset, 0.3))
        services.case_move(case=cls.closed, user=None, to_stage="DIHENTIKAN", date=TODAY, note="Dicabut")
        cls.lease = lease(cls.asset, geom=part_of(cls.asset, 0.8))

    def layers(self, z, **params):
        c = self.asset.geom.centroid
        x, y = tile_of(c.x, c.y, z)
        response = self.client.get(reverse("encumbrance-tile", kwargs={"z": z, "x": x, "y": y}), params)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/vnd.mapbox-vector-tile")
        return mapbox_vector_tile.decode(response.content) if response.content else {}

    def test_layers_filters_and_zoom(self):
        self.client.force_login(self.users["planner"])
        layers = self.layers(17)
        self.assertEqual([f["properties"]["id"] for f in layers["disputes"]["features"]], [self.case.pk])
        self.assertEqual(layers["disputes"]["features"][0]["properties"]["k"], "OKUPASI")
        self.assertEqual([f["properties"]["id"] for f in layers["utilisations"]["features"]], [self.lease.pk])
        self.assertEqual(self.layers(12), {})  # below the layer's zoom
        self.assertEqual(self.layers(17, agency=self.other.code), {})  # filtered out with its asset
        self.assertIn("disputes", self.layers(17, agency=self.agency.code))
        self.client.logout()
        c = self.asset.geom.centroid
        x, y = tile_of(c.x, c.y, 17)
        self.assertEqual(
            self.client.get(reverse("encumbrance-tile", kwargs={"z": 17, "x": x, "y": y})).status_code, 302
        )

    def test_maps_carry_the_layer(self):
        self.client.force_login(self.users["auditor"])
        self.assertContains(self.client.get(reverse("asset-map")), "SipanahEncumbrance.disputeStyle")
        self.assertContains(
            self.client.get(reverse("asset-detail", args=[self.asset.pk])), "SipanahEncumbrance.disputeStyle"
        )
