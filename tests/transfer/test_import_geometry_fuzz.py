"""Every geometry type GDAL can write, in GeoPackage, GeoJSON and Shapefile, through the real import path.

Each case is written with GDAL/OGR as the driver accepts it (GeoJSON linearises curves and drops M, a Shapefile
turns a PolyhedralSurface into a TIN (MultiPatch) and refuses collections), read back to know what the file really
holds, then imported. Every feature is either imported as a valid 2D MultiPolygon or refused with a message on its
own feature naming its type; an empty geometry is an asset without location; no exception escapes; a file with a
refused feature writes nothing. The case table is the oracle: nothing here asks the importer what to expect.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import shapely
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from osgeo import gdal, ogr

from assets.models import ImportJob, LandAsset
from assets.ops import worker
from assets.register import geo, permissions, services
from assets.transfer.importing.geometry import CURVE_STEP_DEGREES, GeometryPlan
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.records import Record
from assets.transfer.importing.run import format_report, run_import
from assets.transfer.importing.sandbox import _raw_row
from tests.factories import import_messages as _messages
from tests.factories import make_user, point_inside, temp_media_root
from tests.transfer.import_case import ImportTestCase, _srs

PARCEL, REFUSED, NONE = "parcel", "refused", "none"
D = 0.0003  # a case's size in degrees (about 33 m)


@dataclass(frozen=True)
class Case:
    name: str
    wkt: str  # {x0} {y0} {x1} {y1} {xm} {ym}: the case's cell (corners and middle)
    expect: str  # PARCEL, REFUSED or NONE (for the geometry as written; a driver that drops it gives NONE)


SQUARE = "({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})"
CIRCLE = "CIRCULARSTRING({x0} {ym},{x1} {ym},{x0} {ym})"  # a full circle through two opposite points
HOLE = "({h0} {h0y},{h1} {h0y},{h1} {h1y},{h0} {h1y},{h0} {h0y})"
CASES = (
    Case("polygon", f"POLYGON({SQUARE})", PARCEL),
    Case("polygon z", "POLYGON Z((0 0 5,1 0 5,1 1 5,0 1 5,0 0 5))", PARCEL),
    Case("polygon m", "POLYGON M((0 0 7,1 0 7,1 1 7,0 1 7,0 0 7))", PARCEL),
    Case("polygon zm", "POLYGON ZM((0 0 5 7,1 0 5 7,1 1 5 7,0 1 5 7,0 0 5 7))", PARCEL),
    Case("polygon with hole", f"POLYGON({SQUARE},{HOLE})", PARCEL),
    Case("multipolygon", "MULTIPOLYGON(((0 0,0.4 0,0.4 0.4,0 0)),((0.6 0.6,1 0.6,1 1,0.6 0.6)))", PARCEL),
    Case("multipolygon empty part", f"MULTIPOLYGON(EMPTY,({SQUARE}))", PARCEL),
    Case("triangle", "TRIANGLE((0 0,1 0,0 1,0 0))", PARCEL),
    Case("circularstring closed", CIRCLE, PARCEL),
    Case(
        "compoundcurve closed",
        "COMPOUNDCURVE(CIRCULARSTRING({x0} {y0},{xm} {y1},{x1} {y0}),({x1} {y0},{x0} {y0}))",
        PARCEL,
    ),  # fmt: skip
    Case("curvepolygon", f"CURVEPOLYGON({CIRCLE})", PARCEL),
    Case(
        "curvepolygon with hole",
        "CURVEPOLYGON(COMPOUNDCURVE(CIRCULARSTRING({x0} {y0},{xm} {y1},{x1} {y0}),({x1} {y0},{x0} {y0})),"
        "(0.4 0.05,0.6 0.05,0.6 0.15,0.4 0.15,0.4 0.05))",
        PARCEL,
    ),  # fmt: skip
    Case("curvepolygon z", "CURVEPOLYGON Z(CIRCULARSTRING Z(0 0.5 3,1 0.5 3,0 0.5 3))", PARCEL),
    Case("multicurve closed", f"MULTICURVE({CIRCLE})", PARCEL),
    Case(
        "multisurface",
        "MULTISURFACE(CURVEPOLYGON(CIRCULARSTRING(0 0.25,0.4 0.25,0 0.25)),((0.6 0.6,1 0.6,1 1,0.6 0.6)))",
        PARCEL,
    ),  # fmt: skip
    Case("multisurface zm", "MULTISURFACE ZM(((0 0 1 2,1 0 1 2,1 1 1 2,0 0 1 2)))", PARCEL),
    Case("closed linestring", f"LINESTRING{SQUARE}", PARCEL),
    Case(
        "collection of polygons",
        "GEOMETRYCOLLECTION(POLYGON((0 0,0.4 0,0.4 0.4,0 0)),MULTIPOLYGON(((0.6 0.6,1 0.6,1 1,0.6 0.6))))",
        PARCEL,
    ),  # fmt: skip
    Case("collection of a curve polygon", f"GEOMETRYCOLLECTION(CURVEPOLYGON({CIRCLE}))", PARCEL),
    Case("tin", "TIN Z(((0 0 1,1 0 2,0 1 3,0 0 1)),((1 0 2,1 1 4,0 1 3,1 0 2)))", REFUSED),
    Case(
        "polyhedralsurface",
        "POLYHEDRALSURFACE Z(((0 0 0,1 0 0,1 1 0,0 1 0,0 0 0)),((0 0 0,0 0 1,1 0 1,0 0 0)))",
        REFUSED,
    ),  # fmt: skip
    Case("point", "POINT({xm} {ym})", REFUSED),
    Case("point zm", "POINT ZM({xm} {ym} 1 2)", REFUSED),
    Case("multipoint", "MULTIPOINT(({x0} {y0}),({x1} {y1}))", REFUSED),
    Case("open linestring", "LINESTRING({x0} {y0},{x1} {y0},{x1} {y1})", REFUSED),
    Case("line closed on 3 points", "LINESTRING({x0} {y0},{x1} {y1},{x0} {y0})", REFUSED),
    Case("open circularstring", "CIRCULARSTRING({x0} {y0},{xm} {y1},{x1} {y0})", REFUSED),
    Case("open multicurve", "MULTICURVE(CIRCULARSTRING({x0} {y0},{xm} {y1},{x1} {y0}))", REFUSED),
    Case("multilinestring with an open part", f"MULTILINESTRING({SQUARE},(0 0,1 1))", REFUSED),
    Case("collection with a point", "GEOMETRYCOLLECTION(POLYGON((0 0,1 0,1 1,0 0)),POINT(0.2 0.8))", REFUSED),
    Case("collection with a line", "GEOMETRYCOLLECTION(LINESTRING(0 0,1 1))", REFUSED),
    Case("polygon empty", "POLYGON EMPTY", NONE),
    Case("collection empty", "GEOMETRYCOLLECTION EMPTY", NONE),
    Case("point empty", "POINT EMPTY", NONE),
    Case("no geometry", "", NONE),
)
ATTRIBUTES = {"kode_barang": "1.3.1.01.01.01.001", "nama_barang": "Tanah Uji", "agency_code": "1.01.01",
              "tahun_perolehan": 2019, "asal_usul": "HIBAH", "nilai_perolehan": 0, "luas_kib_m2": 1000}  # fmt: skip
DRIVERS = {"GPKG": "gpkg", "GeoJSON": "geojson", "ESRI Shapefile": "shp"}


def _place(wkt: str, x: float, y: float) -> str:
    """The case's WKT in its own cell: placeholders filled, unit coordinates (0..1) scaled into the cell."""
    cell = {"x0": 0, "y0": 0, "x1": 1, "y1": 1, "xm": 0.5, "ym": 0.5, "h0": 0.3, "h1": 0.7, "h0y": 0.3, "h1y": 0.7}
    text = wkt.format(**cell)
    geom = ogr.CreateGeometryFromWkt(text)
    _scale(geom, x, y)
    return geom.ExportToIsoWkt()


