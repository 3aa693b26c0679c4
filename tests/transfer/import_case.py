"""The shared base of the import and export tests (tests/transfer): the data folder, mapping files, a parcel maker."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.test import TestCase
from osgeo import osr

from assets.models import Agency
from assets.transfer.importing.mapping import FieldMapping
from tests.factories import load_reference, point_inside

DATA = Path(__file__).parent.parent / "data"
MAPPINGS = DATA / "mappings"


def _mapping(name: str) -> FieldMapping:
    return FieldMapping.load(MAPPINGS / f"{name}.json")


class ImportTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def parcel(self, code: str = "64.71.05.1002", size: float = 0.0004) -> MultiPolygon:
        lon, lat = point_inside(code)
        ring = ((lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat))
        return MultiPolygon(Polygon(ring), srid=4326)


def _srs(epsg: int) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs
