"""The register's read paths do the work once: one aggregate for the totals and the page count, no SELECT DISTINCT
for filters on the asset's own columns, and PostGIS connections without JIT (bench/load measured each)."""

from __future__ import annotations

from django.contrib.gis.geos import LineString, MultiPolygon, Polygon
from django.db import connection
from django.db.models import Count
from django.test import SimpleTestCase, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assets.models import Agency, CertificateStatus, LandAsset
from assets.register import geo, permissions, selectors
from tests.factories import load_reference, make_asset, make_user, square


def asset_queries(ctx: CaptureQueriesContext) -> list[str]:
    """The statements that read the assets table (not the session, user, choices of the filter form)."""
    return [q["sql"] for q in ctx.captured_queries if 'FROM "assets_landasset"' in q["sql"]]


class RegisterReadTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        agency = Agency.objects.get(code="1.01.01")
        cls.user = make_user("auditor", permissions.AUDITOR)
        statuses = [CertificateStatus.BELUM] * 30 + [CertificateStatus.PROSES] * 20 + [CertificateStatus.TERBIT] * 7
        for i, status in enumerate(statuses):
            geom = square(116.83 + i * 0.002, -1.25) if i % 3 else None
            asset = make_asset(agency=agency, geom=geom, nama_barang=f"Tanah {i:03d}")
            LandAsset.objects.filter(pk=asset.pk).update(status_sertifikat=status)  # as certificates would derive it
        removed = make_asset(agency=agency, nama_barang="Tanah dihapus")
        LandAsset.objects.filter(pk=removed.pk).update(removed_at="2025-01-01")

    def setUp(self):
        self.client.force_login(self.user)

    def test_the_list_counts_its_rows_once_and_pages_them_right(self):
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(reverse("asset-list"), {"page": 2})
        page, totals = response.context["page"], response.context["totals"]
        self.assertEqual((totals.count, page.paginator.count, page.paginator.num_pages), (57, 57, 2))
        self.assertEqual(len(page.object_list), 7)
        self.assertEqual(page.start_index(), 51)
        self.assertNotIn("Tanah dihapus", [a.nama_barang for a in page.object_list])
        reads = asset_queries(ctx)
        # the totals and the count from the maintained groups (assets.register.aggregates): only the page's rows
        self.assertEqual(len(reads), 1, reads)
        self.assertNotIn("COUNT(", reads[0])
        # a filter the groups cannot answer (a search): one aggregate of the matching rows for totals and count
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(reverse("asset-list"), {"page": 2, "q": "Tanah"})
        self.assertEqual(response.context["page"].paginator.count, 57)
        reads = asset_queries(ctx)
        self.assertEqual(len([sql for sql in reads if "COUNT(" in sql]), 1, reads)  # the totals' aggregate alone
        self.assertEqual(len(reads), 2, reads)  # that aggregate and the page's rows

    def test_an_empty_or_out_of_range_page_still_shows_the_right_count(self):
        response = self.client.get(reverse("asset-list"), {"page": 9, "q": "Tanah 05"})
        page = response.context["page"]
        self.assertEqual(page.paginator.count, 7)  # Tanah 050 … 056
        self.assertEqual(page.number, 1)  # get_page falls back to the last page
        response = self.client.get(reverse("asset-list"), {"q": "nothing like this"})
        self.assertEqual(response.context["page"].paginator.count, 0)
        self.assertContains(response, "colspan")  # the empty row

    def test_status_filters_select_the_rows_without_distinct(self):
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(reverse("asset-list"), {"status": ["proses", "terbit"]})
        page = response.context["page"]
        self.assertEqual(page.paginator.count, 27)
        names = [a.nama_barang for a in page.object_list]
        self.assertEqual(len(names), len(set(names)))
        self.assertTrue(all(a.status_sertifikat in ("proses", "terbit") for a in page.object_list))
        self.assertFalse([sql for sql in asset_queries(ctx) if "DISTINCT" in sql])
        response = self.client.get(reverse("map-totals"), {"status": "terbit"})
        self.assertEqual(response.json()["count"], "7")

    def test_totals_by_status_equal_the_two_separate_reads(self):
        for qs in (
            selectors.asset_list().filter(removed_at__isnull=True),
            selectors.asset_list().filter(geom__isnull=False),
            selectors.asset_list().none(),
        ):
            with self.subTest(query=str(qs.query) if qs.exists() else "none"):
                with CaptureQueriesContext(connection) as ctx:
                    totals, by_status = selectors.register_totals_by_status(qs)
                self.assertLessEqual(len(ctx.captured_queries), 1)
                self.assertEqual(totals, selectors.register_totals(qs))
                counts = dict(qs.order_by().values_list("status_sertifikat").annotate(n=Count("id")))
                self.assertEqual(by_status, {status: counts.get(status, 0) for status in CertificateStatus.values})
        totals, by_status = selectors.register_totals_by_status(selectors.asset_list().filter(removed_at__isnull=True))
        self.assertEqual(by_status, {"belum": 30, "proses": 20, "terbit": 7})
        self.assertEqual((totals.count, totals.certified, totals.located), (57, 7, 38))

    def test_home_reads_the_register_once(self):
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(reverse("home"))
        self.assertEqual(response.context["by_status"], {"belum": 30, "proses": 20, "terbit": 7})
        self.assertEqual(response.context["totals"].count, 57)
        # The totals (counts, areas, values by status) in one aggregate of the maintained groups
        # (assets.register.aggregates), none over the assets; the work queue's sources read on their own.
        self.assertEqual([q for q in asset_queries(ctx) if 'SUM("assets_landasset"' in q], [])
        groups = [q["sql"] for q in ctx.captured_queries if '"assets_registertotal"' in q["sql"]]
        self.assertEqual(len(groups), 1)

    def test_postgis_connections_run_without_jit(self):
        if connection.vendor != "postgresql":
            self.skipTest("JIT is a PostgreSQL setting; SpatiaLite has none")
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            self.assertEqual(cursor.fetchone()[0], "off")


