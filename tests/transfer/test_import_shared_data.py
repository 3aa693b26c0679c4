"""Foreign parcel files (tests/data, see ATTRIBUTION.md) through the importer with their mapping files."""

from __future__ import annotations

from django.conf import settings
from django.test import override_settings

from assets.models import LandAsset
from assets.transfer.importing.run import run_import
from tests.factories import import_messages as _messages
from tests.transfer.import_case import DATA, ImportTestCase, _mapping

# The foreign files test formats and coordinate systems; their parcels lie outside the region where Balikpapan's can.
ANYWHERE = {**settings.SIPANAH_CITY, "region": "the world", "region_bbox": (-180.0, -90.0, 180.0, 90.0)}


class OutsideTheRegionTests(ImportTestCase):
    def test_a_file_of_parcels_in_paris_is_refused_as_a_wrong_crs(self):
        report = run_import(DATA / "paris18_200.geojson", mapping=_mapping("paris18"))
        self.assertFalse(report.ok)
        self.assertIn("land at longitude 2.3", report.errors[0].message)
        self.assertIn("outside Indonesia", report.errors[0].message)
        self.assertEqual(LandAsset.objects.count(), 0)


@override_settings(SIPANAH_CITY=ANYWHERE)
class SharedDataTests(ImportTestCase):
    """Subsets of ../shared/data (see tests/data/ATTRIBUTION.md): each imports, or is refused precisely."""

    def test_paris18_geojson(self):
        report = run_import(DATA / "paris18_200.geojson", mapping=_mapping("paris18"))
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(report.created, 200)
        asset = LandAsset.objects.get(nibar="75118000AA0002")
        self.assertIsNone(asset.kelurahan_id)  # outside Balikpapan: no kelurahan, still imported

    def test_epinay_lambert93_shapefile(self):
        report = run_import(DATA / "epinay_l93_250.shp", mapping=_mapping("epinay_strict"))
        self.assertEqual(_messages(report), "208:luas_kib_m2:luas_kib_m2 is empty.")
        self.assertEqual(LandAsset.objects.count(), 0)
        report = run_import(DATA / "epinay_l93_250.shp", mapping=_mapping("epinay"))
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(report.crs, "EPSG:2154")
        lon = LandAsset.objects.get(nibar="91216000AC0389").geom.centroid.x
        self.assertAlmostEqual(lon, 2.3187, places=3)

    def test_cambridge_topojson_invalid_and_duplicates(self):
        path = DATA / "cambridge_subset.topojson"
        self.assertIn(
            "declares no coordinate reference system",
            run_import(path, mapping=_mapping("cambridge")).errors[0].message,
        )
        report = run_import(path, mapping=_mapping("cambridge"), srid="4326")
        self.assertEqual(report.error_count, 6)
        self.assertTrue(all(e.field == "geom" and "Invalid geometry" in e.message for e in report.errors))
        report = run_import(path, mapping=_mapping("cambridge_ml_nibar"), srid="4326", repair=True)
        self.assertIn("is also on feature", _messages(report))
        report = run_import(path, mapping=_mapping("cambridge"), srid="4326", repair=True)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual((report.created, len(report.repairs)), (149, 6))

    def test_flanders_lambert72(self):
        report = run_import(DATA / "flanders_reference_100.geojson", mapping=_mapping("flanders_reference"))
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(report.crs, "EPSG:31370")
        path = DATA / "flanders_topo_parcels_nocrs.geojson"
        report = run_import(path, mapping=_mapping("flanders_topo"))
        self.assertIn("cannot be longitude/latitude", report.errors[0].message)
        report = run_import(path, mapping=_mapping("flanders_topo"), srid="31370")
        self.assertTrue(report.committed, _messages(report))
