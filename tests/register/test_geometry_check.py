"""The parcel widget's geometry check, POST /assets/geometry/check/ (assets.transfer.outlines over
assets.register.entry, geo and overlaps): every input kind, the rules' answers with their locations, overlaps with
their areas, survey files offering their outlines, and who may call it."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import shapely
from django.test import Client, TestCase
from django.urls import reverse
from osgeo import ogr, osr
from pyproj import Transformer

from assets.models import Agency
from assets.register import geo, permissions
from tests.factories import load_reference, make_asset, make_user, point_inside, square

URL = "/assets/geometry/check/"


def tm3(lon: float, lat: float) -> tuple[float, float]:
    return Transformer.from_crs(4326, 23837, always_xy=True).transform(lon, lat)


def corner_text(points, sep: str = " ", fmt: str = "{:.3f}") -> str:
    return "\n".join(sep.join(fmt.format(v) for v in p) for p in points)


def independent_area_m2(geom: shapely.Geometry) -> float:
    """Area in a Lambert azimuthal equal-area projection centred on the geometry: not geo's method."""
    c = geom.centroid
    laea = f"+proj=laea +lat_0={c.y} +lon_0={c.x} +datum=WGS84 +units=m"
    to = Transformer.from_crs(4326, laea, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1]))).area


class GeometryCheckCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.own = Agency.objects.get(code="1.01.01")
        cls.other = Agency.objects.get(code="1.02.01")
        cls.officer = make_user("officer", permissions.OFFICER, cls.own)
        cls.bpkad = make_user("bpkad", permissions.BPKAD)
        cls.auditor = make_user("auditor", permissions.AUDITOR)
        cls.lon, cls.lat = point_inside("64.71.03.1003")
        # a neighbour of the other agency: 0.0004° (about 44 m) square east of the point
        cls.neighbour = make_asset(
            agency=cls.other, geom=square(cls.lon + 0.0004, cls.lat, 0.0002), nama_barang="Tanah Puskesmas"
        )
        cls.removed = make_asset(agency=cls.other, geom=square(cls.lon + 0.0004, cls.lat, 0.0002))
        cls.removed.removed_at = cls.removed.created_at.date()
        cls.removed.save()

    def setUp(self):
        self.client.force_login(self.officer)

    def check(self, status: int = 200, language: str = "en", **data):
        response = self.client.post(URL, data, HTTP_ACCEPT_LANGUAGE=language)
        self.assertEqual(response.status_code, status, response.content[:500])
        self.assertEqual(response["Content-Type"], "application/json")
        return response.json()

    def tm3_corners(self):
        x, y = tm3(self.lon - 0.001, self.lat)  # west of the neighbour: no overlap
        return [(x, y), (x + 40, y), (x + 45, y + 30), (x + 10, y + 50), (x - 5, y + 20)]


