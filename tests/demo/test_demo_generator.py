"""The demo register generator: exact, deterministic, non-overlapping, and consistent with the services."""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase, override_settings
from osgeo import ogr

from assets.demo.context import build_context
from assets.demo.generator import generate_assets
from assets.demo.records import DemoAsset, DemoError
from assets.demo.tables import AS_OF
from assets.demo.writers import populate_database
from assets.models import (
    AdministrativeArea,
    Agency,
    Certificate,
    LandAsset,
    PlottingStatus,
    Stage,
    validate_kode_barang,
)
from assets.register.geo import geodesic_area_m2, to_shapely
from assets.register.reference import load_agencies, load_boundaries
from assets.register.rules import derive_certificate_status
from assets.register.services import kelurahan_index


def fingerprint(asset: DemoAsset) -> tuple[DemoAsset, bytes | None]:
    """Every attribute, and the geometry as WKB bytes (exact coordinates, not a tolerance)."""
    return replace(asset, geom=None), None if asset.geom is None else shapely.to_wkb(asset.geom)


def generate(count: int, seed: int) -> list[DemoAsset]:
    return list(generate_assets(build_context(), count=count, seed=seed))


class GeneratorTests(TestCase):
    COUNT = 500

    @classmethod
    def setUpTestData(cls) -> None:
        load_boundaries()
        load_agencies()

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()  # runs setUpTestData
        # Kept outside setUpTestData, which would deep-copy the records for every test.
        cls.assets = generate(cls.COUNT, seed=11)
        cls.parcels = [a.geom for a in cls.assets if a.geom is not None]

    def test_exact_count(self) -> None:
        self.assertEqual(len(self.assets), self.COUNT)
        for count in (1, 37):
            with self.subTest(count=count):
                self.assertEqual(len(generate(count, seed=3)), count)

    def test_same_seed_same_records_and_another_seed_other_records(self) -> None:
        first = [fingerprint(a) for a in generate(200, seed=7)]
        self.assertEqual(first, [fingerprint(a) for a in generate(200, seed=7)])
        other = [fingerprint(a) for a in generate(200, seed=8)]
        self.assertNotEqual([wkb for _a, wkb in first], [wkb for _a, wkb in other])
        self.assertNotEqual([a.nama_barang for a, _wkb in first], [a.nama_barang for a, _wkb in other])

    def test_parcels_are_valid_lon_lat_multipolygons_inside_the_kelurahan(self) -> None:
        kelurahan = AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KELURAHAN)
        city = shapely.union_all([to_shapely(k.geom) for k in kelurahan]).buffer(1e-6)  # ~10 cm of slack
        shapely.prepare(city)
        self.assertTrue(all(p.geom_type == "MultiPolygon" for p in self.parcels))
        self.assertTrue(shapely.is_valid(self.parcels).all())
        self.assertTrue(shapely.contains(city, self.parcels).all())
        xmin, ymin, xmax, ymax = shapely.total_bounds(self.parcels)
        self.assertTrue(116 < xmin < xmax < 118 and -2 < ymin < ymax < 0, "lon/lat order, EPSG:4326")

    def test_no_two_parcels_overlap(self) -> None:
        tree = shapely.STRtree(self.parcels)
        left, right = tree.query(self.parcels, predicate="intersects")
        # Margins inside the grid cells keep parcels apart: a parcel meets only itself, not even a touch.
        self.assertEqual([(i, j) for i, j in zip(left, right, strict=True) if i != j], [])

    def test_sizes_and_shapes_vary(self) -> None:
        areas = sorted(float(a.luas_gis_m2) for a in self.assets if a.luas_gis_m2 is not None)
        self.assertLess(areas[0], 300)
        self.assertGreater(areas[-1], 10_000)
        self.assertLess(areas[len(areas) // 2], 3_000, "skewed to small parcels")
        vertices = Counter(shapely.get_num_coordinates(p) - 1 for p in self.parcels)
        self.assertTrue({4, 6} <= set(vertices), vertices)  # rectangles/trapezoids and L-shapes
        self.assertTrue(set(vertices) & {5, 7, 8}, vertices)  # convex polygons

    def test_register_attributes_are_valid_and_unique(self) -> None:
        agencies = set(Agency.objects.values_list("code", flat=True))
        for asset in self.assets:
            validate_kode_barang(asset.kode_barang)
            self.assertRegex(asset.nomor_register, r"^\d{4,6}$")
            self.assertEqual(asset.tanggal_perolehan.year, asset.tahun_perolehan)
            self.assertTrue(1975 <= asset.tahun_perolehan <= 2025)
            self.assertIn(asset.agency_code, agencies)
            self.assertEqual(asset.nilai_perolehan, asset.nilai_perolehan.to_integral_value())
        keys = [(a.kode_barang, a.nomor_register) for a in self.assets]
        self.assertEqual(len(set(keys)), len(keys))
        nibars = [a.nibar for a in self.assets if a.nibar]
        self.assertEqual(len(set(nibars)), len(nibars))
        self.assertTrue(0.6 < len(nibars) / self.COUNT < 0.8)
        self.assertGreaterEqual(len({a.kode_barang for a in self.assets}), 10)

    def test_plotting_status_matches_the_geometry(self) -> None:
        plotting = Counter(a.plotting_status for a in self.assets)
        self.assertTrue(0.85 < plotting[PlottingStatus.LOCATED] / self.COUNT < 0.97, plotting)
        self.assertTrue(plotting[PlottingStatus.APPROXIMATE] and plotting[PlottingStatus.UNKNOWN], plotting)
        for asset in self.assets:
            unknown = asset.plotting_status == PlottingStatus.UNKNOWN
            self.assertIs(asset.geom is None, unknown)
            self.assertIs(asset.luas_gis_m2 is None, unknown)
            self.assertIs(asset.kelurahan_id is None, unknown)

    def test_derived_fields_are_what_the_services_compute(self) -> None:
        index = kelurahan_index()
        for asset in (a for a in self.assets if a.geom is not None):
            self.assertEqual(asset.luas_gis_m2, Decimal(str(geodesic_area_m2(asset.geom))).quantize(Decimal("0.01")))
            ref = index.assign(asset.geom)
            self.assertEqual((asset.kelurahan_id, asset.kecamatan_id), (ref.id, ref.parent_id))
        for asset in self.assets:
            certificates = ((c.stage, bool(c.nomor)) for c in asset.certificates)
            derived = derive_certificate_status(certificates)
            self.assertEqual((asset.status_sertifikat, asset.tahap_sertifikat, asset.bermasalah), derived)

    def test_kib_area_is_near_the_gis_area_for_most_rows(self) -> None:
        located = [a for a in self.assets if a.luas_gis_m2 is not None]
        off = [a for a in located if abs(a.luas_kib_m2 / a.luas_gis_m2 - 1) > Decimal("0.1")]
        self.assertTrue(0.01 < len(off) / len(located) < 0.1, len(off))

    def test_certificate_mix(self) -> None:
        status = Counter(a.status_sertifikat for a in self.assets)
        self.assertTrue(0.4 < status["terbit"] / self.COUNT < 0.6, status)
        self.assertTrue(0.15 < status["proses"] / self.COUNT < 0.35, status)
        self.assertTrue(0.15 < status["belum"] / self.COUNT < 0.35, status)
        self.assertTrue(any(a.bermasalah for a in self.assets))

    def test_certificate_histories_are_consistent(self) -> None:
        for asset in self.assets:
            for cert in asset.certificates:
                dates = [e.tanggal for e in cert.events]
                self.assertEqual(dates, sorted(dates))
                self.assertTrue(asset.tanggal_perolehan <= dates[0] and dates[-1] <= AS_OF)
                self.assertEqual([e.from_stage for e in cert.events], ["", *[e.to_stage for e in cert.events[:-1]]])
                self.assertEqual((cert.events[-1].to_stage, cert.events[-1].tanggal), (cert.stage, cert.stage_since))
                if cert.stage == Stage.SERTIFIKAT_TERBIT:
                    self.assertTrue(cert.jenis_hak and cert.nomor and cert.tanggal, cert)
                if cert.nib:
                    self.assertRegex(cert.nib, r"^6471\d{10}$")


@override_settings(SIPANAH_DEMO=True)
class DatabaseTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        load_boundaries()
        load_agencies()

    def test_writes_exactly_the_generated_records_with_consistent_derived_fields(self) -> None:
        summary = populate_database(count=300, seed=5, batch_size=64)
        self.assertEqual((summary.assets, LandAsset.objects.count()), (300, 300))
        self.assertEqual(LandAsset.history.filter(history_type="+").count(), 300)
        self.assertEqual(Certificate.history.count(), Certificate.objects.count())
        expected = {(a.kode_barang, a.nomor_register): a for a in generate(300, seed=5)}
        assets = LandAsset.objects.prefetch_related("certificates__events").select_related("agency")
        for asset in assets:
            record = expected[(asset.kode_barang, asset.nomor_register)]
            self.assertEqual((asset.nama_barang, asset.agency.code), (record.nama_barang, record.agency_code))
            if asset.geom is not None:
                self.assertEqual(asset.luas_gis_m2, Decimal(str(geodesic_area_m2(asset.geom))))
                self.assertEqual(shapely.to_wkb(to_shapely(asset.geom)), shapely.to_wkb(record.geom))
            certificates = list(asset.certificates.all())
            derived = derive_certificate_status((c.stage, bool(c.nomor)) for c in certificates)
            self.assertEqual((asset.status_sertifikat, asset.tahap_sertifikat, asset.bermasalah), derived)
            self.assertEqual([len(c.events.all()) for c in certificates], [len(c.events) for c in record.certificates])
        for asset in assets[:25]:  # the model validators agree too
            asset.full_clean()
            for cert in asset.certificates.all():
                cert.full_clean()

    def test_a_register_with_assets_is_refused_left_alone_or_appended_to(self) -> None:
        call_command("generate_demo_assets", count=40, seed=1, if_empty=True, verbosity=0)
        self.assertEqual(LandAsset.objects.count(), 40, "--if-empty generates into an empty register")
        with self.assertRaisesMessage(DemoError, "--append"):
            populate_database(count=40, seed=1)
        call_command("generate_demo_assets", count=40, seed=1, if_empty=True, verbosity=0)
        self.assertEqual(LandAsset.objects.count(), 40, "--if-empty leaves a register with assets alone")
        populate_database(count=40, seed=1, existing="append")  # same seed: the same codes, numbers continue
        self.assertEqual(LandAsset.objects.count(), 80)
        keys = list(LandAsset.objects.values_list("kode_barang", "nomor_register"))
        self.assertEqual(len(set(keys)), 80)
        nibars = list(LandAsset.objects.exclude(nibar=None).values_list("nibar", flat=True))
        self.assertEqual(len(set(nibars)), len(nibars))

    @override_settings(SIPANAH_DEMO=False)
    def test_needs_demo_mode(self) -> None:
        with self.assertRaisesMessage(CommandError, "SIPANAH_DEMO=1"):
            call_command("generate_demo_assets", count=10, seed=1, verbosity=0)
        self.assertFalse(LandAsset.objects.exists())


class GeoPackageTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        load_boundaries()
        load_agencies()

    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)

    def test_out_writes_a_geopackage_with_one_feature_per_asset(self) -> None:
        path = self.dir / "demo.gpkg"
        call_command("generate_demo_assets", count=150, seed=4, out=path, verbosity=0)
        records = generate(150, seed=4)
        dataset = ogr.Open(str(path))
        layer = dataset.GetLayerByName("land_assets")
        self.assertEqual(layer.GetFeatureCount(), 150)
        self.assertEqual(layer.GetGeomType(), ogr.wkbMultiPolygon)
        self.assertEqual(layer.GetSpatialRef().GetAuthorityCode(None), "4326")
        rows = [(f.GetField("kode_barang"), f.GetField("nomor_register"), f.GetGeometryRef()) for f in layer]
        self.assertEqual([r[:2] for r in rows], [(a.kode_barang, a.nomor_register) for a in records])
        self.assertEqual(sum(r[2] is None for r in rows), sum(a.geom is None for a in records))
        self.assertFalse(LandAsset.objects.exists(), "--out leaves the register alone")

    def test_same_seed_gives_the_same_file(self) -> None:
        digests = []
        for name in ("a.gpkg", "b.gpkg"):
            call_command("generate_demo_assets", count=60, seed=2, out=self.dir / name, verbosity=0)
            digests.append(hashlib.sha256((self.dir / name).read_bytes()).hexdigest())
        self.assertEqual(digests[0], digests[1])

    def test_refuses_to_overwrite_a_file(self) -> None:
        path = self.dir / "taken.gpkg"
        path.write_bytes(b"")
        with self.assertRaisesMessage(CommandError, "already exists"):
            call_command("generate_demo_assets", count=5, seed=1, out=path, verbosity=0)