def _drop_collections_without_members(path: Path) -> None:
    """GDAL 3.6 writes an empty collection as {"type": "GeometryCollection"} (no "geometries"), which its own reader
    refuses while it parses the whole file on the first read: with GDAL's exceptions on (assets.transfer.exports
    sets them for the process) that failure is raised on feature 1. Not a file a GIS tool makes: those features
    are left out of the GeoJSON case."""

    def broken(geometry: dict | None) -> bool:
        if not geometry:
            return False
        if geometry.get("type") == "GeometryCollection":
            return (
                not geometry.get("geometries")
                and geometry.get("geometries") != []
                or any(broken(g) for g in geometry.get("geometries") or [])
            )
        return False

    collection = json.loads(path.read_text())
    collection["features"] = [f for f in collection["features"] if not broken(f.get("geometry"))]
    path.write_text(json.dumps(collection))


def _scale(geom: ogr.Geometry, x: float, y: float) -> None:
    if geom.IsEmpty():  # setting a point of an empty point would make it a point
        return
    for i in range(geom.GetGeometryCount()):
        _scale(geom.GetGeometryRef(i), x, y)
    if geom.GetGeometryCount():  # a collection, polygon or surface: its points are its parts' (with GDAL's
        return  # exceptions on, as another test may leave them, GetPoint_2D on a polygon raises)
    for i in range(geom.GetPointCount()):
        point = list(geom.GetPoint(i)) if geom.Is3D() else list(geom.GetPoint_2D(i))
        point[0], point[1] = x + point[0] * D, y + point[1] * D
        if geom.IsMeasured():
            m = geom.GetM(i)
            if geom.Is3D():
                geom.SetPointZM(i, point[0], point[1], point[2], m)
            else:
                geom.SetPointM(i, point[0], point[1], m)
        elif geom.Is3D():
            geom.SetPoint(i, *point)
        else:
            geom.SetPoint_2D(i, point[0], point[1])


