"""Shapefiles as GIS tools write them: DBF field names cut to 10 characters (kode_barang -> kode_baran), and the
names GDAL makes unique when two are cut alike (nama_baran, nama_bar_1). Written here by GDAL's own Shapefile
driver from a layer with the long names, as QGIS's "Save as" does."""

from __future__ import annotations

import contextlib
import zipfile
from pathlib import Path

from osgeo import gdal, ogr

from assets.models import LandAsset
from assets.register import kib
from assets.transfer.importing.mapping import CUT_NAMES, FieldMapping
from assets.transfer.importing.report import ImportFileError, ImportReport
from assets.transfer.importing.run import format_report, run_import
from tests.factories import import_messages as _messages
from tests.transfer.import_case import ImportTestCase, _srs

LONG = {"kode_barang": "1.3.1.01.01.01.001", "nomor_register": "7", "nama_barang": "Tanah Taman Kota",
        "agency_code": "1.01.01", "tanggal_perolehan": "2015-03-02", "tahun_perolehan": 2015, "asal_usul": "HIBAH",
        "nilai_perolehan": 125000000, "luas_kib_m2": 1500.5, "keterangan": "dipotong"}  # fmt: skip


def _field_names(path: Path) -> list[str]:
    dataset = ogr.Open(str(path))  # kept while its layer is read (GDAL's bindings crash otherwise)
    definition = dataset.GetLayer(0).GetLayerDefn()
    return [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]


