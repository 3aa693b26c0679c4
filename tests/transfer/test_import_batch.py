"""The batch import path: Arrow reading, vectorised geometry rules, cached field checks (issue 4 bench work).

Every check here compares the batch path with the one-feature path it replaced or wraps: the same records,
the same geometry messages, the same kelurahan and area as a single-asset save, the same field errors.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import shapely
from django.test import TestCase
from osgeo import ogr, osr

from assets.lib import bulk_clean
from assets.models import LandAsset
from assets.register import geo, services
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.records import arrow_records, ogr_records
from assets.transfer.importing.report import ImportReport
from assets.transfer.importing.run import run_import
from assets.transfer.importing.source import open_source
from assets.transfer.importing.writer import _SeenKeys
from tests.factories import every_record, load_reference, point_inside

KODE = "1.3.1.01.01.01.001"


def _square(lon: float, lat: float, size: float = 0.0004) -> shapely.Polygon:
    return shapely.box(lon, lat, lon + size, lat + size)


class BatchPathTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.lon, self.lat = point_inside("64.71.05.1002")

    def features(self) -> list[tuple[dict, shapely.Geometry | None]]:
        lon, lat = self.lon, self.lat
        base = {"kode_barang": KODE, "nama_barang": "Tanah Kantor", "agency_code": "1.01.01", "asal_usul": "Pembelian",
                "nilai_perolehan": 1250000, "luas_kib_m2": 1200.5, "tahun_perolehan": 2012}  # fmt: skip
        bowtie = shapely.Polygon([(lon, lat), (lon + 0.01, lat + 0.01), (lon + 0.01, lat), (lon, lat + 0.01)])
        return [
            ({**base, "nomor_register": "1", "tanggal_perolehan": dt.date(2012, 5, 1)}, _square(lon, lat)),
            ({**base, "nomor_register": "2", "nibar": "6471000000002"}, None),
            ({**base, "nomor_register": "3", "alamat": "Jl. Café"}, shapely.MultiPolygon([_square(lon, lat + 0.001)])),
            ({**base, "nomor_register": "4"}, bowtie),  # invalid: GEOS's reason, by feature number
            ({**base, "nomor_register": "5", "kode_barang": "1.3.2.01"}, _square(lon, lat + 0.002)),  # not land
            ({**base, "nomor_register": "6", "kode_barang": "1.3.2.01"}, _square(lon, lat + 0.003)),  # same, again
            ({**base, "nomor_register": "7"}, shapely.LineString([(lon, lat), (lon + 1e-3, lat)])),  # not a parcel
            ({**base, "nomor_register": "8", "luas_kib_m2": None}, _square(lon, lat + 0.004)),  # required value
            ({**base, "nomor_register": "9"}, _square(117.30, -1.60)),  # outside the city: no kelurahan
        ]

    def write_gpkg(self, features: list[tuple[dict, shapely.Geometry | None]]) -> Path:
        path = self.tmp / "in.gpkg"
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(4326)
        ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
        layer = ds.CreateLayer("parcels", srs, ogr.wkbUnknown)
        kinds = {"tahun_perolehan": ogr.OFTInteger, "nilai_perolehan": ogr.OFTInteger64,
                 "luas_kib_m2": ogr.OFTReal, "tanggal_perolehan": ogr.OFTDate}  # fmt: skip
        names = ["kode_barang", "nomor_register", "nibar", "nama_barang", "alamat", "agency_code", "tanggal_perolehan",
                 "tahun_perolehan", "asal_usul", "nilai_perolehan", "luas_kib_m2"]  # fmt: skip
        for name in names:
            layer.CreateField(ogr.FieldDefn(name, kinds.get(name, ogr.OFTString)))
        for props, geom in features:
            feature = ogr.Feature(layer.GetLayerDefn())
            for name, value in props.items():
                if value is None:
                    continue
                if isinstance(value, dt.date):
                    feature.SetField(name, value.year, value.month, value.day, 0, 0, 0, 0)
                else:
                    feature.SetField(name, value)
            if geom is not None:
                feature.SetGeometry(ogr.CreateGeometryFromWkb(shapely.to_wkb(geom)))
            layer.CreateFeature(feature)
        ds = None
        return path

    def write_geojson(self, features: list[tuple[dict, shapely.Geometry | None]]) -> Path:
        path = self.tmp / "in.geojson"
        data = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {k: (v.isoformat() if isinstance(v, dt.date) else v)
                                               for k, v in props.items()},
             "geometry": None if geom is None else json.loads(shapely.to_geojson(geom))}
            for props, geom in features
        ]}  # fmt: skip
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    def test_arrow_records_equal_the_feature_by_feature_records(self):
        path = self.write_gpkg(self.features())
        report = ImportReport()
        _ds, layer = open_source(path, layer_name=None, report=report, limits=ImportLimits.from_settings())
        columns = list(range(layer.GetLayerDefn().GetFieldCount()))
        arrow = arrow_records(layer, columns, report)
        self.assertIsNotNone(arrow, "a GeoPackage is read through GDAL's Arrow stream")
        arrow = list(arrow)
        plain = list(ogr_records(layer, columns, report))
        self.assertEqual(len(arrow), len(self.features()))
        for a, b in zip(arrow, plain, strict=True):
            self.assertEqual(a.values, b.values)
            ogr_geom = b.feature.GetGeometryRef()
            self.assertEqual(a.wkb, None if ogr_geom is None else bytes(ogr_geom.ExportToIsoWkb()))
        self.assertEqual(arrow[0].values[6], "2012-05-01")  # dates as OGR's getter gives them
        self.assertEqual((arrow[0].values[2], arrow[1].values[2]), (None, "6471000000002"))  # NULL stays None
        self.assertEqual([a.shape is not None for a in arrow], [True, False, True, True, True, True, False, True, True])

    def test_geopackage_and_geojson_give_the_same_errors(self):
        reports = [run_import(self.write_gpkg(self.features())),
                   run_import(self.write_geojson(self.features()))]  # fmt: skip
        messages = [[(e.feature, e.field, e.message) for e in r.errors] for r in reports]
        self.assertEqual(messages[0], messages[1])
        # errors found reading a feature are reported at once, the others when its batch is checked: by number
        messages[0].sort()
        self.assertEqual([f for f, _n, _m in messages[0]], [4, 5, 6, 7, 8])
        self.assertIn("Invalid geometry: Self-intersection", messages[0][0][2])
        self.assertIn("is not a land code", messages[0][1][2])
        self.assertEqual(messages[0][1][1:], messages[0][2][1:])  # the cached check gives the same error again
        self.assertIn("A LINESTRING that does not close", messages[0][3][2])
        self.assertEqual(messages[0][4][1:], ("luas_kib_m2", "luas_kib_m2 is empty."))
        self.assertEqual(LandAsset.objects.count(), 0)

    def test_imported_area_and_kelurahan_equal_a_single_asset_save(self):
        good = [f for f in self.features() if f[0]["nomor_register"] in ("1", "2", "3", "9")]
        report = run_import(self.write_gpkg(good))
        self.assertTrue(report.committed, report.errors)
        self.assertEqual((report.created, report.without_geometry), (4, 1))
        for asset in LandAsset.objects.exclude(geom=None):
            single = services.asset_prepare(user=None, geom=asset.geom.clone(), srid=4326, **_fields(asset))
            self.assertEqual(asset.luas_gis_m2, single.luas_gis_m2)
            self.assertEqual((asset.kelurahan_id, asset.kecamatan_id), (single.kelurahan_id, single.kecamatan_id))
            self.assertEqual(asset.luas_gis_m2, round(_decimal(geo.geodesic_area_m2(asset.geom)), 2))
        outside = LandAsset.objects.get(nomor_register="0009")
        self.assertIsNone(outside.kelurahan_id)
        self.assertEqual(LandAsset.objects.get(nomor_register="0001").kelurahan.code, "64.71.05.1002")

    def test_batch_geometry_rules_give_each_geometry_its_own_scalar_message(self):
        lon, lat = self.lon, self.lat
        batch = [
            _square(lon, lat),
            None,
            shapely.Point(lon, lat),
            shapely.Polygon([(lon, lat), (lon + 0.01, lat + 0.01), (lon + 0.01, lat), (lon, lat + 0.01)]),
            _square(348000, 1361740, 40),  # metres labelled 4326
            shapely.Polygon(),
            shapely.Polygon([(lon, lat, 5), (lon + 1e-3, lat, 5), (lon + 1e-3, lat + 1e-3, 5), (lon, lat, 5)]),
            shapely.MultiPolygon([_square(lon, lat), _square(lon + 0.01, lat)]),
        ]
        geoms, errors = geo.normalize_parcel_geometries(batch, 4326)
        for shape, batch_geom, batch_error in zip(batch, geoms, errors, strict=True):
            try:
                single = geo.normalize_parcel_geometry(
                    None if shape is None else shapely.to_wkb(shape, hex=True), srid=4326
                )
            except geo.GeometryError as exc:
                self.assertEqual(batch_error, str(exc))
                self.assertIsNone(batch_geom)
            else:
                self.assertIsNone(batch_error)
                self.assertEqual(batch_geom.geom_type, "MultiPolygon")
                self.assertFalse(shapely.has_z(batch_geom))
                self.assertTrue(shapely.equals(batch_geom, shapely.from_wkb(bytes(single.wkb))))
        self.assertEqual([e is None for e in errors], [True, False, False, False, False, False, True, True])

    def test_batch_kelurahan_and_area_equal_one_at_a_time(self):
        index = services.kelurahan_index()
        lon, lat = self.lon, self.lat
        parcels = [_square(lon, lat), None, _square(117.30, -1.60)]
        # parcels straddling two kelurahan, and just outside the coast (nearest within 1,000 m)
        for geom in index.geoms[:6]:
            edge = geo.from_metric(shapely.buffer(shapely.Point(shapely.get_coordinates(geom)[0]), 200))
            parcels.append(edge)
        city = shapely.union_all(index.geoms)
        probe = shapely.Point(*geo.to_metric(shapely.Point(*point_inside("64.71.06.1001"))).coords[0])
        while city.contains(probe):
            probe = shapely.Point(probe.x, probe.y - 50)
        parcels.append(geo.from_metric(shapely.buffer(shapely.Point(probe.x, probe.y - 300), 20)))
        together = index.assign_many(parcels)
        self.assertEqual(together, [index.assign(p) for p in parcels])
        self.assertIsNone(together[1])
        self.assertIsNone(together[2])
        self.assertIsNotNone(together[-1])
        areas = geo.geodesic_areas_m2(np.array(parcels, dtype=object))
        self.assertEqual(areas, [geo.geodesic_area_m2(p) for p in parcels])


def _decimal(value: float):
    from decimal import Decimal

    return Decimal(str(value))


def _fields(asset: LandAsset) -> dict:
    names = ["kode_barang", "nomor_register", "nibar", "nama_barang", "alamat", "agency_id", "tanggal_perolehan",
             "tahun_perolehan", "asal_usul", "nilai_perolehan", "penggunaan", "luas_kib_m2", "keterangan"]  # fmt: skip
    return {name: getattr(asset, name) for name in names}


class KmzLayoutTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()

    def test_kmz_with_its_kml_in_a_subfolder_imports(self):
        """Not the LIBKML layout (doc.kml at the root): the KML elsewhere in the archive, beside other files."""
        import zipfile

        from assets.models import Agency
        from assets.transfer import exports
        from tests.factories import make_asset, square

        tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        asset = make_asset(agency=Agency.objects.get(code="1.01.01"), geom=square(*point_inside("64.71.05.1002")))
        kml = tmp / "parcels.kml"
        exports.write_export(every_record(), fmt="kml", path=kml)
        LandAsset.objects.all().delete()
        kmz = tmp / "survey.kmz"
        with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("images/readme.txt", "photos of the parcels")
            archive.write(kml, "files/bidang/parcels.kml")
        report = run_import(kmz)
        self.assertTrue(report.committed, report.errors)
        imported = LandAsset.objects.get()
        self.assertEqual((imported.nomor_register, imported.kelurahan.code), (asset.nomor_register, "64.71.05.1002"))

    def test_kmz_with_several_kml_files_and_no_doc_kml_is_refused_by_name(self):
        import zipfile

        tmp = Path(tempfile.mkdtemp(prefix="sipanah-test-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        kmz = tmp / "two.kmz"
        with zipfile.ZipFile(kmz, "w") as archive:
            archive.writestr("a/one.kml", "<kml/>")
            archive.writestr("b/two.kml", "<kml/>")
        report = run_import(kmz)
        self.assertFalse(report.committed)
        self.assertEqual(
            report.errors[0].message,
            "The KMZ two.kmz holds several KML files (a/one.kml, b/two.kml) and no doc.kml; send one per file.",
        )


class BatchChecksTests(TestCase):
    """The importer's batch checks against the one-object checks they replace."""

    def test_batch_field_checks_equal_full_clean_object_by_object(self):
        from decimal import Decimal

        from django.core.exceptions import ValidationError

        from assets.models import Certificate, Stage

        good = {"kode_barang": KODE, "nomor_register": "0001", "nama_barang": "Tanah Kantor", "tahun_perolehan": 2012,
                "asal_usul": "PEMBELIAN", "nilai_perolehan": Decimal("1250000"), "luas_kib_m2": Decimal("1200.50"),
                "agency_id": 1}  # fmt: skip
        variants = [
            {},
            {"nama_barang": "x" * 201},  # longer than max_length
            {"nama_barang": "Tanah\x00Kantor"},  # NUL character (a model CharField accepts it; forms do not)
            {"nama_barang": ""},  # required text
            {"alamat": "Jl. Café " * 300},  # TextField: no length limit
            {"kode_barang": "k" * 33, "nomor_register": "1234567"},  # two fields too long
            {"asal_usul": "dicuri"},  # not a choice
            {"nilai_perolehan": Decimal("1e20")},  # too many digits
            {"luas_kib_m2": Decimal("12.345")},  # too many decimal places
            {"luas_kib_m2": Decimal("999999999999.99")},  # the most digits luas_kib_m2 takes
            {"luas_kib_m2": Decimal("1000000000000.00")},  # one whole digit too many
            {"luas_kib_m2": Decimal("1E+3"), "nilai_perolehan": Decimal("0E+5")},  # exponent notation
            {"luas_kib_m2": Decimal("NaN")},  # not a number
            {"luas_kib_m2": Decimal("-0.01"), "nilai_perolehan": Decimal("-5")},  # below the fields' minimum
            {"luas_kib_m2": Decimal("0.00"), "nilai_perolehan": Decimal("0")},  # the minimum itself
            {"tanggal_perolehan": dt.date(2011, 1, 1)},  # the year differs: the model's clean()
            {"plotting_status": "located"},  # located without geometry: the model's clean()
            {"nibar": ""},  # an empty optional value
            {"keterangan": 42},  # not a str: the field's own clean
        ]
        batch = [LandAsset(**{**good, **variant}) for variant in variants]
        reference = [LandAsset(**{**good, **variant}) for variant in variants]
        cache: dict = {}
        for _round in range(2):  # the second round answers from the cache
            results = services.clean_assets(batch, cache=cache)
            for variant, got, obj, ref in zip(variants, results, batch, reference, strict=True):
                try:
                    ref.full_clean(exclude=["agency", "kelurahan", "kecamatan"], validate_unique=False,
                                   validate_constraints=False)  # fmt: skip
                    expected = None
                except ValidationError as exc:
                    expected = exc.message_dict
                self.assertEqual(None if got is None else got.message_dict, expected, variant)
                for name in ("nama_barang", "keterangan", "nilai_perolehan", "luas_kib_m2", "asal_usul"):
                    self.assertEqual(repr(getattr(obj, name)), repr(getattr(ref, name)), (variant, name))
        self.assertIsNone(results[0])
        self.assertEqual(sum(r is not None for r in results), 11)  # the variants full_clean refuses

        certificates = [Certificate(stage=Stage.SERTIFIKAT_TERBIT, nomor="12", stage_since=dt.date(2020, 1, 1)),
                        Certificate(stage=Stage.BELUM, stage_since=dt.date(2020, 1, 1)),
                        Certificate(stage="bogus", stage_since=dt.date(2020, 1, 1))]  # fmt: skip
        results = bulk_clean.clean_instances(certificates, exclude=frozenset({"asset"}))
        for certificate, got in zip(certificates, results, strict=True):
            try:
                certificate.full_clean(exclude=["asset"], validate_unique=False, validate_constraints=False)
                expected = None
            except ValidationError as exc:
                expected = exc.message_dict
            self.assertEqual(None if got is None else got.message_dict, expected)
        self.assertEqual([r is None for r in results], [False, True, False])

    def test_in_file_duplicates_across_batches_equal_a_dict_of_first_features(self):
        rng = np.random.default_rng(7)
        keys = rng.integers(0, 2**64 - 1, size=300, dtype=np.uint64)[rng.integers(0, 300, size=5000)].tolist()
        seen, reference, number = _SeenKeys(), {}, 1
        while number <= len(keys):
            size = int(rng.integers(1, 700))
            batch = keys[number - 1 : number - 1 + size]
            numbers = list(range(number, number + len(batch)))
            got = seen.first_seen(batch, numbers).tolist()
            self.assertEqual(got, [reference.setdefault(k, n) for k, n in zip(batch, numbers, strict=True)])
            number += len(batch)
        self.assertEqual(len(seen.keys), len(reference))
        self.assertEqual(seen.first_seen([], []).tolist(), [])