def _family(geom: ogr.Geometry | None) -> str:
    """The type's name with its curves made straight (a driver that linearises keeps the family)."""
    if geom is None:
        return ""
    return geom.GetLinearGeometry().GetGeometryName() if geom.HasCurveGeometry() else geom.GetGeometryName()


class GeometryFuzzTests(ImportTestCase):
    def setUp(self):
        super().setUp()
        self.lon, self.lat = point_inside("64.71.05.1002")

    def geometry(self, number: int, case: Case) -> ogr.Geometry | None:
        if not case.wkt:
            return None
        x = self.lon + (number % 6) * 2 * D
        y = self.lat + (number // 6) * 2 * D
        return ogr.CreateGeometryFromWkt(_place(case.wkt, x, y))

    def write(self, driver: str, path: Path, cases: list[tuple[int, Case]], layer_type: int) -> list[int]:
        """Write the cases (feature n = register n); returns the register numbers the driver took."""
        short = driver == "ESRI Shapefile"
        dataset = ogr.GetDriverByName(driver).CreateDataSource(str(path))
        try:
            layer = dataset.CreateLayer("parcels", _srs(4326), layer_type)
        except RuntimeError:
            layer = None
        if layer is None:  # the driver has no layer type for it
            return []
        names = {**ATTRIBUTES, "nomor_register": ""}
        for name, value in names.items():
            kind = ogr.OFTInteger if isinstance(value, int) else ogr.OFTString
            layer.CreateField(ogr.FieldDefn(name[:10] if short else name, kind))
        taken = []
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        try:
            for number, case in cases:
                feature = ogr.Feature(layer.GetLayerDefn())
                for i, value in enumerate({**ATTRIBUTES, "nomor_register": str(number)}.values()):
                    feature.SetField(i, value)
                geom = self.geometry(number, case)
                if geom is not None:
                    feature.SetGeometry(geom)
                try:
                    if layer.CreateFeature(feature) == 0:
                        taken.append(number)
                except RuntimeError:
                    pass  # the driver does not take this type
        finally:
            gdal.PopErrorHandler()
        dataset = None
        return taken

    def stored(self, path: Path) -> dict[int, ogr.Geometry | None]:
        """What the file really holds, read back with OGR: register number -> geometry (None: none or empty)."""
        # GDAL's exceptions are process-wide and switched on when assets.transfer.exports is imported (by an earlier
        # test or not): read with them off, so that what the file holds is read the same in any test order
        raising = ogr.GetUseExceptions()
        ogr.DontUseExceptions()
        try:
            dataset = ogr.Open(str(path))
            layer = dataset.GetLayer(0)
            result = {}
            for feature in layer:
                geom = feature.GetGeometryRef()
                register = int(feature.GetField(feature.GetFieldCount() - 1))  # nomor_register (nomor_regi in a DBF)
                result[register] = None if geom is None or geom.IsEmpty() else geom.Clone()
            dataset = None
        finally:
            if raising:
                ogr.UseExceptions()
        return result

    def check_report(self, path: Path, cases: dict[int, Case], label: str) -> tuple[set[int], set[int]]:
        """Import as a dry run; check every feature against the table. Returns the register numbers of the parcels
        and of the refused features."""
        stored = self.stored(path)
        report = run_import(path, dry_run=True)
        numbers = list(stored)  # feature n of the file is the n-th written
        by_feature: dict[int, list] = {}
        for issue in report.errors:
            self.assertNotEqual(issue.feature, 0, f"{label}: the whole file refused: {issue.message}")
            by_feature.setdefault(issue.feature, []).append(issue)
        text = format_report(report, max_lines=1000)
        parcels, refused = set(), set()
        for feature_number, register in enumerate(numbers, start=1):
            case, geom = cases[register], stored[register]
            expect = NONE if geom is None else case.expect
            issues = by_feature.get(feature_number, [])
            where = f"{label} / {case.name} (feature {feature_number}, stored as {geom and geom.GetGeometryName()})"
            if expect == REFUSED:
                self.assertEqual([i.field for i in issues], ["geom"], where)
                type_name = geom.GetGeometryName()
                message = issues[0].message
                named = type_name in message or ("POINT" in type_name and "A point" in message)
                if not named and _family(geom) != _family(self.geometry(register, case)):
                    # the driver made it another type (a Shapefile's MultiPatch read as a MultiPolygon): refused by
                    # the geometry rules, which name the reason and the place
                    named = message.startswith("Invalid geometry: ")
                self.assertTrue(named, f"{where}: {message}")
                self.assertIn(f"Feature {feature_number} [geom]: {message}", text)
                refused.add(register)
            else:
                self.assertEqual(issues, [], where)
                if expect == PARCEL:
                    parcels.add(register)
        self.assertEqual(report.features, len(numbers), label)
        return parcels, refused

    def check_written(self, expected: set[int], label: str) -> None:
        for asset in LandAsset.objects.all():
            if int(asset.nomor_register) in expected:
                self.assertEqual(asset.geom.geom_type, "MultiPolygon", label)
                self.assertTrue(asset.geom.valid, label)
                self.assertFalse(asset.geom.hasz, label)
                self.assertGreater(float(asset.luas_gis_m2), 0, label)
            else:
                self.assertIsNone(asset.geom, f"{label}: {asset.nomor_register}")

    def test_every_type_in_geopackage_and_geojson(self):
        numbered = list(enumerate(CASES, start=1))
        cases = dict(numbered)
        for driver in ("GPKG", "GeoJSON"):
            with self.subTest(driver=driver):
                path = self.tmp / f"all.{DRIVERS[driver]}"
                taken = self.write(driver, path, numbered, ogr.wkbUnknown)
                if driver == "GeoJSON":
                    _drop_collections_without_members(path)
                if driver == "GPKG":
                    self.assertEqual(len(taken), len(CASES), "a GeoPackage holds every type")
                parcels, refused = self.check_report(path, cases, driver)
                report = run_import(path)  # refused features: nothing is written
                self.assertFalse(report.committed)
                self.assertEqual(LandAsset.objects.count(), 0)
                good = [(n, c) for n, c in numbered if n in taken and n not in refused]
                clean = self.tmp / f"accepted.{DRIVERS[driver]}"
                self.write(driver, clean, good, ogr.wkbUnknown)
                report = run_import(clean)
                self.assertTrue(report.committed, _messages(report))
                self.assertEqual(LandAsset.objects.count(), len(good))
                self.assertEqual(LandAsset.objects.exclude(geom=None).count(), len(parcels))
                self.check_written(parcels, driver)
                LandAsset.objects.all().delete()

    def test_every_type_in_a_shapefile(self):
        written = 0
        for number, case in enumerate(CASES, start=1):
            geom = self.geometry(number, case)
            layer_type = geom.GetGeometryType() if geom is not None else ogr.wkbPolygon
            path = self.tmp / f"case{number}" / "parcels.shp"
            path.parent.mkdir()
            if not self.write("ESRI Shapefile", path, [(number, case)], layer_type) or not path.exists():
                continue  # no Shapefile type for it (collections, empty collections)
            written += 1
            with self.subTest(case=case.name):
                parcels, _refused = self.check_report(path, {number: case}, f"Shapefile {case.name}")
                report = run_import(path)
                self.assertEqual(report.committed, report.ok, _messages(report))
                self.assertEqual(bool(parcels), LandAsset.objects.filter(nomor_register=f"{number:04d}")
                                 .exclude(geom=None).exists())  # fmt: skip
        self.assertGreaterEqual(written, 25)
        self.check_written({int(a.nomor_register) for a in LandAsset.objects.exclude(geom=None)}, "Shapefile")

    def test_curves_are_linearised_within_the_stated_tolerance(self):
        path = self.tmp / "curves.gpkg"
        case = Case("curvepolygon", f"CURVEPOLYGON({CIRCLE})", PARCEL)
        self.write("GPKG", path, [(1, case)], ogr.wkbCurvePolygon)
        report = run_import(path)
        self.assertTrue(report.committed, _messages(report))
        self.assertIn("1 feature(s) with curved edges (CURVEPOLYGON 1) were made of straight segments", format_report(
            report))  # fmt: skip
        fine = self.geometry(1, case).GetLinearGeometry(CURVE_STEP_DEGREES / 100)
        exact = geo.geodesic_area_m2(shapely.from_wkt(fine.ExportToWkt()))
        stored = LandAsset.objects.get()
        self.assertIn(len(stored.geom[0][0]) - 1, range(360, 363))  # segments of at most 1° of arc
        self.assertAlmostEqual(float(stored.luas_gis_m2) / exact, 1, delta=1e-4)  # 1° chords: -0.005 % of the area

    def test_web_upload_names_the_feature_and_the_type(self):
        temp_media_root(self.addCleanup)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        officer = make_user("officer", permissions.OFFICER, self.agency)
        self.client.force_login(officer)
        path = self.tmp / "upload.gpkg"
        chosen = [c for c in CASES if c.name in ("curvepolygon", "tin", "multisurface", "collection with a point")]
        self.write("GPKG", path, list(enumerate(chosen, start=1)), ogr.wkbUnknown)
        upload = SimpleUploadedFile("parcels.gpkg", path.read_bytes())
        self.assertEqual(self.client.post(reverse("import-list"), {"file": upload}).status_code, 302)
        self.assertEqual(worker.work(once=True), 1)
        job = ImportJob.objects.get()
        self.assertEqual(job.status, ImportJob.Status.REFUSED)
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, "<td>3</td><td>geom</td><td>A TIN (a surface of 2 faces")
        self.assertContains(page, "<td>4</td><td>geom</td><td>A GEOMETRYCOLLECTION holding a POINT is not a parcel")
        self.assertNotContains(page, "<td>1</td><td>geom</td>")  # the curve polygon and the multisurface: parcels
        self.assertNotContains(page, "<td>2</td><td>geom</td>")
        self.assertContains(page, "2 feature(s) with curved edges (CURVEPOLYGON 1, MULTISURFACE 1)")
        self.assertNotContains(page, "Traceback")
        self.assertEqual(LandAsset.objects.count(), 0)
        self.assertEqual(job.error_count, 2)


