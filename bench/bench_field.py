"""Field inventory benchmark: the package of a team with 2,000 parcels (size, download time over the Django handler
and over loopback HTTP) and a synchronisation of results with photos, cut half-way and sent again.

    .venv/bin/python bench/bench_field.py [--db sipanah_field_bench] [--parcels 2000] [--results 500] [--photos 50]
                                          [--photo-mb 2]

The database (PostGIS, created anew, migrated) and MEDIA_ROOT (a temporary folder) are the benchmark's own. The
demo register (``generate_demo_assets --seed 1``) gives the parcels; one campaign gives them all to one team.
Results go through Django's test client (the whole handler: JSON parse, package check, idempotent insert); each
photo goes through the evidence room's checks (sniffed, hashed, EXIF read, thumbnailed, stored). The "cut" sends
the first half, then everything again, as a phone does after losing the network: the second pass must write only
the missing half.
"""

# ruff: noqa: S603, S607, T201 - a benchmark runs fixed local commands and prints its table
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = ["-h", "127.0.0.1", "-U", "postgres"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sipanah_field_bench")
    parser.add_argument("--parcels", type=int, default=2000)
    parser.add_argument("--results", type=int, default=500)
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--photo-mb", type=float, default=2.0)
    args = parser.parse_args()

    subprocess.run(["dropdb", *PG, "--if-exists", args.db], check=True)
    subprocess.run(["createdb", *PG, args.db], check=True)
    subprocess.run(["psql", *PG, "-d", args.db, "-qc", "CREATE EXTENSION postgis"], check=True)
    media = Path(tempfile.mkdtemp(prefix="bench-field-"))
    os.environ.update(
        DATABASE_URL=f"postgis://postgres@127.0.0.1:5432/{args.db}", SIPANAH_DEBUG="1",
        SIPANAH_MEDIA_ROOT=str(media), SIPANAH_ALLOWED_HOSTS="testserver", SIPANAH_DEMO="1",
        DJANGO_SETTINGS_MODULE="sipanah.settings",
    )  # fmt: skip
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from assets.field import services
    from assets.field.models import FieldResult, ResultPhoto
    from assets.register import permissions
    from assets.register.models import User
    from bench.bench_evidence import photo

    call_command("migrate", verbosity=0)
    call_command("load_reference_data", verbosity=0)
    call_command("generate_demo_assets", count=args.parcels, seed=1, verbosity=0)
    settings.DEBUG = False
    permissions.ensure_role_groups()
    user = User.objects.create_user("lapangan", password="x")  # noqa: S106 - a throw-away database
    user.groups.add(Group.objects.get(name=permissions.BPKAD))
    campaign = services.campaign_create(
        user=None, name="Bench", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31), teams=[("Tim", [user])]
    )
    team = campaign.teams.get()
    client = Client()
    client.force_login(user)

    times, size = [], 0
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(reverse("field-api-package", args=[team.pk]))
        times.append(time.perf_counter() - started)
        size = len(response.content)
    package = json.loads(response.content)
    features = package["parcels"]["features"]
    print(f"package: {len(features)} parcels, {size / 1048576:.2f} MB, handler best {min(times):.2f} s, "
          f"median {sorted(times)[2]:.2f} s")  # fmt: skip

    n = min(args.results, len(features))
    bodies = [
        {"client_id": str(uuid.uuid4()), "assignment": f["properties"]["assignment"],
         "base_version": f["properties"]["version"], "found": "found", "condition": "baik", "occupation": "sendiri",
         "patok": True, "notes": "bench", "lon": 116.83, "lat": -1.25, "accuracy": 7}
        for f in features[:n]
    ]  # fmt: skip

    def send(batch: list[dict]) -> list[int]:
        return [
            client.post(reverse("field-api-results"), json.dumps(b), content_type="application/json",
                        headers={"X-Package": package["package"]}).status_code
            for b in batch
        ]  # fmt: skip

    started = time.perf_counter()
    first = send(bodies[: n // 2])
    cut = time.perf_counter() - started
    started = time.perf_counter()
    again = send(bodies)
    resumed = time.perf_counter() - started
    assert first.count(201) == n // 2 and again.count(200) == n // 2 and again.count(201) == n - n // 2
    assert FieldResult.objects.count() == n
    print(f"results: {n} sent as {n // 2} before the cut ({cut:.2f} s) then all {n} again ({resumed:.2f} s): "
          f"{FieldResult.objects.count()} rows")  # fmt: skip

    data = photo(1, int(args.photo_mb * 1_000_000))
    photo_ids = [str(uuid.uuid4()) for _ in range(args.photos)]

    def upload(indexes: range) -> list[int]:
        codes = []
        for i in indexes:
            url = reverse("field-api-photo", args=[bodies[i % n]["client_id"], photo_ids[i]])
            handle = io.BytesIO(data)
            handle.name = "foto.jpg"
            codes.append(client.post(url, {"photo": handle}, headers={"X-Package": package["package"]}).status_code)
        return codes

    started = time.perf_counter()
    upload(range(args.photos // 2))
    codes = upload(range(args.photos))
    took = time.perf_counter() - started
    assert ResultPhoto.objects.count() == args.photos, codes
    requests = args.photos + args.photos // 2
    print(f"photos: {args.photos} of {len(data) / 1048576:.1f} MB, half then all again: {took:.1f} s "
          f"({took / requests:.2f} s per request), {ResultPhoto.objects.count()} kept")  # fmt: skip


if __name__ == "__main__":
    main()