class InputKindTests(GeometryCheckCase):
    def test_the_url_and_its_name(self):
        self.assertEqual(reverse("geometry_check"), URL)

    def test_wkt_in_lon_lat(self):
        drawn = square(self.lon - 0.001, self.lat, 0.0001)
        answer = self.check(geometry=drawn.wkt)
        self.assertEqual(set(answer), {"geometry", "area_m2", "valid", "errors", "overlaps", "candidates"})
        self.assertTrue(answer["valid"])
        self.assertEqual(answer["errors"], [])
        self.assertEqual(answer["overlaps"], [])
        self.assertEqual(answer["candidates"], [])
        self.assertEqual(answer["geometry"]["type"], "MultiPolygon")
        self.assertEqual(answer["area_m2"], geo.geodesic_area_m2(drawn))

    def test_geojson_declaring_tm3(self):
        corners = self.tm3_corners()
        feature = {
            "type": "Feature",
            "properties": {},
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::23837"}},
            "geometry": {"type": "Polygon", "coordinates": [[*corners, corners[0]]]},
        }
        answer = self.check(geometry=json.dumps(feature))
        self.assertTrue(answer["valid"], answer)
        lon, lat = answer["geometry"]["coordinates"][0][0][0]
        self.assertAlmostEqual(lon, self.lon - 0.001, places=6)
        self.assertAlmostEqual(lat, self.lat, places=6)

    def test_ewkt_declares_its_crs(self):
        corners = self.tm3_corners()
        wkt = "SRID=23837;" + shapely.Polygon(corners).wkt
        self.assertTrue(self.check(geometry=wkt)["valid"])

    def test_a_five_corner_tm3_list_gives_exactly_geos_area(self):
        corners = self.tm3_corners()
        answer = self.check(corners=corner_text(corners), crs="23837")
        (expected,), _errors = geo.normalize_parcel_geometries([shapely.Polygon(corners)], 23837)
        self.assertTrue(answer["valid"], answer)
        self.assertEqual(answer["area_m2"], geo.geodesic_areas_m2([expected])[0])
        self.assertAlmostEqual(answer["area_m2"], shapely.Polygon(corners).area, delta=2.0)  # TM-3 scale ~0.9999

    def test_every_entry_crs_gives_the_same_parcel(self):
        lonlat = [Transformer.from_crs(23837, 4326, always_xy=True).transform(*p) for p in self.tm3_corners()]
        areas = {}
        for srid in (4326, 23837, 23880, 32750):
            points = [Transformer.from_crs(4326, srid, always_xy=True).transform(*p) for p in lonlat]
            fmt = "{:.9f}" if srid == 4326 else "{:.4f}"
            answer = self.check(corners=corner_text(points, fmt=fmt), crs=str(srid))
            self.assertTrue(answer["valid"], (srid, answer))
            areas[srid] = answer["area_m2"]
        for srid, area in areas.items():
            self.assertAlmostEqual(area, areas[4326], delta=areas[4326] * 1e-4, msg=srid)

    def test_separators_decimal_commas_headers_and_point_numbers(self):
        corners = self.tm3_corners()
        expected = self.check(corners=corner_text(corners), crs="23837")["area_m2"]
        variants = {
            "comma": corner_text(corners, ", "),
            "semicolon, decimal comma": corner_text(corners, ";").replace(".", ","),
            "tab, decimal comma": corner_text(corners, "\t").replace(".", ","),
            "spaces, decimal comma": corner_text(corners, "  ").replace(".", ","),
            "header and point numbers": "No X Y\n"
            + "\n".join(f"{i} {x:.3f} {y:.3f}" for i, (x, y) in enumerate(corners, 1)),
            "closed by hand, blank lines around": "\n\n" + corner_text([*corners, corners[0]]) + "\n\n",
        }
        for name, text in variants.items():
            with self.subTest(name):
                answer = self.check(corners=text, crs="EPSG:23837")
                self.assertTrue(answer["valid"], answer)
                self.assertAlmostEqual(answer["area_m2"], expected, delta=0.01)

    def test_an_open_list_is_closed(self):
        corners = self.tm3_corners()
        answer = self.check(corners=corner_text(corners), crs="23837")
        ring = answer["geometry"]["coordinates"][0][0]
        self.assertEqual(ring[0], ring[-1])
        self.assertEqual(len(ring), 6)

    def test_lists_separated_by_an_empty_line_are_parts(self):
        first = self.tm3_corners()
        second = [(x + 200, y) for x, y in first]
        one = self.check(corners=corner_text(first), crs="23837")["area_m2"]
        answer = self.check(corners=corner_text(first) + "\n\n" + corner_text(second), crs="23837")
        self.assertTrue(answer["valid"], answer)
        self.assertEqual(len(answer["geometry"]["coordinates"]), 2)
        self.assertAlmostEqual(answer["area_m2"], 2 * one, delta=0.05)

    def test_part_of_adds_the_outline_as_a_new_part(self):
        so_far = square(self.lon - 0.002, self.lat, 0.0001)
        answer = self.check(corners=corner_text(self.tm3_corners()), crs="23837", part_of=so_far.json)
        self.assertTrue(answer["valid"], answer)
        self.assertEqual(len(answer["geometry"]["coordinates"]), 2)

    def test_a_bad_line_is_named(self):
        text = corner_text(self.tm3_corners()).splitlines()
        text.insert(2, "350245.3 abc")
        answer = self.check(400, corners="\n".join(text), crs="23837")
        self.assertIn("Line 3", answer["errors"][0]["message"])
        self.assertIn("350245.3 abc", answer["errors"][0]["message"])
        self.assertIsNone(answer["errors"][0]["location"])

    def test_a_part_with_two_corners_is_named(self):
        text = corner_text(self.tm3_corners()) + "\n\n1 2\n3 4\n"
        self.assertIn("Part 2", self.check(400, corners=text, crs="23837")["errors"][0]["message"])

    def test_ambiguous_commas_are_refused_not_guessed(self):
        answer = self.check(400, corners="116,85,-1,24\n116,86,-1,24\n116,86,-1,25", crs="4326")
        self.assertIn("Line 1", answer["errors"][0]["message"])

    def test_the_crs_must_be_one_of_the_citys(self):
        message = self.check(400, corners=corner_text(self.tm3_corners()), crs="3857")["errors"][0]["message"]
        self.assertIn("EPSG:23837", message)
        self.assertIn("EPSG:4326", message)
        self.check(400, corners=corner_text(self.tm3_corners()))  # no crs at all

    def test_lon_lat_given_as_tm3_is_refused_naming_the_likely_crs(self):
        lonlat = [(self.lon, self.lat), (self.lon + 0.0003, self.lat), (self.lon, self.lat + 0.0003)]
        answer = self.check(corners=corner_text(lonlat, fmt="{:.6f}"), crs="23837")
        self.assertFalse(answer["valid"])
        self.assertIsNone(answer["area_m2"])
        message = answer["errors"][0]["message"]
        self.assertIn("Read as longitude/latitude (EPSG:4326) they lie in Kota Balikpapan", message)

    def test_tm3_given_as_lon_lat_is_refused_naming_tm3(self):
        answer = self.check(corners=corner_text(self.tm3_corners()), crs="4326")
        self.assertFalse(answer["valid"])
        self.assertIn("Read as TM-3 zone 50.1 (EPSG:23837)", answer["errors"][0]["message"])

    def test_unreadable_text_is_a_400(self):
        for text in ("POLYGON((1 2, 3", '{"type": "Polygon"', '{"type": "Point"}', "SRID=abc;POINT(1 2)"):
            with self.subTest(text):
                self.check(400, geometry=text)

    def test_one_input_only(self):
        self.check(400)
        self.check(400, geometry="POLYGON((0 0,1 0,1 1,0 0))", corners="1 2\n3 4\n5 6", crs="4326")

    def test_the_400_is_in_the_ui_language(self):
        english = self.check(400, corners="1 2\nfoo bar", crs="3857")["errors"][0]["message"]
        indonesian = self.check(400, language="id", corners="1 2\nfoo bar", crs="3857")["errors"][0]["message"]
        self.assertIn("longitude/latitude (EPSG:4326)", english)  # the CRS is checked first
        self.assertIn("bujur/lintang (EPSG:4326)", indonesian)  # the city's CRS names, translated
        self.assertIn("Line 2", self.check(400, corners="1 2\nfoo bar", crs="23837")["errors"][0]["message"])
        self.assertIn("empty", self.check(400, corners="X Y", crs="23837")["errors"][0]["message"])  # a header only