# --- random geometry trees, through the per-feature reading and the geometry rules (hypothesis) ---------------------

FUZZ = settings(
    max_examples=int(os.environ.get("SIPANAH_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,  # the same examples every run in CI (derandomized), as tests/register/test_fuzz_forms.py
    derandomize=os.environ.get("SIPANAH_FUZZ_RANDOM") != "1",
    suppress_health_check=list(HealthCheck),
)
LON, LAT = 116.9, -1.23  # Balikpapan


@st.composite
def _coordinates(draw: st.DrawFn, dims: str, count: int, closed: bool) -> str:
    size = st.floats(-1, 1, allow_nan=False)
    points = [(LON + draw(size) * 1e-3, LAT + draw(size) * 1e-3) for _ in range(count)]
    if closed:
        points.append(points[0])
    extra = " 5" * len(dims)  # Z and/or M values
    return "(" + ",".join(f"{x!r} {y!r}{extra}" for x, y in points) + ")"


def _tagged(kind: str, dims: str) -> str:
    return f"{kind} {dims}" if dims else kind


@st.composite
def _geometry(draw: st.DrawFn, dims: str, depth: int = 0) -> str:
    """An ISO WKT geometry of any type OGR reads, with random parts, empties and nesting."""
    kinds = ["POINT", "LINESTRING", "CIRCULARSTRING", "POLYGON", "TRIANGLE", "CURVEPOLYGON", "COMPOUNDCURVE",
             "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "MULTICURVE", "MULTISURFACE", "TIN",
             "POLYHEDRALSURFACE"] + (["GEOMETRYCOLLECTION"] if depth < 2 else [])  # fmt: skip
    kind = draw(st.sampled_from(kinds))
    if draw(st.integers(0, 9)) == 0:
        return _tagged(kind, dims) + " EMPTY"
    closed = draw(st.booleans())
    ring = _coordinates(dims, draw(st.integers(3, 6)), True)
    if kind == "POINT":
        return _tagged(kind, dims) + draw(_coordinates(dims, 1, False))
    if kind in ("LINESTRING", "CIRCULARSTRING"):
        count = draw(st.integers(1, 3)) * 2 + 1 if kind == "CIRCULARSTRING" else draw(st.integers(2, 6))
        return _tagged(kind, dims) + draw(_coordinates(dims, count - closed, closed))
    if kind in ("POLYGON", "TRIANGLE"):
        rings = (
            [draw(_coordinates(dims, 3, True))] if kind == "TRIANGLE" else draw(st.lists(ring, min_size=1, max_size=3))
        )
        return _tagged(kind, dims) + "(" + ",".join(rings) + ")"
    if kind == "CURVEPOLYGON":
        arc = _tagged("CIRCULARSTRING", dims) + draw(_coordinates(dims, 4, True))
        return _tagged(kind, dims) + "(" + ",".join([arc, *draw(st.lists(ring, max_size=1))]) + ")"
    if kind == "COMPOUNDCURVE":
        return _tagged(kind, dims) + "(" + _tagged("CIRCULARSTRING", dims) + "(0 0" + " 5" * len(dims) + ",1 1" \
            + " 5" * len(dims) + ",2 0" + " 5" * len(dims) + "),(2 0" + " 5" * len(dims) + ",0 0" \
            + " 5" * len(dims) + "))"  # fmt: skip
    if kind == "MULTIPOINT":
        return _tagged(kind, dims) + "(" + ",".join(draw(st.lists(_coordinates(dims, 1, False), min_size=1,
                                                                  max_size=3))) + ")"  # fmt: skip
    if kind == "MULTILINESTRING":
        lines = st.integers(2, 5).flatmap(lambda n: _coordinates(dims, n, closed))
        return _tagged(kind, dims) + "(" + ",".join(draw(st.lists(lines, min_size=1, max_size=3))) + ")"
    if kind in ("MULTIPOLYGON", "TIN", "POLYHEDRALSURFACE"):
        faces = st.lists(ring, min_size=1, max_size=2).map(lambda rings: "(" + ",".join(rings) + ")")
        if kind == "TIN":
            faces = _coordinates(dims, 3, True).map(lambda r: f"({r})")
        return _tagged(kind, dims) + "(" + ",".join(draw(st.lists(faces, min_size=1, max_size=3))) + ")"
    if kind == "MULTICURVE":
        arcs = _coordinates(dims, 2, closed).map(lambda c: _tagged("CIRCULARSTRING", dims) + c)
        return _tagged(kind, dims) + "(" + ",".join(draw(st.lists(arcs, min_size=1, max_size=2))) + ")"
    if kind == "MULTISURFACE":
        parts = st.one_of(ring.map(lambda r: f"({r})"),
                          _coordinates(dims, 4, True).map(lambda c: _tagged("CURVEPOLYGON", dims) + "("
                                                           + _tagged("CIRCULARSTRING", dims) + c + ")"))  # fmt: skip
        return _tagged(kind, dims) + "(" + ",".join(draw(st.lists(parts, min_size=1, max_size=3))) + ")"
    children = draw(st.lists(_geometry(dims, depth + 1), min_size=1, max_size=3))
    return _tagged(kind, dims) + "(" + ",".join(children) + ")"


class RandomGeometryTests(ImportTestCase):
    """Random geometry trees (any type, Z/M/ZM, empty parts, nested collections) through the reading of one
    feature (sandbox._raw_row, as the reading process runs it) and the geometry rules (services.prepare_parcels):
    either a MultiPolygon that passes or fails the rules with a message, or an error on the feature; never an
    exception."""

    def test_any_geometry_is_read_or_refused_with_a_message(self):
        @FUZZ
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            dims = data.draw(st.sampled_from(["", "Z", "M", "ZM"]))
            wkt = data.draw(_geometry(dims))
            try:
                geom = ogr.CreateGeometryFromWkt(wkt)
            except RuntimeError:
                geom = None
            if geom is None:
                return  # not a geometry OGR builds (so no file can hold it)
            record = Record({}, wkb=bytes(geom.ExportToIsoWkb()))
            row = _raw_row(1, record, GeometryPlan(), [], ImportLimits.from_settings(), Path("in.gpkg"), Counter())
            if row.errors:
                self.assertEqual([name for name, _message in row.errors], ["geom"], wkt)
                self.assertTrue(all(message.strip() for _name, message in row.errors), wkt)
                return
            if not row.has_geometry:
                self.assertTrue(geom.IsEmpty() or _only_empty_parts(geom), wkt)
                return
            self.assertEqual(row.geom.geom_type, "MultiPolygon", wkt)
            self.assertFalse(shapely.has_z(row.geom), wkt)
            (prepared,), (error,) = services.prepare_parcels([row.geom], srid=4326)
            self.assertTrue((prepared is None) != (error is None), wkt)
            if prepared is not None:
                stored = shapely.from_wkb(prepared.hexewkb)
                self.assertEqual(stored.geom_type, "MultiPolygon", wkt)
                self.assertTrue(stored.is_valid, wkt)

        check()


def _only_empty_parts(geom: ogr.Geometry) -> bool:
    return all(geom.GetGeometryRef(i).IsEmpty() or _only_empty_parts(geom.GetGeometryRef(i))
               for i in range(geom.GetGeometryCount()))  # fmt: skip
