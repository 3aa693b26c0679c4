"""The geometry rules (assets.geo) and their messages, through the shared entry point."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.gis.gdal import OGRGeometry
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.test import SimpleTestCase, TestCase, override_settings

from assets.models import LandAsset
from assets.register.geo import GeometryError, normalize_parcel_geometry
from tests.factories import load_reference, make_asset

SQUARE = "POLYGON((116.85 -1.25, 116.851 -1.25, 116.851 -1.249, 116.85 -1.249, 116.85 -1.25))"


class GeometryRulesTests(SimpleTestCase):
    def test_polygon_becomes_multipolygon_in_4326(self):
        geom = normalize_parcel_geometry(GEOSGeometry(SQUARE, srid=4326))
        self.assertIsInstance(geom, MultiPolygon)
        self.assertEqual(geom.srid, 4326)
        self.assertEqual(len(geom), 1)

    def test_z_and_m_are_dropped(self):
        z = GEOSGeometry("POLYGON Z((116.85 -1.25 5, 116.851 -1.25 5, 116.851 -1.249 5, 116.85 -1.25 5))", srid=4326)
        self.assertFalse(normalize_parcel_geometry(z).hasz)
        zm = OGRGeometry(
            "POLYGON ZM((116.85 -1.25 5 1, 116.851 -1.25 5 1, 116.851 -1.249 5 1, 116.85 -1.25 5 1))", srs=4326
        )
        geom = normalize_parcel_geometry(zm)
        self.assertFalse(geom.hasz)
        self.assertEqual(geom.geom_type, "MultiPolygon")

    def test_projected_input_is_transformed(self):
        # 116.83 E, 1.25 S in TM-3 zone 50.1 (EPSG:23837): E 348,018.49 N 1,361,758.27 (cs2cs).
        tm3 = GEOSGeometry(
            "POLYGON((348000 1361740, 348040 1361740, 348040 1361780, 348000 1361780, 348000 1361740))", srid=23837
        )
        geom = normalize_parcel_geometry(tm3)
        centroid = geom.centroid
        self.assertAlmostEqual(centroid.x, 116.83, places=3)
        self.assertAlmostEqual(centroid.y, -1.25, places=3)

    def test_wrong_type_is_refused_with_its_name(self):
        with self.assertRaisesMessage(GeometryError, "A parcel must be a Polygon or MultiPolygon, not a LineString."):
            normalize_parcel_geometry(GEOSGeometry("LINESTRING(116.85 -1.25, 116.86 -1.25)", srid=4326))
        with self.assertRaisesMessage(GeometryError, "not a Point"):
            normalize_parcel_geometry(GEOSGeometry("POINT(116.85 -1.25)", srid=4326))

    def test_empty_is_refused(self):
        with self.assertRaisesMessage(GeometryError, "The geometry is empty."):
            normalize_parcel_geometry(GEOSGeometry("POLYGON EMPTY", srid=4326))
        with self.assertRaisesMessage(GeometryError, "The geometry is empty."):
            normalize_parcel_geometry(None)

    def test_invalid_geometry_names_the_geos_reason_and_place(self):
        bowtie = GEOSGeometry(
            "POLYGON((116.85 -1.25, 116.86 -1.24, 116.86 -1.25, 116.85 -1.24, 116.85 -1.25))", srid=4326
        )
        with self.assertRaisesMessage(GeometryError, "Invalid geometry: Self-intersection[116.855 -1.245]"):
            normalize_parcel_geometry(bowtie)

    def test_coordinates_outside_lon_lat_are_refused_with_a_crs_hint(self):
        metres = GEOSGeometry(
            "POLYGON((348000 1361740, 348040 1361740, 348040 1361780, 348000 1361780, 348000 1361740))", srid=4326
        )
        with self.assertRaisesMessage(GeometryError, "are not valid longitude/latitude for EPSG:4326") as ctx:
            normalize_parcel_geometry(metres)
        self.assertIn("EPSG:23837", str(ctx.exception))

    def test_absurd_projected_coordinates_are_refused_not_folded_into_a_place(self):
        # PROJ folds x = 1e20 in Web Mercator into a plausible lon/lat; a form must refuse it as an import does.
        with self.assertRaisesMessage(GeometryError, "outside what EPSG:3857 can describe"):
            normalize_parcel_geometry("SRID=3857;POLYGON((1e20 0, 1e20 1, 1.0000001e20 1, 1e20 0))")

    def test_missing_crs_is_refused_unless_named(self):
        with self.assertRaisesMessage(GeometryError, "has no coordinate reference system"):
            normalize_parcel_geometry(GEOSGeometry(SQUARE))
        self.assertEqual(normalize_parcel_geometry(GEOSGeometry(SQUARE), srid=4326).srid, 4326)

    def test_unreadable_text_is_refused(self):
        with self.assertRaisesMessage(GeometryError, "The geometry text cannot be read"):
            normalize_parcel_geometry("POLYGON((1 2, 3")


def ring(n: int, lon: float = 116.85, lat: float = -1.25, radius: float = 0.001) -> str:
    """A closed polygon of ``n`` vertices (the first repeated last) as WKT."""
    angles = [2 * math.pi * i / (n - 1) for i in range(n - 1)]
    points = [f"{lon + radius * math.cos(a):.9f} {lat + radius * math.sin(a):.9f}" for a in angles]
    return f"POLYGON(({', '.join([*points, points[0]])}))"


class VertexAndRegionRulesTests(SimpleTestCase):
    @override_settings(SIPANAH_MAX_PARCEL_VERTICES=1000)
    def test_more_vertices_than_the_limit_are_refused_with_the_count(self):
        self.assertEqual(normalize_parcel_geometry(ring(1000), srid=4326).num_coords, 1000)
        with self.assertRaisesMessage(GeometryError, "The parcel has 1,001 vertices; at most 1,000 are accepted"):
            normalize_parcel_geometry(ring(1001), srid=4326)

    def test_lon_lat_declared_as_tm3_is_refused_naming_lon_lat(self):
        with self.assertRaises(GeometryError) as caught:
            normalize_parcel_geometry(SQUARE, srid=23837)  # lands near 113.65 E, 13.56 S: the Indian Ocean
        message = str(caught.exception)
        self.assertIn("Read as EPSG:23837 the coordinates land at longitude 113.6", message)
        self.assertIn("outside Indonesia", message)
        self.assertIn("Read as longitude/latitude (EPSG:4326) they lie in Kota Balikpapan", message)

    def test_tm3_declared_as_utm_names_tm3(self):
        tm3 = "POLYGON((348000 1361740, 348040 1361740, 348040 1361780, 348000 1361780, 348000 1361740))"
        with self.assertRaisesMessage(GeometryError, "Read as TM-3 zone 50.1 (EPSG:23837) they lie in Kota"):
            normalize_parcel_geometry(tm3, srid=32750)  # UTM 50S puts these metres south of Australia

    def test_swapped_lon_lat_is_named(self):
        swapped = "POLYGON((-1.25 116.85, -1.25 116.851, -1.249 116.851, -1.25 116.85))"
        with self.assertRaisesMessage(GeometryError, "swapped: with them swapped the parcel lies in Kota Balikpapan"):
            normalize_parcel_geometry(swapped, srid=4326)

    def test_a_parcel_elsewhere_in_the_country_is_accepted(self):
        jakarta = "POLYGON((106.82 -6.2, 106.821 -6.2, 106.821 -6.199, 106.82 -6.2))"  # a city's guest house there
        self.assertEqual(normalize_parcel_geometry(jakarta, srid=4326).srid, 4326)

    def test_unknown_epsg_is_refused(self):
        with self.assertRaisesMessage(GeometryError, "Unknown coordinate reference system EPSG:999999"):
            normalize_parcel_geometry(SQUARE, srid=999999)


class LargeParcelStorageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()

    def test_a_parcel_at_the_vertex_limit_is_stored_with_all_its_vertices(self):
        # SpatiaLite's WKT parser stored a parcel of ~450,000 vertices as NULL, keeping its area and kelurahan.
        limit = settings.SIPANAH_MAX_PARCEL_VERTICES
        geom = normalize_parcel_geometry(ring(limit, radius=0.01), srid=4326)
        asset = make_asset(geom=geom)
        stored = LandAsset.objects.values_list("geom", flat=True).get(pk=asset.pk)
        self.assertIsNotNone(stored)
        self.assertEqual(stored.num_coords, limit)
        self.assertTrue(stored.equals_exact(geom, tolerance=1e-9))
