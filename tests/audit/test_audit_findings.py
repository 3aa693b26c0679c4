"""Audit findings: each one planted and reported, and a clean register that reports nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.test import TestCase
from django.utils import timezone

from assets.audit import findings
from assets.models import Agency, LandAsset, PlottingStatus, Stage
from assets.register import history, services
from assets.register.geo import geodesic_area_m2
from tests.factories import load_reference, make_asset, point_inside, square, temp_media_root
from tests.field.helpers import inventoried_today

HALF = 0.0002  # a parcel of about 44 m × 44 m


def clean_asset(lon: float, lat: float, **fields):
    """A located, certified asset in the city's name whose three areas agree."""
    geom = square(lon, lat, HALF)
    area = Decimal(str(round(geodesic_area_m2(geom), 2)))
    asset = make_asset(geom=geom, luas_kib_m2=area, **fields)
    services.certificate_create(
        asset=asset,
        user=None,
        stage=Stage.SERTIFIKAT_TERBIT,
        tanggal_tahap=dt.date(2020, 1, 10),
        jenis_hak="HP",
        nomor="00123",
        tanggal=dt.date(2020, 1, 10),
        atas_nama="Pemerintah Kota Balikpapan",
        luas_sertifikat_m2=area,
    )
    return asset


def keep_its_evidence(asset) -> None:
    """Every document the checklist asks of the asset, and its certificates' originals in a storage place: clean for
    the findings "documents" and "custody" (assets.evidence)."""
    from assets.evidence import selectors
    from assets.evidence import services as evidence
    from assets.evidence.models import StoragePlace
    from tests.evidence.files import pdf_bytes

    for doc_type in selectors.required_types(asset.asal_usul, asset.tahap_sertifikat, selectors.active_requirements()):
        fields = evidence.DocumentFields(doc_type=doc_type)
        evidence.document_add(asset=asset, user=None, name="scan.pdf", data=pdf_bytes(), fields=fields)
    place, _created = StoragePlace.objects.get_or_create(code="BR-01", defaults={"name": "Brankas", "kind": "BRANKAS"})
    for certificate in asset.certificates.all():
        evidence.custody_store(certificate=certificate, place=place, user=None, date=dt.date(2024, 1, 2))


def found(slug: str, **options) -> list[findings.FindingRow]:
    assets = history.snapshot(with_geom=True)
    return findings.run_finding(slug, assets, options=findings.FindingOptions(**options))


class FindingTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.lon, cls.lat = point_inside("64.71.05.1002")
        cls.clean = clean_asset(cls.lon, cls.lat, nama_barang="Tanah Bersih")
        cls.clean.refresh_from_db()
        keep_its_evidence(cls.clean)
        inventoried_today(cls.clean)  # assets.field: inventoried within five years

    @classmethod
    def setUpClass(cls):
        temp_media_root(cls.addClassCleanup)  # the clean asset's documents
        super().setUpClass()

    def reported_ids(self, slug: str, **options) -> set[int]:
        return {row.asset.id for row in found(slug, **options)}

    def test_a_clean_register_reports_nothing(self):
        assets = history.snapshot(with_geom=True)
        self.assertEqual([a.id for a in assets], [self.clean.id])
        for slug, rows in findings.run_all(assets).items():
            with self.subTest(slug=slug):
                self.assertEqual(rows, [])

    def test_uncertified_by_agency_and_kecamatan(self):
        lon, lat = point_inside("64.71.01.1001")
        agency = Agency.objects.get(code="1.02.01")
        planted = make_asset(agency=agency, geom=square(lon, lat, HALF), nama_barang="Tanah Belum")
        rows = found("uncertified")
        self.assertEqual([r.asset.id for r in rows], [planted.id])
        groups = findings.uncertified_by_agency_kecamatan(rows, history.names())
        self.assertEqual(len(groups), 1)
        self.assertEqual(groups[0][0], "Dinas Kesehatan")
        self.assertEqual(groups[0][1], planted.kecamatan.name)
        self.assertEqual(groups[0][2], 1)

    def test_stuck_case_older_than_the_limit(self):
        lon, lat = point_inside("64.71.01.1002")
        today = timezone.localdate()
        stuck = make_asset(geom=square(lon, lat, HALF))
        services.certificate_create(
            asset=stuck, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=today - dt.timedelta(days=400)
        )
        recent = make_asset(geom=square(lon + 0.002, lat, HALF))
        services.certificate_create(
            asset=recent, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=today - dt.timedelta(days=30)
        )
        rows = found("stuck", stuck_days=180)
        self.assertEqual([r.asset.id for r in rows], [stuck.id])
        self.assertEqual(rows[0].values["days"], 400)
        self.assertEqual(self.reported_ids("stuck", stuck_days=10), {stuck.id, recent.id})
        self.assertEqual(self.reported_ids("stuck", stuck_days=500), set())

    def test_area_mismatch_beyond_the_tolerance(self):
        # No certificate area: the KIB area stands in for it against the GIS area, with the default tolerance
        # (the larger of 5 % of that area and 10 m²).
        lon, lat = point_inside("64.71.01.1003")
        geom = square(lon, lat, HALF)
        gis = Decimal(str(round(geodesic_area_m2(geom), 2)))
        within = make_asset(geom=geom, luas_kib_m2=gis + Decimal("9"))  # under the 10 m² floor (and 5 %)
        lon2, lat2 = point_inside("64.71.01.1004")
        off = make_asset(
            geom=square(lon2, lat2, HALF), luas_kib_m2=(gis * Decimal("1.06")).quantize(Decimal("0.01"))
        )  # 6 % > 5 %
        rows = found("area-mismatch")
        self.assertEqual({r.asset.id for r in rows}, {off.id})
        self.assertEqual(rows[0].values["compared"], "KIB–GIS (no certificate area)")
        self.assertEqual(self.reported_ids("area-mismatch", tolerance_pct=Decimal("10")), set())
        self.assertEqual(
            self.reported_ids("area-mismatch", tolerance_pct=Decimal("0"), tolerance_m2=Decimal("1")),
            {off.id, within.id},
        )  # the 9 m² difference is beyond a 1 m² floor without the percentage
        self.assertEqual(self.reported_ids("kib-area"), set())  # neither has an issued certificate

    def test_certificate_area_mismatch(self):
        # A second certificate's area makes the certificates' total 300 m² more than the parcel's GIS area.
        services.certificate_create(
            asset=self.clean, user=None, stage=Stage.PERSIAPAN_BERKAS, luas_sertifikat_m2=Decimal("300")
        )
        rows = found("area-mismatch")
        self.assertEqual([r.asset.id for r in rows], [self.clean.id])
        self.assertIn("certificate–GIS", rows[0].detail)
        self.assertEqual(rows[0].values["diff_m2"], -Decimal("300.00"))
        # The case in preparation has no number: the KIB is compared with the issued certificate only.
        self.assertEqual(self.reported_ids("kib-area"), set())

    def test_kib_area_against_the_issued_certificate(self):
        certificate_area = self.clean.certificates.get().luas_sertifikat_m2
        LandAsset.objects.filter(pk=self.clean.pk).update(luas_kib_m2=certificate_area + Decimal("0.9"))
        self.assertEqual(self.reported_ids("kib-area"), set())  # within 1 m²: rounding
        LandAsset.objects.filter(pk=self.clean.pk).update(luas_kib_m2=certificate_area + Decimal("2"))
        rows = found("kib-area")
        self.assertEqual([r.asset.id for r in rows], [self.clean.id])
        self.assertEqual(rows[0].values["diff_m2"], Decimal("2.00"))
        self.assertEqual(rows[0].values["certificate"], "HP 00123")
        # 2 m² is far inside the GIS tolerance: the certificate and the parcel still agree.
        self.assertEqual(self.reported_ids("area-mismatch"), set())
        self.assertEqual(self.reported_ids("kib-area", kib_tolerance_m2=Decimal("5")), set())

    def test_overlaps_with_their_area_and_not_neighbours_sharing_an_edge(self):
        lon, lat = point_inside("64.71.02.1001")
        a = make_asset(geom=square(lon, lat, HALF), nama_barang="A")
        b = make_asset(geom=square(lon + HALF, lat, HALF), nama_barang="B")  # half of A
        make_asset(geom=square(lon - 2 * HALF, lat, HALF), nama_barang="Neighbour")  # shares A's west edge
        rows = found("overlaps")
        self.assertEqual([(r.asset.id, r.other.id) for r in rows], [(a.id, b.id)])
        expected = geodesic_area_m2(square(lon + HALF / 2, lat, HALF / 2)) * 2  # the shared 1×2 half-square
        self.assertAlmostEqual(rows[0].values["overlap_m2"], expected, delta=expected * 0.001)
        # The join goes through the spatial index (SpatiaLite: its R*Tree is live and holds the parcels) ...
        if connection.vendor == "sqlite":
            self.assertTrue(findings.spatialite_index_ready())
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM idx_assets_landasset_geom")
                self.assertEqual(cursor.fetchone()[0], 4)
        # ... and agrees with the in-memory join.
        snap = history.snapshot(with_geom=True)
        self.assertEqual(
            [p[:2] for p in findings.overlap_pairs_snapshot(snap, 1.0)],
            [p[:2] for p in findings.overlap_pairs_sql(1.0)],
        )

    def test_outside_the_city_boundary(self):
        outside = make_asset(geom=square(117.6, -1.0, HALF), nama_barang="Di luar kota")
        rows = found("outside")
        self.assertEqual([r.asset.id for r in rows], [outside.id])
        self.assertEqual(rows[0].detail, "wholly outside")
        self.assertGreater(rows[0].values["outside_m2"], 1000)

    def test_without_location_or_approximate(self):
        lon, lat = point_inside("64.71.01.1001")
        none = make_asset(geom=None)
        approx = make_asset(geom=square(lon, lat, HALF), plotting_status=PlottingStatus.APPROXIMATE)
        self.assertEqual(self.reported_ids("location"), {none.id, approx.id})

    def test_holder_matching_is_tolerant(self):
        for name in (
            "Pemerintah Kota Balikpapan",
            "PEMKOT BALIKPAPAN",
            "Pemerintah Kotamadya Daerah Tingkat II Balikpapan",
            "Pemerintah Kota Balikpapan c.q. Dinas Pendidikan",
            "pemerintah  kota   balikpapan.",
        ):
            self.assertTrue(findings.is_city_holder(name), name)
        for name in ("PT Maju Jaya", "Pemerintah Kota Samarinda", "Pemerintah Provinsi Kalimantan Timur", ""):
            self.assertFalse(findings.is_city_holder(name), name)

    def test_certificates_not_in_the_name_of_the_city(self):
        lon, lat = point_inside("64.71.01.1002")
        other = clean_asset(lon, lat, nama_barang="Tanah Atas Nama PT")
        certificate = other.certificates.get()
        certificate.atas_nama = "PT Maju Jaya"
        certificate.save()
        lon, lat = point_inside("64.71.01.1003")
        pemkot = clean_asset(lon, lat)
        certificate = pemkot.certificates.get()
        certificate.atas_nama = "Pemkot Balikpapan"
        certificate.save()
        rows = found("holder")
        self.assertEqual([r.asset.id for r in rows], [other.id])
        self.assertEqual(rows[0].values["atas_nama"], "PT Maju Jaya")

    def test_disputes(self):
        certificate = self.clean.certificates.get()
        services.certificate_change_stage(
            certificate=certificate, user=None, to_stage=Stage.SENGKETA, tanggal_tahap=dt.date(2021, 1, 1)
        )
        lon, lat = point_inside("64.71.01.1004")
        blocked = make_asset(geom=square(lon, lat, HALF))
        case = services.certificate_create(asset=blocked, user=None, stage=Stage.PENGUKURAN)
        services.certificate_change_stage(
            certificate=case, user=None, to_stage=Stage.DIBLOKIR, tanggal_tahap=timezone.localdate()
        )
        rows = found("disputes")
        self.assertEqual(
            {(r.asset.id, r.values["stage"]) for r in rows}, {(self.clean.id, "In dispute"), (blocked.id, "Blocked")}
        )

    def test_removed_assets_leave_the_findings(self):
        planted = make_asset(geom=None)
        self.assertIn(planted.id, self.reported_ids("location"))
        services.asset_remove(asset=planted, user=None, sk_nomor="SK 1/2025", tanggal=dt.date(2025, 1, 2))
        self.assertNotIn(planted.id, self.reported_ids("location"))

    def test_an_overlap_partner_outside_the_filter_is_still_named(self):
        lon, lat = point_inside("64.71.02.1001")
        mine = make_asset(agency=Agency.objects.get(code="1.01.01"), geom=square(lon, lat, HALF))
        theirs = make_asset(agency=Agency.objects.get(code="1.02.01"), geom=square(lon + HALF, lat, HALF))
        assets = history.snapshot(params={"agency": "1.01.01"}, with_geom=True)
        self.assertNotIn(theirs.id, {a.id for a in assets})
        rows = findings.run_finding("overlaps", assets)
        self.assertEqual([(r.asset.id, r.other.id) for r in rows], [(mine.id, theirs.id)])
