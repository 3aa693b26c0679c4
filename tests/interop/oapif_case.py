"""A live server with a small register for the OGC API clients' tests (GDAL's OAPIF driver, QGIS's OAPIF
provider): 13 parcels over the six kecamatan and one asset without location, read by the planner ``gis``."""

from __future__ import annotations

from django.test import LiveServerTestCase

from assets.register import permissions
from tests.factories import load_reference, make_asset, make_user, point_inside, square

KELURAHAN = ["64.71.01.1001", "64.71.02.1004", "64.71.03.1001", "64.71.04.1003", "64.71.05.1002", "64.71.06.1003"]
USER, PASSWORD = "gis", "pw-gis"


class OapifLiveCase(LiveServerTestCase):
    def setUp(self):
        load_reference()
        self.user = make_user(USER, permissions.PLANNER)
        for i in range(13):
            code = KELURAHAN[i % len(KELURAHAN)]
            lon, lat = point_inside(code)
            make_asset(geom=square(lon + 0.0015 * (i // 6), lat, 0.0003), nama_barang=f"Tanah {i}")
        make_asset(geom=None, nama_barang="Tanah tanpa lokasi")
