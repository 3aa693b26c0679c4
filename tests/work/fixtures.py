"""A small register with work waiting for two agencies (A and B), and a user per role."""

from __future__ import annotations

import datetime as dt

from django.core.files.base import ContentFile
from django.utils import timezone

from assets.evidence import services as evidence_services
from assets.evidence.models import StoragePlace
from assets.models import Agency, ImportJob, JenisHak, Stage
from assets.register import permissions, services
from tests.factories import load_reference, make_asset, make_user, point_inside, square

TODAY = timezone.localdate()
HALF = 0.0005  # a square of about 110 m x 110 m: some 12,000 m² of GIS area against 1,200 m² in the KIB


def stuck_case(asset, days: int):
    return services.certificate_create(
        asset=asset, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=TODAY - dt.timedelta(days=days)
    )


def issued(asset, nomor: str):
    certificate = services.certificate_create(asset=asset, user=None)
    certificate.jenis_hak, certificate.nomor, certificate.tanggal = JenisHak.HP, nomor, dt.date(2020, 1, 2)
    certificate.stage = Stage.SERTIFIKAT_TERBIT
    services.certificate_save(certificate=certificate, user=None)
    return certificate


def job(user, status: str, *, commit: bool = False) -> ImportJob:
    made = ImportJob(user=user, original_name=f"{user.username}-{status}.geojson", status=status, commit=commit)
    made.file.save("a.geojson", ContentFile(b'{"type": "FeatureCollection", "features": []}'), save=True)
    return made


def build_register() -> dict:
    """Agency A: 1 stuck case, 1 parcel without location, 1 area mismatch, 1 import to confirm.
    Agency B: 1 stuck case, 2 parcels without location, 2 area mismatches, 1 import to confirm, 1 loan overdue.
    Every count differs between A and B, so a count from the wrong agency shows."""
    load_reference()
    agency_a, agency_b = Agency.objects.order_by("code")[:2]
    users = {
        "officer_a": make_user("officer_a", permissions.OFFICER, agency_a),
        "officer_b": make_user("officer_b", permissions.OFFICER, agency_b),
        "bpkad": make_user("bpkad", permissions.BPKAD),
        "auditor": make_user("auditor", permissions.AUDITOR),
        "planner": make_user("planner", permissions.PLANNER),
        "admin": make_user("admin", permissions.ADMIN),
    }
    lon, lat = point_inside("64.71.01.1002")
    # Agency A
    a_unlocated = make_asset(agency_a, nama_barang="Tanah A tanpa lokasi")
    stuck_case(a_unlocated, 400)
    make_asset(agency_a, geom=square(lon, lat, HALF), nama_barang="Tanah A selisih luas")
    # Agency B
    make_asset(agency_b, nama_barang="Tanah B tanpa lokasi 1")
    b_stuck = make_asset(agency_b, nama_barang="Tanah B tanpa lokasi 2")
    stuck_case(b_stuck, 300)
    make_asset(agency_b, geom=square(lon + 0.003, lat, HALF), nama_barang="Tanah B selisih 1")
    lent = make_asset(agency_b, geom=square(lon + 0.006, lat, HALF), nama_barang="Tanah B selisih 2")
    certificate = issued(lent, "00077")
    place = StoragePlace.objects.create(code="BR-01", name="Brankas BPKAD", kind=StoragePlace.Kind.BRANKAS)
    evidence_services.custody_store(certificate=certificate, place=place, user=None, date=TODAY - dt.timedelta(60))
    evidence_services.custody_lend(
        certificate=certificate, user=None, borrower="Bagian Hukum", purpose="Sidang",
        date=TODAY - dt.timedelta(40), due_date=TODAY - dt.timedelta(10),
    )  # fmt: skip
    # Imports
    job(users["officer_a"], ImportJob.Status.PREVIEWED)
    job(users["officer_a"], ImportJob.Status.DONE, commit=True)
    job(users["officer_a"], ImportJob.Status.PREVIEWED, commit=True)  # confirmed, waiting for the worker: not work
    job(users["officer_b"], ImportJob.Status.PREVIEWED)
    return {"users": users, "a": agency_a, "b": agency_b}