class ClipAreaTests(SimpleTestCase):
    """geo.clip_areas measures whole arrays at once; each parcel's area must stay what it was one by one."""

    def test_inside_partly_inside_outside_missing_and_mixed_intersections(self):
        shape = Polygon.from_bbox((116.80, -1.30, 116.81, -1.29))
        shape.srid = 4326
        inside = square(116.805, -1.295)
        half = square(116.81, -1.295)  # the shape's east edge cuts it in two
        outside = square(116.85, -1.25)
        west, east = square(116.8050, -1.2850, 0.0005), square(116.8060, -1.2850, 0.0005)
        # one square inside the shape, the other only touching its north edge at y = -1.29 from outside
        touching = MultiPolygon(
            Polygon.from_bbox((116.804, -1.2905, 116.805, -1.2901)),
            Polygon.from_bbox((116.806, -1.2900, 116.807, -1.2890)),
        )
        touching.srid = 4326
        geoms = [inside, None, half, outside, touching, west, east]
        result = list(geo.clip_areas(geoms, shape))
        self.assertEqual([g for g, _a in result], geoms)
        areas = [a for _g, a in result]
        self.assertEqual(areas[0], geo.geodesic_area_m2(inside))
        self.assertEqual(areas[1], 0.0)
        self.assertEqual(areas[2], geo.geodesic_area_m2(half.intersection(shape)))
        self.assertAlmostEqual(areas[2], geo.geodesic_area_m2(half) / 2, delta=1)
        self.assertEqual(areas[3], 0.0)
        self.assertEqual(areas[4], geo.geodesic_area_m2(touching[0]))  # the line where the other square touches: 0
        self.assertEqual(areas[5:], [0.0, 0.0])  # both above the shape

    def test_a_line_shape_has_no_area_inside(self):
        line = LineString((116.80, -1.30), (116.81, -1.29), srid=4326)
        self.assertEqual([a for _g, a in geo.clip_areas([square(116.805, -1.295), None], line)], [0.0, 0.0])
