"""The geometry rules (assets.geo) and their messages, through the shared entry point."""

from __future__ import annotations

from django.contrib.gis.gdal import OGRGeometry
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.test import SimpleTestCase

from assets.register.geo import GeometryError, normalize_parcel_geometry

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