class CutNameTests(ImportTestCase):
    def write_shapefile(self, fields: dict[str, object], name: str = "parcels") -> Path:
        folder = self.tmp / name
        folder.mkdir()
        path = folder / f"{name}.shp"
        dataset = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(str(path))
        layer = dataset.CreateLayer(name, _srs(4326), ogr.wkbPolygon, ["ENCODING=UTF-8"])
        gdal.PushErrorHandler("CPLQuietErrorHandler")  # "Normalized/laundered field name": the cut itself
        try:
            for field in fields:
                kind = ogr.OFTInteger64 if isinstance(fields[field], int) else ogr.OFTString
                layer.CreateField(ogr.FieldDefn(field, ogr.OFTReal if isinstance(fields[field], float) else kind))
        finally:
            gdal.PopErrorHandler()
        feature = ogr.Feature(layer.GetLayerDefn())
        for i, value in enumerate(fields.values()):
            feature.SetField(i, value)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(self.parcel().wkt))
        layer.CreateFeature(feature)
        dataset = None
        return path

    def zipped(self, shp: Path) -> Path:
        archive = shp.with_suffix(".zip")
        with zipfile.ZipFile(archive, "w") as zf:
            for member in shp.parent.iterdir():
                if member != archive:
                    zf.write(member, member.name)
        return archive

    def test_a_shapefile_saved_from_long_names_imports_and_says_how_it_read_them(self):
        shp = self.write_shapefile(LONG)
        self.assertEqual(_field_names(shp)[:3], ["kode_baran", "nomor_regi", "nama_baran"])  # what GDAL writes
        for path in (shp, self.zipped(shp)):
            report = run_import(path, dry_run=True)
            self.assertTrue(report.ok, _messages(report))
            self.assertEqual(report.unmapped_columns, [])
            self.assertEqual(report.mapping["kode_barang"], "kode_baran")
            self.assertEqual(report.mapping["luas_kib_m2"], "luas_kib_m")
            self.assertEqual(report.mapping["tanggal_perolehan"], "tanggal_pe")
            self.assertIn(
                "Column tanggal_pe read as tanggal_perolehan (Shapefile field names are cut to 10 "
                "characters; removed_at, cut alike, is never imported).",
                report.warnings,
            )
            for column, field in (("kode_baran", "kode_barang"), ("nama_baran", "nama_barang"),
                                  ("agency_cod", "agency"), ("nilai_pero", "nilai_perolehan")):  # fmt: skip
                self.assertIn(
                    f"Column {column} read as {field} (Shapefile field names are cut to 10 characters).",
                    report.warnings,
                )
            self.assertIn("! Column kode_baran read as kode_barang", format_report(report))
        report = run_import(self.zipped(shp))
        self.assertTrue(report.committed, _messages(report))
        asset = LandAsset.objects.get()
        self.assertEqual((asset.kode_barang, asset.nama_barang, asset.agency.code), tuple(
            LONG[k] for k in ("kode_barang", "nama_barang", "agency_code")))  # fmt: skip
        self.assertEqual((asset.nilai_perolehan, float(asset.luas_kib_m2)), (125000000, 1500.5))
        self.assertEqual(str(asset.tanggal_perolehan), "2015-03-02")

    def test_every_cut_of_every_spelling_is_recognised_in_a_dbf_only(self):
        fields = {name for names in CUT_NAMES.values() for name in names}
        self.assertIn("kode_barang", fields)
        self.assertGreater(len(CUT_NAMES), 20)
        for column in kib.COLUMNS:
            if column.import_field in ("", "wkt"):
                continue
            for spelling in column.spellings():
                if len(spelling) <= kib.DBF_NAME_LENGTH:
                    continue
                cut = kib.normalise_name(spelling[: kib.DBF_NAME_LENGTH])
                report = ImportReport(format="Shapefile")
                with contextlib.suppress(ImportFileError):  # the required fields the one column does not give
                    FieldMapping().resolve([cut], report)
                candidates = {kib.BY_NAME[n].import_field for n in CUT_NAMES.get(cut, ())} - {""}
                exact = FieldMapping().field_of(cut)
                if exact is not None:  # the cut is a spelling in full (asal_usul_perolehan -> asal_usul)
                    continue
                self.assertIn(column.import_field, candidates, cut)
                if candidates == {column.import_field}:
                    self.assertEqual(report.mapping.get(column.import_field), cut, f"{spelling} -> {cut}")
                    self.assertIn(f"Column {cut} read as {column.import_field} ", " ".join(report.warnings))
                else:  # shared by several columns: named, not guessed
                    self.assertNotIn(cut, report.mapping.values(), cut)
                    self.assertTrue(any(f"The column {cut} may be" in w for w in report.warnings), report.warnings)
        with self.assertRaisesRegex(ImportFileError, "No column gives kode_barang"):
            FieldMapping().resolve(["kode_baran", "nomor_regi", "nama_baran"], ImportReport(format="GeoPackage"))

    def test_names_cut_alike_are_named_not_guessed(self):
        # nama_barang and nama_barang_lama: GDAL writes nama_baran and nama_bar_1; which is which is lost
        shp = self.write_shapefile({**LONG, "nama_barang_lama": "Tanah Kosong"})
        self.assertEqual(_field_names(shp)[-1], "nama_bar_1")
        report = run_import(shp)
        self.assertFalse(report.committed)
        self.assertIn("The columns nama_baran, nama_bar_1 were cut alike to 10 characters", "\n".join(report.warnings))
        self.assertIn("No column gives nama_barang", _messages(report))
        mapping = FieldMapping(columns={"nama_barang": "nama_baran"})  # the way out the warning names
        report = run_import(shp, mapping=mapping)
        self.assertTrue(report.committed, _messages(report))
        self.assertEqual(LandAsset.objects.get().nama_barang, "Tanah Taman Kota")

    def test_a_cut_shared_by_two_fields_is_not_guessed(self):
        # sertifikat_no and sertifikat_tgl both cut to sertifikat (the second to sertifik_1)
        shp = self.write_shapefile({**LONG, "sertifikat_no": "123", "sertifikat_tgl": "2016-01-01"})
        report = run_import(shp, dry_run=True)
        self.assertTrue(report.ok, _messages(report))
        self.assertNotIn("nomor_sertifikat", report.mapping)
        self.assertNotIn("tanggal_sertifikat", report.mapping)
        self.assertEqual(report.unmapped_columns, ["sertifikat", "sertifik_1"])
        self.assertIn("sertifikat, sertifik_1 were cut alike", "\n".join(report.warnings))
        alone = self.write_shapefile({**LONG, "sertifikat_no": "123"}, name="alone")
        report = run_import(alone, dry_run=True)
        self.assertIn("The column sertifikat may be nomor_sertifikat / tanggal_sertifikat", "\n".join(report.warnings))