class RuleAnswerTests(GeometryCheckCase):
    def test_a_self_intersection_is_located(self):
        x0, y0 = self.lon - 0.001, self.lat
        bow = shapely.Polygon([(x0, y0), (x0 + 0.0004, y0 + 0.0004), (x0 + 0.0004, y0), (x0, y0 + 0.0004)])
        answer = self.check(geometry=bow.wkt)
        self.assertFalse(answer["valid"])
        self.assertIsNone(answer["area_m2"])
        [error] = answer["errors"]
        self.assertIn("Self-intersection", error["message"])
        lon, lat = error["location"]
        self.assertAlmostEqual(lon, x0 + 0.0002, places=7)
        self.assertAlmostEqual(lat, y0 + 0.0002, places=7)
        self.assertIsNotNone(answer["geometry"])  # shown as drawn, so the map can point at the crossing

    def test_a_self_intersection_in_tm3_is_located_in_lon_lat(self):
        x, y = tm3(self.lon - 0.001, self.lat)
        bow = [(x, y), (x + 40, y + 40), (x + 40, y), (x, y + 40)]
        [error] = self.check(corners=corner_text(bow), crs="23837")["errors"]
        lon, lat = error["location"]
        expected = Transformer.from_crs(23837, 4326, always_xy=True).transform(x + 20, y + 20)
        self.assertAlmostEqual(lon, expected[0], places=7)
        self.assertAlmostEqual(lat, expected[1], places=7)

    def test_too_many_vertices(self):
        with self.settings(SIPANAH_MAX_PARCEL_VERTICES=10):
            circle = shapely.Point(self.lon - 0.001, self.lat).buffer(0.0002, quad_segs=8)
            answer = self.check(geometry=circle.wkt)
        self.assertFalse(answer["valid"])
        self.assertIn("at most 10 are accepted", answer["errors"][0]["message"])

    def test_overlaps_are_named_with_their_area(self):
        drawn = square(self.lon + 0.0002, self.lat, 0.0002)  # half over the neighbour (and the removed asset)
        answer = self.check(geometry=drawn.wkt)
        self.assertTrue(answer["valid"])
        [overlap] = answer["overlaps"]  # the removed asset left the register
        self.assertEqual(overlap["id"], self.neighbour.pk)
        self.assertEqual(overlap["label"], str(self.neighbour))
        self.assertEqual(overlap["url"], reverse("asset-detail", args=[self.neighbour.pk]))
        shared = shapely.intersection(geo.to_shapely(drawn), geo.to_shapely(self.neighbour.geom))
        self.assertAlmostEqual(
            overlap["area_m2"], independent_area_m2(shared), delta=independent_area_m2(shared) * 1e-3
        )
        self.assertGreater(overlap["area_m2"], 900)

    def test_neighbours_sharing_only_an_edge_or_a_sliver_do_not_overlap(self):
        touching = square(self.lon, self.lat, 0.0002)  # its east edge is the neighbour's west edge
        self.assertEqual(self.check(geometry=touching.wkt)["overlaps"], [])
        sliver = square(self.lon + 0.000001, self.lat, 0.0002)  # 0.11 m over the neighbour's 44 m edge: about 5 m²
        shared = independent_area_m2(shapely.intersection(geo.to_shapely(sliver), geo.to_shapely(self.neighbour.geom)))
        overlaps = self.check(geometry=sliver.wkt)["overlaps"]
        self.assertEqual(bool(overlaps), shared > 1.0)

    def test_the_asset_being_edited_is_left_out(self):
        drawn = square(self.lon + 0.0002, self.lat, 0.0002)
        answer = self.check(geometry=drawn.wkt, asset=str(self.neighbour.pk))  # another agency's: officers read it
        self.assertEqual(answer["overlaps"], [])
        self.check(400, geometry=drawn.wkt, asset="999999")
        self.check(400, geometry=drawn.wkt, asset="1 OR 1=1")


