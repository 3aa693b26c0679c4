"""Export then import gives back the same assets, in every format; what the export files carry."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext

from assets.models import Agency, LandAsset, Stage
from assets.register import kib, services
from assets.transfer import exports
from assets.transfer.importing.run import run_import
from tests.factories import every_record, make_asset
from tests.factories import import_messages as _messages
from tests.transfer.import_case import ImportTestCase


class RoundTripTests(ImportTestCase):
    """Export then import gives back the same assets, in every format."""

    def make_register(self) -> None:
        issued = make_asset(agency=self.agency, geom=self.parcel(), nibar="6471000000001", nama_barang="Tanah SD Café")
        services.certificate_create(
            asset=issued, user=None, stage=Stage.SERTIFIKAT_TERBIT, tanggal_tahap=dt.date(2015, 3, 2),
            jenis_hak="HP", nomor="16.01.05.02.4.00123", tanggal=dt.date(2015, 3, 2), nib="16010502000123",
            atas_nama="Pemerintah Kota Balikpapan", luas_sertifikat_m2=Decimal("1999.50"),
        )  # fmt: skip
        in_process = make_asset(agency=self.agency, geom=self.parcel("64.71.02.1001"), alamat="Jl. Soekarno-Hatta")
        services.certificate_create(
            asset=in_process, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=dt.date(2024, 1, 5)
        )
        make_asset(agency=Agency.objects.get(code="1.02.01"), geom=None, keterangan="Lokasi belum diketahui")

    def snapshot(self) -> list[tuple]:
        rows = []
        for a in LandAsset.objects.order_by("kode_barang", "nomor_register"):
            cert = a.certificates.first()
            rows.append((
                a.kode_barang, a.nomor_register, a.nibar, a.nama_barang, a.alamat, a.agency_id, a.tanggal_perolehan,
                a.tahun_perolehan, a.asal_usul, a.nilai_perolehan, a.penggunaan, a.luas_kib_m2, a.keterangan,
                a.plotting_status, a.luas_gis_m2, a.kelurahan_id, a.status_sertifikat, a.tahap_sertifikat,
                cert and (cert.jenis_hak, cert.nomor, cert.tanggal, cert.nib, cert.luas_sertifikat_m2, cert.stage),
            ))  # fmt: skip
        return rows

    def round_trip(self, fmt: str, srid: int = 4326) -> None:
        self.make_register()
        before = self.snapshot()
        geoms = {a.nomor_register: a.geom for a in LandAsset.objects.all()}
        path = self.tmp / f"export{exports.FORMATS[fmt].suffix}"
        self.assertEqual(exports.write_export(every_record(), fmt=fmt, path=path, srid=srid), 3)
        LandAsset.objects.all().delete()
        report = run_import(path)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual((report.created, report.updated, report.without_geometry), (3, 0, 1))
        after = self.snapshot()
        for row_before, row_after in zip(before, after, strict=True):
            self.assertEqual(row_before[:14], row_after[:14])
            self.assertAlmostEqual(float(row_before[14] or 0), float(row_after[14] or 0), delta=0.05)
            self.assertEqual(row_before[15:], row_after[15:])
        for asset in LandAsset.objects.exclude(geom=None):
            expected = geoms[asset.nomor_register].normalize(clone=True)
            self.assertTrue(asset.geom.normalize(clone=True).equals_exact(expected, tolerance=1e-7))

    def test_geojson(self):
        self.round_trip("geojson")

    def test_geopackage(self):
        self.round_trip("gpkg")

    def test_geopackage_in_tm3(self):
        self.round_trip("gpkg", srid=23837)

    def test_shapefile_zip(self):
        self.round_trip("shp")

    def test_kml(self):
        self.round_trip("kml")

    def test_csv(self):
        self.round_trip("csv")

    def test_csv_in_tm3(self):
        self.round_trip("csv", srid=23837)

    def test_xlsx(self):
        self.round_trip("xlsx")

    def test_shapefile_zip_has_prj_and_cpg(self):
        self.make_register()
        path = self.tmp / "e.zip"
        exports.write_export(every_record(), fmt="shp", path=path, srid=23837)
        with zipfile.ZipFile(path) as archive:
            names = sorted(archive.namelist())
            self.assertEqual([Path(n).suffix for n in names], [".cpg", ".dbf", ".prj", ".shp", ".shx"])
            self.assertIn("UTF-8", archive.read("land_assets.cpg").decode())
            self.assertIn("TM-3", archive.read("land_assets.prj").decode().replace("_", "-"))

    def test_xlsx_has_the_kib_a_columns(self):
        from openpyxl import load_workbook

        self.make_register()
        path = self.tmp / "kib.xlsx"
        exports.write_export(every_record(), fmt="xlsx", path=path)
        header = [c.value for c in next(load_workbook(path, read_only=True)["KIB A"].iter_rows(max_row=1))]
        self.assertEqual(header[:4], ["No", "Nama Barang / Jenis Barang", "Kode Barang", "Nomor Register"])
        evidence_columns = [gettext("Documents"), gettext("Document checklist")]  # assets.evidence, after the KIB A's
        self.assertEqual(
            header[1:], [c.label for c in kib.xlsx_columns()] + ["Geometri WKT (EPSG:4326)", *evidence_columns]
        )
