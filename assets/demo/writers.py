"""The demo register's writers: into the register (with history rows and stage events) or into a new GeoPackage."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import reset_queries, transaction
from simple_history.utils import bulk_create_with_history

from assets.demo.context import DemoContext, build_context
from assets.demo.generator import batched, generate_assets
from assets.demo.records import DemoAsset, DemoCertificate, DemoError, DemoSummary
from assets.demo.tables import AS_OF
from assets.lib import planner
from assets.register import history_validity, kib
from assets.register.geo import STORAGE_SRID
from assets.register.models import Certificate, CertificateStageEvent, LandAsset

if TYPE_CHECKING:
    from osgeo import ogr

DEFAULT_BATCH_SIZE = 2_000
PROGRESS_EVERY = 50_000
GPKG_LAYER = "land_assets"
GPKG_TRANSACTION_SIZE = 10_000
DEMO = "Demo data (generate_demo_assets)"  # the change reason on the history records

Progress = Callable[[int, int], None]


def _check_arguments(count: int, seed: int) -> None:
    if count < 1:
        raise DemoError("The count must be at least 1.")
    if seed < 0:
        raise DemoError("The seed must be zero or positive.")


def _report(progress: Progress | None, before: int, after: int, total: int) -> None:
    if progress and after // PROGRESS_EVERY > before // PROGRESS_EVERY:
        progress(after, total)


def populate_database(
    *,
    count: int,
    seed: int,
    existing: Literal["refuse", "append", "skip"] = "refuse",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> DemoSummary | None:
    """Write ``count`` demo assets with their certificates and events to the register, in one transaction.

    ``existing`` says what to do when the register already holds assets: refuse (DemoError), append
    (register numbers and NIBAR continue after the highest in use) or skip (write nothing, return None).
    """
    _check_arguments(count, seed)
    if batch_size < 1:
        raise DemoError("The batch size must be at least 1.")
    summary = DemoSummary()
    with transaction.atomic():
        if existing != "append" and LandAsset.objects.exists():
            if existing == "skip":
                return None
            raise DemoError("The register already holds assets: pass --append to add demo assets to them.")
        if not settings.SIPANAH_DEMO:
            raise DemoError("Demo assets are written to the database only when SIPANAH_DEMO=1 (never in production).")
        context = build_context(continue_numbering=existing == "append")
        growing = planner.GrowingTables(history_validity.GROWN_BY_BULK_WRITES)  # PostgreSQL: statistics kept current
        with history_validity.deferred_recount():  # SpatiaLite: one recount of the as-of totals at the end
            for batch in batched(generate_assets(context, count=count, seed=seed), batch_size):
                _insert(batch, context)
                growing.wrote(len(batch))
                before = summary.assets
                for asset in batch:
                    summary.add(asset)
                _report(progress, before, summary.assets, count)
                reset_queries()  # with DEBUG on, Django keeps every SQL string: megabytes per batch
    return summary


def _insert(batch: list[DemoAsset], context: DemoContext) -> None:
    # bulk_create sets the primary keys on PostGIS and on SQLite >= 3.35 (RETURNING), which the children need.
    # Assets and certificates get their "created" history record, as when they are saved through the services.
    assets = bulk_create_with_history([_land_asset(a, context) for a in batch], LandAsset, default_change_reason=DEMO)
    pairs = [
        (c, Certificate(asset_id=asset.pk, **_certificate_fields(c)))
        for a, asset in zip(batch, assets, strict=True)
        for c in a.certificates
    ]
    bulk_create_with_history([cert for _demo, cert in pairs], Certificate, default_change_reason=DEMO)
    CertificateStageEvent.objects.bulk_create(
        CertificateStageEvent(
            certificate_id=cert.pk, from_stage=e.from_stage, to_stage=e.to_stage, tanggal=e.tanggal,
            nomor_dokumen=e.nomor_dokumen, catatan=e.catatan,
        )
        for demo, cert in pairs
        for e in demo.events
    )  # fmt: skip


def _land_asset(asset: DemoAsset, context: DemoContext) -> LandAsset:
    geom = None if asset.geom is None else GEOSGeometry(memoryview(shapely.to_wkb(asset.geom)), srid=STORAGE_SRID)
    return LandAsset(
        kode_barang=asset.kode_barang,
        nomor_register=asset.nomor_register,
        nibar=asset.nibar,
        nama_barang=asset.nama_barang,
        alamat=asset.alamat,
        agency_id=context.agencies[asset.agency_code][0],
        tanggal_perolehan=asset.tanggal_perolehan,
        tahun_perolehan=asset.tahun_perolehan,
        asal_usul=asset.asal_usul,
        nilai_perolehan=asset.nilai_perolehan,
        penggunaan=asset.penggunaan,
        luas_kib_m2=asset.luas_kib_m2,
        keterangan=asset.keterangan,
        geom=geom,
        plotting_status=asset.plotting_status,
        luas_gis_m2=asset.luas_gis_m2,
        kelurahan_id=asset.kelurahan_id,
        kecamatan_id=asset.kecamatan_id,
        status_sertifikat=asset.status_sertifikat,
        tahap_sertifikat=asset.tahap_sertifikat,
        bermasalah=asset.bermasalah,
    )


def _certificate_fields(c: DemoCertificate) -> dict[str, object]:
    return {
        "jenis_hak": c.jenis_hak,
        "nomor": c.nomor,
        "tanggal": c.tanggal,
        "nib": c.nib,
        "atas_nama": c.atas_nama,
        "luas_sertifikat_m2": c.luas_sertifikat_m2,
        "nomor_surat_ukur": c.nomor_surat_ukur,
        "tanggal_surat_ukur": c.tanggal_surat_ukur,
        "stage": c.stage,
        "stage_since": c.stage_since,
    }


# GeoPackage columns: the exported KIB A columns an import reads back (assets.register.kib), the asset's and its
# first certificate's.
GPKG_COLUMNS: tuple[kib.Column, ...] = tuple(c for c in kib.EXPORTED if c.import_field)


def gpkg_row(asset: DemoAsset) -> tuple[object, ...]:
    """Values in GPKG_COLUMNS order, as OGR takes them (None = null)."""
    cert = asset.certificates[0] if asset.certificates else None
    values = {
        **{c.name: getattr(asset, c.name, None) for c in GPKG_COLUMNS if not c.from_certificate},
        "tanggal_perolehan": _iso(asset.tanggal_perolehan),
        "nilai_perolehan": int(asset.nilai_perolehan),
        "luas_kib_m2": float(asset.luas_kib_m2),
    }
    if cert is not None:
        values.update(
            {c.name: getattr(cert, c.source.removeprefix(kib.CERT)) for c in GPKG_COLUMNS if c.from_certificate}
        )
        values["tanggal_sertifikat"] = _iso(cert.tanggal)
        area = cert.luas_sertifikat_m2
        values["luas_sertifikat_m2"] = float(area) if area is not None else None
    return tuple(values.get(c.name) for c in GPKG_COLUMNS)


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def export_geopackage(*, count: int, seed: int, path: Path, progress: Progress | None = None) -> DemoSummary:
    """Write ``count`` demo assets to a new GeoPackage (layer land_assets, EPSG:4326); the register is untouched."""
    _check_arguments(count, seed)
    if path.exists():
        raise DemoError(f"{path} already exists: remove it or choose another file.")
    assets = generate_assets(build_context(), count=count, seed=seed)
    partial = path.with_name(f"{path.stem}.partial{path.suffix or '.gpkg'}")  # renamed only when complete
    try:
        summary = _write_gpkg(assets, partial, count, progress)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return summary


def _write_gpkg(assets: Iterable[DemoAsset], path: Path, count: int, progress: Progress | None) -> DemoSummary:
    from osgeo import gdal, ogr, osr  # a system package (python3-gdal); only this export needs it

    # No fsync per transaction, and a fixed timestamp in gpkg_contents so that the same seed gives the same file.
    options = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_CURRENT_DATE": f"{AS_OF.isoformat()}T00:00:00.000Z"}
    previous = {key: gdal.GetConfigOption(key) for key in options}
    for key, value in options.items():
        gdal.SetConfigOption(key, value)
    try:
        dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
        if dataset is None:
            raise DemoError(f"Cannot create the GeoPackage {path}: {gdal.GetLastErrorMsg()}")
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(STORAGE_SRID)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        try:
            layer = dataset.CreateLayer(GPKG_LAYER, srs, ogr.wkbMultiPolygon, ["GEOMETRY_NAME=geom", "FID=fid"])
            for column in GPKG_COLUMNS:
                layer.CreateField(ogr.FieldDefn(column.name, getattr(ogr, f"OFT{column.ogr}")))
            summary = _write_features(dataset, layer, assets, count, progress)
        finally:
            # Close now, also on failure: a traceback would keep it open while the partial file is removed.
            dataset.Destroy()
    finally:
        for key, value in previous.items():
            gdal.SetConfigOption(key, value)
    return summary


def _write_features(
    dataset: ogr.DataSource, layer: ogr.Layer, assets: Iterable[DemoAsset], count: int, progress: Progress | None
) -> DemoSummary:
    from osgeo import ogr

    definition = layer.GetLayerDefn()
    summary = DemoSummary()
    dataset.StartTransaction()
    for asset in assets:
        feature = ogr.Feature(definition)
        for i, value in enumerate(gpkg_row(asset)):
            if value is not None:
                feature.SetField(i, value)
        if asset.geom is not None:
            feature.SetGeometryDirectly(ogr.CreateGeometryFromWkb(shapely.to_wkb(asset.geom)))
        if layer.CreateFeature(feature) != ogr.OGRERR_NONE:
            raise DemoError(f"Cannot write feature {summary.assets + 1} to the GeoPackage.")
        summary.add(asset)
        if summary.assets % GPKG_TRANSACTION_SIZE == 0:
            dataset.CommitTransaction()
            dataset.StartTransaction()
        _report(progress, summary.assets - 1, summary.assets, count)
    dataset.CommitTransaction()
    return summary