class AccessTests(GeometryCheckCase):
    def test_anonymous_is_sent_to_the_login_page(self):
        self.client.logout()
        response = self.client.post(URL, {"geometry": "POLYGON((0 0,1 0,1 1,0 0))"})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith("/accounts/login/"))

    def test_roles_that_do_not_enter_parcels_get_403_and_get_is_405(self):
        self.client.force_login(self.auditor)
        self.assertEqual(self.client.post(URL, {"geometry": "x"}).status_code, 403)
        self.client.force_login(self.bpkad)
        self.assertEqual(self.client.get(URL).status_code, 405)

    def test_csrf_is_required(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.officer)
        drawn = square(self.lon - 0.001, self.lat, 0.0001)
        self.assertEqual(client.post(URL, {"geometry": drawn.wkt}).status_code, 403)
        client.get(reverse("asset-create"))  # the form page sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        response = client.post(URL, {"geometry": drawn.wkt}, HTTP_X_CSRFTOKEN=token)
        self.assertEqual(response.status_code, 200)


# --- survey files --------------------------------------------------------------------------------------------------


def write_layer(path: Path, driver: str, shapes: list[tuple[str, str]], srid: int | None, layer: str = "parcels"):
    """Write (name, WKT) features with GDAL/OGR."""
    ds = ogr.GetDriverByName(driver).CreateDataSource(str(path))
    srs = None
    if srid is not None:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(srid)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    kind = ogr.CreateGeometryFromWkt(shapes[0][1]).GetGeometryType()
    lyr = ds.CreateLayer(layer, srs, kind)
    if driver not in ("DXF", "GPX"):
        lyr.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    for name, wkt in shapes:
        feature = ogr.Feature(lyr.GetLayerDefn())
        if driver not in ("DXF", "GPX"):
            feature.SetField("name", name)
        if driver == "DXF":
            feature.SetField("Layer", name)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        lyr.CreateFeature(feature)
    ds = None  # noqa: F841 - closes and writes the file


