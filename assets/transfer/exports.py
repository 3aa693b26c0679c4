"""Export a filtered selection of the register: GeoJSON, GeoPackage, Shapefile (zip), KML, CSV (WKT) and XLSX.

Vector formats are written by GDAL/OGR (it knows each format's rules: .prj/.cpg, KML's lon/lat, GeoPackage
metadata); XLSX by openpyxl in write-only mode, in the KIB A layout. Assets are read with ``iterator()`` in
chunks and written to a temporary file, so memory stays bounded whatever the selection's size; the web view
streams that file. Column names are the ones :mod:`assets.importers` recognises, so an export imports back.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from osgeo import gdal, ogr, osr

from assets.register import place
from assets.register.models import Certificate, LandAsset

gdal.UseExceptions()
ogr.UseExceptions()

CHUNK = 2000


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    suffix: str
    content_type: str
    driver: str | None  # OGR driver; None: written by openpyxl


FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("geojson", "GeoJSON", ".geojson", "application/geo+json", "GeoJSON"),
        ExportFormat("gpkg", "GeoPackage", ".gpkg", "application/geopackage+sqlite3", "GPKG"),
        ExportFormat("shp", "Shapefile (zip)", ".zip", "application/zip", "ESRI Shapefile"),
        ExportFormat("kml", "KML", ".kml", "application/vnd.google-earth.kml+xml", "LIBKML"),
        ExportFormat("csv", "CSV (WKT)", ".csv", "text/csv", "CSV"),
        ExportFormat(
            "xlsx", "XLSX (KIB A)", ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None
        ),
    )
}


class ExportError(ValueError):
    pass


# (long name, Shapefile name of at most 10 characters, OGR type): the importer knows both spellings.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("kode_barang", "kode_brg", ogr.OFTString),
    ("nomor_register", "no_reg", ogr.OFTString),
    ("nibar", "nibar", ogr.OFTString),
    ("nama_barang", "nama", ogr.OFTString),
    ("alamat", "alamat", ogr.OFTString),
    ("agency_code", "opd", ogr.OFTString),
    ("tanggal_perolehan", "tgl_oleh", ogr.OFTDate),
    ("tahun_perolehan", "thn_oleh", ogr.OFTInteger),
    ("asal_usul", "asal_usul", ogr.OFTString),
    ("nilai_perolehan", "nilai", ogr.OFTInteger64),
    ("penggunaan", "guna", ogr.OFTString),
    ("luas_kib_m2", "luas_kib", ogr.OFTReal),
    ("keterangan", "ket", ogr.OFTString),
    ("plotting_status", "plotting", ogr.OFTString),
    ("luas_gis_m2", "luas_gis", ogr.OFTReal),
    ("kelurahan", "kelurahan", ogr.OFTString),
    ("kecamatan", "kecamatan", ogr.OFTString),
    ("status_sertifikat", "status_srt", ogr.OFTString),
    ("jenis_hak", "hak", ogr.OFTString),
    ("nomor_sertifikat", "no_sert", ogr.OFTString),
    ("tanggal_sertifikat", "tgl_sert", ogr.OFTDate),
    ("nib", "nib", ogr.OFTString),
    ("atas_nama", "atas_nama", ogr.OFTString),
    ("luas_sertifikat_m2", "luas_sert", ogr.OFTReal),
    ("stage", "tahap", ogr.OFTString),
)


def _leading_certificate(asset: LandAsset) -> Certificate | None:
    """The certificate whose stage the asset shows (the one an import would recreate)."""
    certificates = list(asset.certificates.all())
    for certificate in certificates:
        if certificate.stage == asset.tahap_sertifikat:
            return certificate
    return certificates[0] if certificates else None


def asset_values(asset: LandAsset) -> dict[str, Any]:
    cert = _leading_certificate(asset)
    return {
        "kode_barang": asset.kode_barang,
        "nomor_register": asset.nomor_register,
        "nibar": asset.nibar,
        "nama_barang": asset.nama_barang,
        "alamat": asset.alamat,
        "agency_code": asset.agency.code,
        "tanggal_perolehan": asset.tanggal_perolehan,
        "tahun_perolehan": asset.tahun_perolehan,
        "asal_usul": asset.asal_usul,
        "nilai_perolehan": int(asset.nilai_perolehan),
        "penggunaan": asset.penggunaan,
        "luas_kib_m2": float(asset.luas_kib_m2),
        "keterangan": asset.keterangan,
        "plotting_status": asset.plotting_status,
        "luas_gis_m2": float(asset.luas_gis_m2) if asset.luas_gis_m2 is not None else None,
        "kelurahan": asset.kelurahan.name if asset.kelurahan_id else None,
        "kecamatan": asset.kecamatan.name if asset.kecamatan_id else None,
        "status_sertifikat": asset.status_sertifikat,
        "jenis_hak": cert.jenis_hak if cert else None,
        "nomor_sertifikat": cert.nomor if cert else None,
        "tanggal_sertifikat": cert.tanggal if cert else None,
        "nib": cert.nib if cert else None,
        "atas_nama": cert.atas_nama if cert else None,
        "luas_sertifikat_m2": float(cert.luas_sertifikat_m2) if cert and cert.luas_sertifikat_m2 is not None else None,
        "stage": cert.stage if cert else None,
    }


def _srs(srid: int) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(srid)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def write_export(records: Iterable[Any], *, fmt: str, path: Path, srid: int = 4326) -> int:
    """Write ``records`` (a selection's, assets.register.reads: LandAssets, or as of a date records that read like
    them) to ``path`` in ``fmt``; returns the number of assets written."""
    if fmt not in FORMATS:
        raise ExportError(
            _("Unknown export format %(format)s (known: %(known)s).") % {"format": fmt, "known": ", ".join(FORMATS)}
        )
    allowed = place.city().export_srids
    if srid not in allowed:
        raise ExportError(
            _("Exports are in %(allowed)s, not EPSG:%(srid)s.")
            % {"allowed": ", ".join(f"EPSG:{code}" for code in allowed), "srid": srid}
        )
    if fmt == "kml" and srid != 4326:
        raise ExportError(_("KML is always longitude/latitude (EPSG:4326)."))
    if fmt == "xlsx":
        return _write_xlsx(records, path, srid)
    if fmt == "shp":
        folder = Path(tempfile.mkdtemp(prefix="sipanah-shp-", dir=path.parent))
        try:
            count = _write_ogr(records, FORMATS[fmt], folder / "land_assets.shp", srid)
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for member in sorted(folder.iterdir()):
                    archive.write(member, member.name)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return count
    return _write_ogr(records, FORMATS[fmt], path, srid)


def _write_ogr(records: Iterable[Any], fmt: ExportFormat, path: Path, srid: int) -> int:
    short = fmt.key == "shp"
    driver = ogr.GetDriverByName(fmt.driver)
    dataset = driver.CreateDataSource(str(path))
    layer_options = {
        "shp": ["ENCODING=UTF-8"],  # writes the .cpg
        "csv": ["CREATE_CSVT=NO", "SEPARATOR=COMMA"],
        "geojson": ["RFC7946=YES"] if srid == 4326 else [],
        "gpkg": ["GEOMETRY_NAME=geom"],
    }.get(fmt.key, [])
    csv = fmt.key == "csv"
    # CSV has no place for a CRS: the geometry goes as WKT into a column whose name carries it (the importer reads it).
    layer = dataset.CreateLayer("land_assets", _srs(srid), ogr.wkbNone if csv else ogr.wkbMultiPolygon, layer_options)
    if csv:
        layer.CreateField(ogr.FieldDefn(f"wkt_epsg_{srid}", ogr.OFTString))
    for long_name, short_name, kind in COLUMNS:
        if fmt.key in ("csv", "kml") and kind == ogr.OFTDate:  # neither has a date type: ISO text
            kind = ogr.OFTString
        definition = ogr.FieldDefn(short_name if short else long_name, kind)
        if short and kind == ogr.OFTString:
            definition.SetWidth(254)
        layer.CreateField(definition)
    definition = layer.GetLayerDefn()
    # By name: some drivers (KML) add fields of their own before ours.
    indexes = [definition.GetFieldIndex(short_name if short else long_name) for long_name, short_name, _k in COLUMNS]
    transform = None if srid == 4326 else osr.CoordinateTransformation(_srs(4326), _srs(srid))
    transactions = fmt.key == "gpkg"
    if transactions:
        dataset.StartTransaction()
    count = 0
    for asset in records:
        feature = ogr.Feature(definition)
        values = asset_values(asset)
        for i, (long_name, _short, _kind) in zip(indexes, COLUMNS, strict=True):
            value = values[long_name]
            if value is None or value == "":
                continue
            feature.SetField(i, value.isoformat() if hasattr(value, "isoformat") else value)
        if asset.geom is not None:
            geometry = ogr.CreateGeometryFromWkb(bytes(asset.geom.wkb))
            if transform is not None:
                geometry.Transform(transform)
            if csv:
                feature.SetField(0, geometry.ExportToIsoWkt())
            else:
                feature.SetGeometryDirectly(geometry)
        layer.CreateFeature(feature)
        count += 1
        if transactions and count % 10000 == 0:
            dataset.CommitTransaction()
            dataset.StartTransaction()
    if transactions:
        dataset.CommitTransaction()
    dataset = None  # noqa: F841 - closing flushes the file
    return count


# KIB A (Permendagri 47/2021, SIMDA BMD layout): the 14 columns, then NIBAR, GIS area, certificate stage,
# and what an import needs to rebuild the asset (agency, certificate details, geometry as WKT).
XLSX_HEADER = (
    "No", "Nama Barang / Jenis Barang", "Kode Barang", "Nomor Register", "Luas (M2)", "Tahun Pengadaan",
    "Letak / Alamat", "Status Tanah: Hak", "Sertifikat Tanggal", "Sertifikat Nomor", "Penggunaan", "Asal Usul",
    "Harga (Rp)", "Keterangan", "NIBAR", "Luas GIS (M2)", "Tahap Sertifikat", "Kode OPD", "Tanggal Perolehan",
    "NIB", "Atas Nama", "Luas Sertifikat (M2)",
)  # fmt: skip


def _write_xlsx(records: Iterable[Any], path: Path, srid: int) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("KIB A")
    sheet.append([*XLSX_HEADER, f"Geometri WKT (EPSG:{srid})"])
    transform = None if srid == 4326 else osr.CoordinateTransformation(_srs(4326), _srs(srid))
    count = 0
    for count, asset in enumerate(records, start=1):
        v = asset_values(asset)
        wkt = None
        if asset.geom is not None:
            geometry = ogr.CreateGeometryFromWkb(bytes(asset.geom.wkb))
            if transform is not None:
                geometry.Transform(transform)
            wkt = geometry.ExportToIsoWkt()
        sheet.append([
            count, v["nama_barang"], v["kode_barang"], v["nomor_register"], v["luas_kib_m2"], v["tahun_perolehan"],
            v["alamat"], v["jenis_hak"], v["tanggal_sertifikat"], v["nomor_sertifikat"], v["penggunaan"],
            v["asal_usul"], v["nilai_perolehan"], v["keterangan"], v["nibar"], v["luas_gis_m2"], v["stage"],
            v["agency_code"], v["tanggal_perolehan"], v["nib"], v["atas_nama"], v["luas_sertifikat_m2"], wkt,
        ])  # fmt: skip
    workbook.save(path)
    return count
