"""The import preview you can trust (issue 13): updates shown before → after with the asset named, unchanged rows
counted, overlaps over the register and within the file in m² (warnings, errors when strict), what an update may
overwrite, the same report on the command line (--dry-run) as on the web page."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from assets.lib import formats
from assets.models import AgencyMapping, ImportJob, LandAsset
from assets.ops import worker
from assets.register import geo, permissions
from assets.transfer.importing.report import change_lines
from assets.transfer.importing.run import format_report, run_import
from tests.factories import make_asset, make_user, point_inside, temp_media_root
from tests.transfer.import_case import ImportTestCase

KODE = "1.3.1.01.01.01.001"


def metric_square(x: float, y: float, side: float) -> GEOSGeometry:
    """A square of ``side`` metres with its south-west corner at (x, y) in TM-3 (the metric CRS), as lon/lat."""
    shape = geo.from_metric(shapely.box(x, y, x + side, y + side))
    return GEOSGeometry(memoryview(shapely.to_wkb(shapely.multipolygons([shape]))), srid=4326)


class PreviewCase(ImportTestCase):
    def setUp(self):
        super().setUp()
        lon, lat = point_inside("64.71.05.1002")
        origin = geo.to_metric(shapely.Point(lon, lat))
        self.x, self.y = origin.x, origin.y

    def square(self, dx: float, dy: float = 0.0, side: float = 40.0) -> GEOSGeometry:
        return metric_square(self.x + dx, self.y + dy, side)

    def feature(self, register: str, geom: GEOSGeometry | None, **properties) -> dict:
        values = {"kode_barang": KODE, "nomor_register": register, "nama_barang": "Tanah Kantor Kelurahan",
                  "agency": "1.01.01", "tahun_perolehan": 2010, "tanggal_perolehan": "2010-05-17",
                  "asal_usul": "Pembelian", "nilai_perolehan": 1250000000, "luas_kib_m2": 1200}  # fmt: skip
        values.update(properties)
        geometry = json.loads(geom.json) if geom is not None else None
        return {"type": "Feature", "properties": values, "geometry": geometry}

    def write(self, features: list[dict], name: str = "parcels.geojson"):
        path = self.tmp / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        return path

    def asset(self, register: str, geom: GEOSGeometry | None, **fields) -> LandAsset:
        return make_asset(agency=self.agency, geom=geom, nomor_register=register, **fields)


class UpdateDiffTests(PreviewCase):
    def test_updates_show_each_field_before_and_after_and_unchanged_rows_are_counted(self):
        changed = self.asset("0001", self.square(0))
        same = self.asset("0002", self.square(100))
        path = self.write([
            self.feature("1", self.square(0, side=50), nama_barang="Tanah Taman Kota", nilai_perolehan=1500000000),
            self.feature("2", self.square(100)),  # exactly what the register holds
            self.feature("3", self.square(200)),  # new
        ])  # fmt: skip
        report = run_import(path, dry_run=True)
        self.assertTrue(report.ok, report.errors)
        self.assertEqual((report.created, report.updated, report.unchanged), (1, 1, 1))
        (change,) = report.changes
        self.assertEqual((change["n"], change["asset_id"]), (1, changed.pk))
        by_field = {f["field"]: (f["before"], f["after"]) for f in change["fields"]}
        self.assertEqual(by_field["nama_barang"], ("Tanah Kantor Kelurahan", "Tanah Taman Kota"))
        self.assertEqual(by_field["nilai_perolehan"], ("Rp 1,250,000,000", "Rp 1,500,000,000"))  # as the UI shows
        before, after = by_field["geom"]
        self.assertIn("geometry changed", after)
        self.assertEqual(before, formats.m2(changed.luas_gis_m2))  # 40 m x 40 m: 1,599.34 m² geodesic
        self.assertRegex(after, r"^2,49\d\.\d\d m² \(geometry changed, \+89\d\.\d\d m²\)$")
        self.assertEqual(set(by_field), {"nama_barang", "nilai_perolehan", "geom"})
        self.assertNotIn(same.pk, [c["asset_id"] for c in report.changes])
        # The command line prints the same diff, from the same report
        text = format_report(report)
        self.assertIn(f"Feature 1 updates asset {KODE}/0001 Tanah Taman Kota (#{changed.pk}):", text)
        self.assertIn("Tanah Kantor Kelurahan → Tanah Taman Kota", text)
        self.assertIn("1 updated assets, 1 unchanged", text)
        self.assertEqual(change_lines(report.as_dict()), change_lines(report))
        # Unchanged rows are not written: the asset keeps its version
        report = run_import(path)
        self.assertTrue(report.committed)
        same.refresh_from_db()
        changed.refresh_from_db()
        self.assertEqual((same.version, changed.version, changed.nama_barang), (1, 2, "Tanah Taman Kota"))

    def test_update_geometry_only_leaves_the_attributes(self):
        asset = self.asset("0001", self.square(0))
        path = self.write([self.feature("1", self.square(0, side=50), nama_barang="Lain", nilai_perolehan=7)])
        report = run_import(path, update="geometry", dry_run=True)
        self.assertEqual([f["field"] for f in report.changes[0]["fields"]], ["geom"])
        report = run_import(path, update="geometry")
        self.assertTrue(report.committed, report.errors)
        asset.refresh_from_db()
        self.assertEqual((asset.nama_barang, asset.nilai_perolehan), ("Tanah Kantor Kelurahan", Decimal(1250000000)))
        self.assertAlmostEqual(float(asset.luas_gis_m2), 2500, delta=3)

    def test_update_attributes_only_leaves_the_geometry(self):
        asset = self.asset("0001", self.square(0))
        area = asset.luas_gis_m2
        path = self.write([self.feature("1", self.square(500, side=50), nama_barang="Lain")])
        report = run_import(path, update="attributes", dry_run=True)
        self.assertEqual([f["field"] for f in report.changes[0]["fields"]], ["nama_barang"])
        self.assertEqual(report.overlap_count, 0)
        report = run_import(path, update="attributes")
        self.assertTrue(report.committed, report.errors)
        asset.refresh_from_db()
        self.assertEqual((asset.nama_barang, asset.luas_gis_m2), ("Lain", area))
        # a row bringing only the same geometry with --update=geometry changes nothing
        report = run_import(self.write([self.feature("1", self.square(0), nama_barang="X")]), update="geometry")
        self.assertEqual((report.updated, report.unchanged), (0, 1))


class OverlapTests(PreviewCase):
    # 40 m squares, the second shifted by 28.325 m: they share 11.675 m x 40 m = 467 m² (in TM-3 metres; the
    # geodesic area differs by the projection's scale, well under 1 m² here)
    SHIFT = 40 - 467 / 40

    def test_a_new_parcel_over_a_register_parcel_is_a_warning_with_its_area(self):
        existing = self.asset("0001", self.square(0))
        removed = self.asset("0009", self.square(self.SHIFT))
        LandAsset.objects.filter(pk=removed.pk).update(removed_at="2024-01-01")  # removed: not the live register
        path = self.write([self.feature("2", self.square(self.SHIFT)), self.feature("3", self.square(300))])
        report = run_import(path, dry_run=True)
        self.assertTrue(report.ok, report.errors)
        self.assertEqual(report.overlap_count, 1)
        (overlap,) = report.overlaps
        self.assertEqual((overlap["n"], overlap["asset_id"]), (1, existing.pk))
        self.assertAlmostEqual(overlap["area_m2"], 467, delta=1)
        area = formats.m2(overlap["area_m2"])  # "466.81 m²": geodesic, the TM-3 square's 467 m² within its scale
        text = format_report(report)
        self.assertIn(
            f"Overlaps (1):\n! Feature 1: The parcel lies {area} over asset {existing} of the register.", text
        )

    def test_the_updated_asset_itself_is_no_overlap(self):
        self.asset("0001", self.square(0))
        report = run_import(self.write([self.feature("1", self.square(5))]), dry_run=True)
        self.assertEqual((report.updated, report.overlap_count), (1, 0))

    def test_parcels_of_the_file_over_each_other(self):
        path = self.write([self.feature("1", self.square(0)), self.feature("2", self.square(self.SHIFT)),
                           self.feature("3", self.square(40))])  # 3 only touches 1 along an edge  # fmt: skip
        report = run_import(path, dry_run=True)
        self.assertEqual(report.overlap_count, 2, report.overlaps)  # 2 over 1, 3 over 2
        first = report.overlaps[0]
        self.assertEqual((first["n"], first["other_n"], first["asset_id"]), (2, 1, None))
        self.assertAlmostEqual(first["area_m2"], 467, delta=1)
        self.assertEqual((report.overlaps[1]["n"], report.overlaps[1]["other_n"]), (3, 2))

    def test_strict_makes_overlaps_errors_and_writes_nothing(self):
        self.asset("0001", self.square(0))
        path = self.write([self.feature("2", self.square(self.SHIFT)), self.feature("3", self.square(300))])
        report = run_import(path, strict=True)
        self.assertFalse(report.committed)
        self.assertEqual([(e.feature, e.field) for e in report.errors], [(1, "geom")])
        self.assertRegex(report.errors[0].message, r"^The parcel lies 46[67]\.\d\d m² over asset")
        self.assertEqual(LandAsset.objects.count(), 1)
        # the command line: --strict refuses, --dry-run alone warns and exits 0
        out = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("import_assets", str(path), "--strict", stdout=out)
        self.assertIn("over asset", out.getvalue())
        out = io.StringIO()
        call_command("import_assets", str(path), "--dry-run", stdout=out)
        self.assertIn("Overlaps (1):", out.getvalue())
        self.assertEqual(LandAsset.objects.count(), 1)

    def test_command_line_update_choice(self):
        asset = self.asset("0001", self.square(0))
        path = self.write([self.feature("1", self.square(0, side=50), nama_barang="Lain")])
        out = io.StringIO()
        temp_media_root(self.addCleanup)
        make_user("bpkad", permissions.BPKAD)
        call_command("import_assets", str(path), "--update", "attributes", "--user", "bpkad", stdout=out,
                     stderr=io.StringIO())  # fmt: skip
        job = ImportJob.objects.get()  # the run in the import log, with its options
        self.assertEqual((job.update_mode, job.strict, job.updated), ("attributes", False, 1))
        asset.refresh_from_db()
        self.assertEqual(asset.nama_barang, "Lain")
        self.assertAlmostEqual(float(asset.luas_gis_m2), 1600, delta=3)


class WebPreviewTests(PreviewCase):
    """The same report on the web page: updates with links, overlaps, the map, column mapping in the browser."""

    def setUp(self):
        super().setUp()
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        temp_media_root(self.addCleanup)
        self.officer = make_user("officer", permissions.OFFICER, self.agency)
        self.client.force_login(self.officer)

    def upload(self, name: str, content: bytes, **options) -> ImportJob:
        before = set(ImportJob.objects.values_list("pk", flat=True))
        response = self.client.post(reverse("import-list"), {"file": SimpleUploadedFile(name, content), **options})
        self.assertEqual(response.status_code, 302, response.content[:2000])
        job = ImportJob.objects.exclude(pk__in=before).get()
        worker.work(once=True)
        job.refresh_from_db()
        return job

    def geojson(self, features: list[dict]) -> bytes:
        return json.dumps({"type": "FeatureCollection", "features": features}).encode()

    def test_preview_page_lists_updates_overlaps_and_draws_each_parcel_then_links_the_imported_assets(self):
        changed = self.asset("0001", self.square(0))
        self.asset("0002", self.square(100))
        features = [
            self.feature("1", self.square(0), nama_barang="Tanah Taman Kota"),
            self.feature("2", self.square(100)),
            self.feature("3", self.square(100 + OverlapTests.SHIFT)),  # new, over asset 0002
            self.feature("4", self.square(300)),
        ]
        job = self.upload("four.geojson", self.geojson(features))
        self.assertEqual((job.status, job.created, job.updated), (ImportJob.Status.PREVIEWED, 2, 1))
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        html = page.content.decode()
        self.assertContains(page, f'href="{reverse("asset-detail", args=[changed.pk])}"')
        diff = '<td class="before">Tanah Kantor Kelurahan</td><td class="after">Tanah Taman Kota</td>'
        self.assertContains(page, diff, html=False)
        self.assertContains(page, "Unchanged</dt><dd>1</dd>", html=False)
        self.assertContains(page, "<h2>Overlaps (1)</h2>", html=False)
        over = r'<a href="/assets/\d+/">1.3.1.01.01.01.001/0002 [^<]*</a></td><td class="num">46[67]\.\d\d<'
        self.assertRegex(html, over)  # the register asset overlapped, linked, with the overlap's area
        # the map: one path per parcel of the file (the unchanged one is not drawn), styled by what it would be
        self.assertEqual(html.count('class="parcel parcel--update"'), 1)
        self.assertEqual(html.count('class="parcel parcel--overlap"'), 1)
        self.assertEqual(html.count('class="parcel parcel--new"'), 1)
        self.assertEqual(html.count('class="parcel parcel--register"'), 1)  # asset 0002, overlapped
        # the summary and the confirmation come before the map and the lists
        self.assertLess(html.index("Confirm the import"), html.index("<svg"))
        self.client.post(reverse("import-detail", args=[job.pk]), {"action": "confirm"})
        worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.DONE)
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        for asset in LandAsset.objects.filter(nomor_register__in=["0003", "0004"]):
            self.assertContains(page, f'<a href="{reverse("asset-detail", args=[asset.pk])}">{asset}</a>', html=False)
        self.assertContains(page, f'<a href="{reverse("asset-detail", args=[changed.pk])}">')

    def test_strict_upload_refuses_overlaps(self):
        self.asset("0001", self.square(0))
        job = self.upload("o.geojson", self.geojson([self.feature("2", self.square(OverlapTests.SHIFT))]),
                          strict="on", update_mode="all")  # fmt: skip
        self.assertEqual((job.status, job.strict, job.error_count), (ImportJob.Status.REFUSED, True, 1))
        self.assertEqual(LandAsset.objects.count(), 1)

    def test_column_mapping_round_trip(self):
        rows = ["KD_BRG,NO_REG,NM_BRG,THN,ASAL_USUL,HARGA,LUAS,Geometri WKT (EPSG:4326)"]
        for i, name in enumerate(["Tanah Kantor Camat", "Tanah Puskesmas", "Tanah Kantor Camat"], start=1):
            rows.append(f'{KODE},{i},{name},{2000 + i},Pembelian,1000000,400,"{self.square(i * 100).wkt}"')
        content = "\n".join(rows).encode()
        job = self.upload("simda.csv", content)
        self.assertEqual(job.status, ImportJob.Status.REFUSED)
        self.assertIn("nama_barang", job.report["errors"][0]["message"])
        columns = {c["name"]: c for c in job.report["columns"]}
        self.assertEqual(columns["NM_BRG"]["field"], None)
        self.assertEqual(columns["NM_BRG"]["samples"], ["Tanah Kantor Camat", "Tanah Puskesmas"])  # distinct
        self.assertEqual(columns["THN"]["samples"][:2], ["2001", "2002"])
        page = self.client.get(reverse("import-detail", args=[job.pk]))
        self.assertContains(page, "Check again with other options")
        self.assertContains(page, '<option value="nama_barang">')
        # map NM_BRG and THN on the page, save the mapping for the agency, check again
        names = [c["name"] for c in job.report["columns"]]
        post = {"action": "recheck", "update_mode": "all", "save_for": str(self.agency.pk)}
        for i, name in enumerate(names):
            chosen = {"NM_BRG": "nama_barang", "THN": "tahun_perolehan"}.get(name)
            post[f"column-{i}"] = chosen or columns[name]["field"] or ""
        response = self.client.post(reverse("import-detail", args=[job.pk]), post)
        self.assertEqual(response.status_code, 302)
        worker.work(once=True)
        job.refresh_from_db()
        self.assertEqual((job.status, job.created), (ImportJob.Status.PREVIEWED, 3), job.report.get("errors"))
        self.assertEqual(job.mapping["fields"]["nama_barang"], "NM_BRG")
        saved = AgencyMapping.objects.get(agency=self.agency)
        self.assertEqual(saved.mapping, job.mapping)
        # the download is the command line's mapping file, and the command line reads it
        download = self.client.get(reverse("agency-mapping", args=[self.agency.pk]))
        self.assertEqual(json.loads(download.content), saved.mapping)
        self.assertEqual(json.loads(self.client.get(reverse("import-mapping", args=[job.pk])).content), job.mapping)
        mapping_file = self.tmp / "mapping.json"
        mapping_file.write_bytes(download.content)
        csv = self.tmp / "simda.csv"
        csv.write_bytes(content)
        out = io.StringIO()
        call_command(
            "import_assets", str(csv), "--mapping", str(mapping_file), "--dry-run", "--user", "officer", stdout=out
        )  # the officer: their agency is implied, as on the web
        self.assertIn("NM_BRG -> nama_barang", out.getvalue().replace("  ", ""))
        # the next upload of the agency offers the saved mapping, selected; with it the file is recognised
        form = self.client.get(reverse("import-list"))
        self.assertContains(form, f'<option value="{self.agency.pk}" selected>', html=False)
        job = self.upload("simda2.csv", content, saved_mapping=str(self.agency.pk))
        self.assertEqual((job.status, job.created, job.mapping), (ImportJob.Status.PREVIEWED, 3, saved.mapping))
        # a mapping file uploaded with the file is the same format
        job = self.upload("simda3.csv", content, mapping_file=SimpleUploadedFile("m.json", download.content))
        self.assertEqual(job.status, ImportJob.Status.PREVIEWED)
        wrong = SimpleUploadedFile("m.json", b'{"fields": {"nope": "A"}}')
        bad = self.client.post(
            reverse("import-list"), {"file": SimpleUploadedFile("x.csv", content), "mapping_file": wrong}
        )
        self.assertContains(bad, "The mapping file names unknown fields: nope")

    def test_two_columns_for_one_field_is_refused_on_the_page(self):
        rows = ["KD_BRG,NO_REG,NM_BRG,THN,ASAL_USUL,HARGA,LUAS", f"{KODE},1,Tanah,2001,Pembelian,1,1"]
        job = self.upload("simda.csv", "\n".join(rows).encode())
        names = [c["name"] for c in job.report["columns"]]
        post = {"action": "recheck"}
        for i, name in enumerate(names):
            post[f"column-{i}"] = "nama_barang" if name in ("NM_BRG", "THN") else ""
        page = self.client.post(reverse("import-detail", args=[job.pk]), post, follow=True)
        self.assertContains(page, "nama_barang is given by two columns, NM_BRG and THN: choose one.")
        job.refresh_from_db()
        self.assertEqual((job.status, job.mapping), (ImportJob.Status.REFUSED, {}))


class OverlapLookupPlanTests(ImportTestCase):
    def test_spatialite_looks_each_box_up_in_the_rtree(self):
        """The register lookup goes box by box through the R*Tree (SQLite once chose to scan the whole R*Tree)."""
        from django.db import connection

        from assets.transfer.importing import overlaps

        if connection.vendor != "sqlite":
            self.skipTest("SpatiaLite's query plan")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + overlaps._SPATIALITE, ["[[116.8, -1.3, 116.9, -1.2]]"])
            plan = [row[3] for row in cursor.fetchall()]
        self.assertTrue(plan[0].startswith("SCAN k"), plan)
        self.assertRegex(plan[1], r"^SCAN r VIRTUAL TABLE INDEX \d+:\w+", plan)  # constraints handed to the R*Tree
