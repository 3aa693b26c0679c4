"""Geodesic area against the database's own ellipsoidal area, and the kelurahan assignment rule."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import shapely
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.db import connection
from django.db.models import Count
from django.test import TestCase
from pyproj import CRS, Transformer

from assets.models import AdministrativeArea, LandAsset
from assets.register.geo import AreaRef, KelurahanIndex, area_srid, geodesic_area_m2, to_metric, to_shapely
from assets.register.services import kelurahan_index
from tests.factories import load_reference, make_asset, point_inside, square


def database_ellipsoidal_area(geom: GEOSGeometry) -> float:
    """The reference: PostGIS ST_Area(geography) or SpatiaLite ST_Area(geom, use_ellipsoid=1)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT ST_Area(ST_GeomFromEWKB(%s)::geography, true)", [bytes(geom.ewkb)])
        else:
            cursor.execute("SELECT ST_Area(GeomFromEWKB(%s), 1)", [bytes(geom.ewkb).hex()])
        return float(cursor.fetchone()[0])


def equal_area_reference(geom: GEOSGeometry) -> float:
    """Second reference: planar area in a Lambert azimuthal equal-area projection centred on the parcel."""
    c = geom.centroid
    laea = CRS.from_proj4(f"+proj=laea +lat_0={c.y} +lon_0={c.x} +ellps=WGS84 +units=m")
    transformer = Transformer.from_crs(4326, laea, always_xy=True)
    return shapely.transform(
        to_shapely(geom), lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    ).area


class GeodesicAreaTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()

    def test_area_matches_the_database_and_an_equal_area_projection_within_0_01_percent(self):
        parcels = [
            square(116.83, -1.25, 0.0003),  # ~4,400 m²
            square(116.95, -1.20, 0.005),  # ~1.2 km²
            GEOSGeometry(  # an L-shape with a hole
                "MULTIPOLYGON(((116.80 -1.27, 116.803 -1.27, 116.803 -1.268, 116.801 -1.268, 116.801 -1.266,"
                " 116.80 -1.266, 116.80 -1.27), (116.8002 -1.2698, 116.8004 -1.2698, 116.8004 -1.2696,"
                " 116.8002 -1.2696, 116.8002 -1.2698)))",
                srid=4326,
            ),
            # Clockwise shell, as in the shared Balikpapan data.
            MultiPolygon(
                Polygon(((116.9, -1.2), (116.9, -1.199), (116.901, -1.199), (116.901, -1.2), (116.9, -1.2))), srid=4326
            ),
        ]
        for geom in parcels:
            ours = geodesic_area_m2(geom)
            with self.subTest(geom=geom.wkt[:40]):
                self.assertGreater(ours, 0)
                self.assertAlmostEqual(ours / database_ellipsoidal_area(geom), 1.0, delta=1e-4)
                self.assertAlmostEqual(ours / equal_area_reference(geom), 1.0, delta=1e-4)

    def test_stored_area_is_the_geodesic_area_rounded_to_the_centimetre(self):
        asset = make_asset(geom=square(116.83, -1.25))
        asset.refresh_from_db()
        self.assertEqual(asset.luas_gis_m2, Decimal(str(geodesic_area_m2(asset.geom))).quantize(Decimal("0.01")))
        self.assertEqual(asset.plotting_status, "located")

    def test_no_geometry_means_no_area_and_unknown_location(self):
        asset = make_asset(geom=None)
        self.assertIsNone(asset.luas_gis_m2)
        self.assertIsNone(asset.kelurahan_id)
        self.assertEqual(asset.plotting_status, "unknown")


class KelurahanAssignmentTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()

    def test_reference_data_counts(self):
        levels = dict(AdministrativeArea.objects.values_list("level").annotate(n=Count("id")).order_by())
        self.assertEqual(levels, {"kota": 1, "kecamatan": 6, "kelurahan": 34})

    def test_parcel_inside_a_kelurahan_gets_it_and_its_kecamatan(self):
        lon, lat = point_inside("64.71.05.1002")
        asset = make_asset(geom=square(lon, lat, 0.0002))
        self.assertEqual(asset.kelurahan.code, "64.71.05.1002")
        self.assertEqual(asset.kecamatan.code, "64.71.05")

    def test_parcel_over_an_overlap_sliver_goes_to_the_larger_share_deterministically(self):
        index = kelurahan_index()
        # Find two overlapping kelurahan in the shared data and a parcel straddling the overlap.
        a, b, overlap = _first_overlap(index)
        centre = shapely.Point(overlap.representative_point())
        # A parcel centred on the overlap: both kelurahan intersect it; the rule picks the larger share.
        lonlat = _to_lonlat(centre)
        parcel = square(lonlat[0], lonlat[1], 0.0003)
        expected = _largest_share(index, parcel)
        self.assertIn(expected, {index.refs[a].code, index.refs[b].code})
        first = make_asset(geom=parcel)
        second = make_asset(geom=parcel)
        self.assertEqual(first.kelurahan.code, expected)
        self.assertEqual(second.kelurahan.code, expected)

    def test_parcel_just_offshore_goes_to_the_nearest_kelurahan(self):
        # Due south of the coast of Balikpapan Selatan/Kota: find a point ~300 m outside the city.
        index = kelurahan_index()
        city = shapely.union_all(index.geoms)
        lon, lat = point_inside("64.71.06.1001")
        probe = to_metric(shapely.Point(lon, lat))
        while city.contains(probe):
            probe = shapely.Point(probe.x, probe.y - 50)
        offshore = shapely.Point(probe.x, probe.y - 300)
        nearest_code = index.refs[int(index.tree.query_nearest(offshore)[0])].code
        lonlat = _to_lonlat(offshore)
        asset = make_asset(geom=square(lonlat[0], lonlat[1], 0.0002))
        self.assertEqual(asset.kelurahan.code, nearest_code)

    def test_parcel_outside_the_city_gets_no_kelurahan(self):
        asset = make_asset(geom=square(117.30, -1.60))  # in Selat Makassar, ~40 km from the coast
        self.assertIsNone(asset.kelurahan)
        self.assertIsNone(asset.kecamatan)
        self.assertEqual(LandAsset.objects.filter(kelurahan__isnull=True, geom__isnull=False).count(), 1)

    def test_index_is_independent_of_input_order(self):
        areas = list(AdministrativeArea.objects.filter(level="kelurahan"))
        refs = [(AreaRef(a.id, a.code, a.parent_id), a.geom) for a in areas]
        forward, backward = KelurahanIndex(refs), KelurahanIndex(list(reversed(refs)))
        a, _b, overlap = _first_overlap(forward)
        lonlat = _to_lonlat(shapely.Point(overlap.representative_point()))
        parcel = square(lonlat[0], lonlat[1], 0.0003)
        self.assertEqual(forward.assign(parcel), backward.assign(parcel))


def _to_lonlat(point_metric: shapely.Point) -> tuple[float, float]:
    transformer = Transformer.from_crs(area_srid(), 4326, always_xy=True)
    return transformer.transform(point_metric.x, point_metric.y)


def _first_overlap(index: KelurahanIndex) -> tuple[int, int, shapely.Geometry]:
    for i, geom in enumerate(index.geoms):
        for j in index.tree.query(geom, predicate="intersects"):
            if j > i:
                overlap = shapely.intersection(geom, index.geoms[j])
                if overlap.area > 1000:
                    return i, int(j), overlap
    raise AssertionError("the shared kelurahan data was expected to contain overlaps")


def _largest_share(index: KelurahanIndex, parcel: GEOSGeometry) -> str:
    metric = to_metric(to_shapely(parcel))
    shares = sorted(
        (
            (-metric.intersection(g).area, ref.code)
            for ref, g in zip(index.refs, index.geoms, strict=True)
            if metric.intersects(g)
        ),
    )
    return shares[0][1]
