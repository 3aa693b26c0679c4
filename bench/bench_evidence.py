"""Evidence benchmark: uploading photos of ~3 MB (checked, hashed, EXIF read, thumbnailed, stored) and the asset page
with 200 documents, each with a floor measured in the same run.

    .venv/bin/python bench/bench_evidence.py [--db sipanah_evidence_bench] [--photos 1000] [--page-docs 200] [--reps 30]

The database (PostGIS, created or emptied, migrated) and MEDIA_ROOT (a temporary folder) are the benchmark's own.
Upload arm: ``assets.evidence.services.document_add`` per photo (what the upload view runs per file, without HTTP);
its floor is writing the same bytes to a file and hashing them (the least any upload must do). Page arm: GET of the
asset page as a BPKAD user through Django's test client (the whole page: map, KIB table, documents panel with its
checklist and 200 cards, timeline); its floor is the raw SQL that fetches the same 200 documents and the asset.
"""

# ruff: noqa: S603, S607 - a benchmark runs fixed local commands on purpose
from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = ["-h", "127.0.0.1", "-U", "postgres"]


def photo(seed: int, target_bytes: int = 3_000_000) -> bytes:
    """A JPEG of about 3 MB (noise compresses badly, like a phone photo's detail), with EXIF GPS and direction."""
    from PIL import ExifTags, Image

    side = 1000
    while True:
        bands = [Image.effect_noise((side, side), 40 + 10 * ((seed + k) % 3)) for k in range(3)]
        image = Image.merge("RGB", bands)
        exif = Image.Exif()
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "S", (1.0, 15.0, 0.0)
        gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (116.0, 49.0, 48.0)
        gps[ExifTags.GPS.GPSImgDirection] = 90.0
        out = io.BytesIO()
        image.save(out, "JPEG", quality=97, exif=exif)
        if out.tell() >= target_bytes * 0.9 or side > 4000:
            return out.getvalue()
        side = int(side * 1.25)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sipanah_evidence_bench")
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--page-docs", type=int, default=200)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print where one page request spends its time")
    args = parser.parse_args()

    subprocess.run(["dropdb", *PG, "--if-exists", args.db], check=True)
    subprocess.run(["createdb", *PG, args.db], check=True)
    subprocess.run(["psql", *PG, "-d", args.db, "-qc", "CREATE EXTENSION postgis"], check=True)
    media = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    os.environ.update(
        DATABASE_URL=f"postgis://postgres@127.0.0.1:5432/{args.db}", SIPANAH_DEBUG="1",
        SIPANAH_MEDIA_ROOT=str(media), SIPANAH_ALLOWED_HOSTS="testserver", DJANGO_SETTINGS_MODULE="sipanah.settings",
    )  # fmt: skip
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # no query log, as in production
    from assets.evidence import services
    from assets.evidence.models import DocumentType
    from assets.register import permissions
    from tests.evidence.files import pdf_bytes
    from tests.factories import load_reference, make_asset, make_user, square

    load_reference()
    bpkad = make_user("bench-bpkad", permissions.BPKAD)
    rows: list[tuple[str, str, str]] = []

    # --- Upload of N photos of ~3 MB -------------------------------------------------------------------------
    samples = [photo(i) for i in range(4)]
    size_mb = statistics.mean(len(s) for s in samples) / 1e6
    asset = make_asset(geom=square(116.8300, -1.2500), nama_barang="Bench photos")
    fields = services.DocumentFields(doc_type=DocumentType.FOTO_LAPANGAN)
    started = time.perf_counter()
    for i in range(args.photos):
        services.document_add(asset=asset, user=bpkad, name=f"IMG_{i:04d}.jpg", data=samples[i % 4], fields=fields)
    upload_s = time.perf_counter() - started
    floor_dir = media / "floor"
    floor_dir.mkdir()
    started = time.perf_counter()
    for i in range(args.photos):
        data = samples[i % 4]
        hashlib.sha256(data).hexdigest()
        (floor_dir / f"{i}.jpg").write_bytes(data)
    floor_s = time.perf_counter() - started
    per_photo = f"{upload_s / args.photos * 1000:.0f} ms/photo, {args.photos * size_mb / upload_s:.1f} MB/s"
    rows.append((f"upload {args.photos} photos of {size_mb:.1f} MB (document_add)", f"{upload_s:.1f} s", per_photo))
    rows.append(("floor: write + SHA-256 of the same bytes", f"{floor_s:.1f} s",
                 f"{floor_s / args.photos * 1000:.1f} ms/photo"))  # fmt: skip

    # --- The asset page with 200 documents ------------------------------------------------------------------
    page_asset = make_asset(geom=square(116.8400, -1.2500), nama_barang="Bench 200 documents")
    small = [pdf_bytes(), photo(9, target_bytes=200_000)]
    kinds = list(DocumentType.values)
    for i in range(args.page_docs):
        name = f"doc-{i}.{'pdf' if i % 2 == 0 else 'jpg'}"
        doc_fields = services.DocumentFields(doc_type=kinds[i % len(kinds)])
        services.document_add(asset=page_asset, user=bpkad, name=name, data=small[i % 2], fields=doc_fields)
    client = Client()
    client.force_login(bpkad, backend="assets.register.permissions.RoleBackend")
    url = reverse("asset-detail", args=[page_asset.pk])
    assert client.get(url).status_code == 200
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(client.get, url)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(120)
    times = []
    for _ in range(args.reps):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and response.content.count(b'class="evidence-card"') == args.page_docs
    sql = (
        "SELECT d.id, d.doc_type, d.number, d.date, d.issuer, d.original_name, d.size, d.content_type, d.thumbnail, "
        "d.photo_lat, d.photo_lon, d.photo_direction, d.photo_distance_m, d.uploaded_at, u.username "
        "FROM assets_document d LEFT JOIN assets_user u ON u.id = d.uploaded_by_id "
        "WHERE d.asset_id = %s ORDER BY d.withdrawn_at, d.uploaded_at DESC, d.id DESC"
    )
    floor = []
    for _ in range(args.reps):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM assets_landasset WHERE id = %s", [page_asset.pk])
            cursor.fetchall()
            cursor.execute(sql, [page_asset.pk])
            assert len(cursor.fetchall()) == args.page_docs
        floor.append((time.perf_counter() - started) * 1000)

    def stats(values: list[float]) -> str:
        return f"median {statistics.median(values):.0f} ms, p90 {sorted(values)[int(len(values) * 0.9) - 1]:.0f} ms"

    rows.append((f"asset page with {args.page_docs} documents (GET, BPKAD)", stats(times), f"{args.reps} requests"))
    rows.append(("floor: raw SQL of the asset and its documents", stats(floor), f"{args.reps} runs"))

    print("| arm | time | note |\n|---|---|---|")
    for arm, value, note in rows:
        print(f"| {arm} | {value} | {note} |")
    connection.close()
    subprocess.run(["dropdb", *PG, "--if-exists", args.db], check=False)
    subprocess.run(["rm", "-rf", str(media)], check=False)


if __name__ == "__main__":
    main()