class SurveyFileTests(GeometryCheckCase):
    def setUp(self):
        super().setUp()
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)

    def upload(self, path: Path, status: int = 200, **data):
        with path.open("rb") as handle:
            return self.check(status, file=handle, **data)

    def lonlat_squares(self):
        a = shapely.Polygon(square(self.lon - 0.001, self.lat, 0.0001)[0].coords[0])
        b = shapely.Polygon(square(self.lon - 0.002, self.lat, 0.0001)[0].coords[0])
        return a, b

    def test_dxf_in_tm3_without_crs(self):
        corners = self.tm3_corners()
        line = shapely.LineString([*corners, corners[0]])  # a closed CAD polyline
        path = self.folder / "ukur.dxf"
        write_layer(path, "DXF", [("BIDANG", line.wkt)], None)
        message = self.upload(path, 400)["errors"][0]["message"]
        self.assertIn("ukur.dxf declares no coordinate reference system", message)
        self.assertIn("TM-3 zone 50.1 (EPSG:23837)", message)  # what its coordinates look like
        answer = self.upload(path, crs="23837")
        [candidate] = answer["candidates"]
        self.assertEqual(candidate["label"], "BIDANG #1")
        expected = self.check(corners=corner_text(corners), crs="23837")["area_m2"]
        self.assertAlmostEqual(candidate["area_m2"], expected, delta=0.01)
        self.assertTrue(answer["valid"])  # one outline: checked as the parcel
        self.assertAlmostEqual(answer["area_m2"], expected, delta=0.01)

    def test_kml_offers_each_placemark_by_name(self):
        a, b = self.lonlat_squares()
        path = self.folder / "bidang.kml"
        write_layer(path, "KML", [("Bidang A", a.wkt), ("Bidang B", b.wkt)], 4326)
        answer = self.upload(path)
        self.assertEqual([c["label"] for c in answer["candidates"]], ["parcels · Bidang A", "parcels · Bidang B"])
        self.assertIsNone(answer["geometry"])
        self.assertFalse(answer["valid"])
        self.assertIn("holds 2 outlines: choose", answer["errors"][0]["message"])
        self.assertEqual(answer["candidates"][0]["area_m2"], geo.geodesic_area_m2(a))
        self.assertEqual(answer["candidates"][0]["geometry"]["type"], "MultiPolygon")

    def test_kmz(self):
        a, _b = self.lonlat_squares()
        kml = self.folder / "doc.kml"
        write_layer(kml, "KML", [("Bidang A", a.wkt)], 4326)
        path = self.folder / "bidang.kmz"
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(kml, "doc.kml")
        self.assertEqual(len(self.upload(path)["candidates"]), 1)

    def test_gpx_track_walked_around_the_parcel(self):
        a, _b = self.lonlat_squares()
        walk = list(a.exterior.coords)[:-1] + [(a.exterior.coords[0][0] + 0.00001, a.exterior.coords[0][1])]  # ~1 m
        path = self.folder / "jalan.gpx"
        write_layer(path, "GPX", [("", shapely.MultiLineString([walk]).wkt)], 4326, layer="tracks")
        answer = self.upload(path)
        [candidate] = answer["candidates"]
        self.assertTrue(candidate["label"].startswith("tracks"))
        self.assertAlmostEqual(candidate["area_m2"], geo.geodesic_area_m2(a), delta=geo.geodesic_area_m2(a) * 0.05)

    def test_an_open_line_is_not_an_outline(self):
        path = self.folder / "pagar.dxf"
        x, y = tm3(self.lon, self.lat)
        write_layer(path, "DXF", [("PAGAR", shapely.LineString([(x, y), (x + 50, y), (x + 50, y + 50)]).wkt)], None)
        message = self.upload(path, 400, crs="23837")["errors"][0]["message"]
        self.assertIn("no polygon and no closed line", message)

    def test_zipped_shapefile_declaring_tm3(self):
        corners = self.tm3_corners()
        shp = self.folder / "bidang.shp"
        write_layer(shp, "ESRI Shapefile", [("Persil 7", shapely.Polygon(corners).wkt)], 23837)
        path = self.folder / "bidang.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for member in self.folder.glob("bidang.*"):
                if member.suffix != ".zip":
                    archive.write(member, member.name)
        answer = self.upload(path, crs="4326")  # the file's own CRS wins over the form's choice
        [candidate] = answer["candidates"]
        self.assertEqual(candidate["label"], "bidang · Persil 7")
        self.assertTrue(answer["valid"], answer)

    def test_geojson_file(self):
        a, _b = self.lonlat_squares()
        path = self.folder / "bidang.geojson"
        write_layer(path, "GeoJSON", [("Bidang A", a.wkt)], 4326)
        answer = self.upload(path)
        self.assertTrue(answer["valid"])
        self.assertEqual(answer["area_m2"], geo.geodesic_area_m2(a))

    def test_a_file_in_the_wrong_crs_names_the_likely_one(self):
        corners = self.tm3_corners()
        path = self.folder / "salah.geojson"
        write_layer(path, "GeoJSON", [("x", shapely.Polygon(corners).wkt)], 32750)  # TM-3 numbers labelled UTM
        message = self.upload(path, 400)["errors"][0]["message"]
        self.assertIn("TM-3 zone 50.1 (EPSG:23837)", message)

    def test_unaccepted_and_damaged_files_are_400(self):
        path = self.folder / "data.csv"
        path.write_text("a,b\n1,2\n")
        self.assertIn("not accepted", self.upload(path, 400)["errors"][0]["message"])
        path = self.folder / "rusak.kml"
        path.write_text("<kml><Document><Placemark>")
        self.upload(path, 400)
        path = self.folder / "rusak.zip"
        path.write_bytes(b"PK\x03\x04 not a zip")
        self.assertIn("rusak.zip", self.upload(path, 400)["errors"][0]["message"])

    def test_the_reading_budget_applies(self):
        a, _b = self.lonlat_squares()
        path = self.folder / "bidang.geojson"
        write_layer(path, "GeoJSON", [("A", a.wkt)] * 3, 4326)
        limits = {**self._settings_limits(), "max_features": 2}
        with self.settings(SIPANAH_IMPORT_LIMITS=limits):
            self.assertIn("more than 2 features", self.upload(path, 400)["errors"][0]["message"])

    def test_the_reading_wall_clock_is_capped_for_a_waiting_user(self):
        from unittest import mock

        a, _b = self.lonlat_squares()
        path = self.folder / "bidang.geojson"
        write_layer(path, "GeoJSON", [("A", a.wkt)], 4326)
        with mock.patch("assets.transfer.outlines.CHECK_WALL_SECONDS", 0):  # the import's own budget is 1800 s
            message = self.upload(path, 400)["errors"][0]["message"]
        self.assertIn("took longer than an import may take (0 s)", message)

    def _settings_limits(self):
        from django.conf import settings

        return dict(settings.SIPANAH_IMPORT_LIMITS)


class GeoHelpersTests(TestCase):
    def test_validity_location_is_none_for_a_valid_geometry(self):
        self.assertIsNone(geo.validity_location(shapely.box(0, 0, 1, 1), 4326))

    def test_ring_from_line(self):
        open_line = shapely.LineString([(116.85, -1.24), (116.851, -1.24), (116.851, -1.239)])
        self.assertIsNone(geo.ring_from_line(open_line))
        nearly = shapely.LineString([(116.85, -1.24), (116.851, -1.24), (116.851, -1.239), (116.85, -1.23999)])
        ring = geo.ring_from_line(nearly)
        self.assertEqual(ring.geom_type, "Polygon")
        self.assertTrue(ring.is_valid)
