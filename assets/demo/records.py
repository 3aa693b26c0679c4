"""What the demo generator yields (assets, certificates, stage events), its summary and its one error."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import shapely

from assets.register.models import CertificateStatus, PlottingStatus


class DemoError(ValueError):
    """The demo register cannot be generated as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class DemoEvent:
    from_stage: str
    to_stage: str
    tanggal: dt.date
    nomor_dokumen: str = ""
    catatan: str = ""


@dataclass(frozen=True, slots=True)
class DemoCertificate:
    stage: str
    stage_since: dt.date
    events: tuple[DemoEvent, ...]
    jenis_hak: str = ""
    nomor: str = ""
    tanggal: dt.date | None = None
    nib: str = ""
    atas_nama: str = ""
    luas_sertifikat_m2: Decimal | None = None
    nomor_surat_ukur: str = ""
    tanggal_surat_ukur: dt.date | None = None


@dataclass(frozen=True, slots=True)
class DemoAsset:
    kode_barang: str
    nomor_register: str
    nibar: str | None
    nama_barang: str
    alamat: str
    agency_code: str
    tanggal_perolehan: dt.date
    tahun_perolehan: int
    asal_usul: str
    nilai_perolehan: Decimal
    penggunaan: str
    luas_kib_m2: Decimal
    keterangan: str
    plotting_status: str
    geom: shapely.MultiPolygon | None  # lon/lat, SRID 4326
    luas_gis_m2: Decimal | None
    kelurahan_id: int | None
    kecamatan_id: int | None
    status_sertifikat: str
    tahap_sertifikat: str
    bermasalah: bool
    certificates: tuple[DemoCertificate, ...]


@dataclass
class DemoSummary:
    assets: int = 0
    located: int = 0
    approximate: int = 0
    without_geometry: int = 0
    certified: int = 0
    in_process: int = 0
    disputed: int = 0
    certificates: int = 0
    events: int = 0

    def add(self, asset: DemoAsset) -> None:
        self.assets += 1
        self.located += asset.plotting_status == PlottingStatus.LOCATED
        self.approximate += asset.plotting_status == PlottingStatus.APPROXIMATE
        self.without_geometry += asset.geom is None
        self.certified += asset.status_sertifikat == CertificateStatus.TERBIT
        self.in_process += asset.status_sertifikat == CertificateStatus.PROSES
        self.disputed += asset.bermasalah
        self.certificates += len(asset.certificates)
        self.events += sum(len(c.events) for c in asset.certificates)
