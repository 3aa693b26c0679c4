"""Field inventory benchmark, over loopback HTTP to a real server (gunicorn, debug off): the package of a team of
2,000 parcels (size, download time), then 500 results and 500 photos of about 2 MB synchronised with the
connection cut half-way, and resumed.

    .venv/bin/python bench/bench_field.py [--db sipanah_field_bench] [--parcels 2000] [--results 500]
                                          [--photos 500] [--photo-mb 2] [--workers 2]

The database (PostGIS, created anew, migrated) and MEDIA_ROOT (a temporary folder) are the benchmark's own. The
demo register (``generate_demo_assets --seed 1``) gives the parcels; one campaign gives them to one team, and the
parcels beyond ``--parcels`` are moved to a second team (``services.assignments_move``) so that the package holds
exactly that many.

The cut, twice (results, then photos), as a phone loses the network: at item k the request is cut in the middle of
its body (the socket closed: the server must write nothing), at item k+1 the request is sent whole and the
connection closed before the answer is read (the server writes it; the phone does not know). The phone then sends
again everything it holds as not confirmed (k, k+1, … the rest): each result and each photo must be written once.

Floors measured in the same run: the package's parcels as GeoJSON by one raw SQL statement (ST_AsGeoJSON, no HTTP),
and a photo's bytes POSTed to the same server where the view reads the body and refuses it at once (the transfer
and the request's way through Django, without the evidence room's checks and storage).
"""

# ruff: noqa: S603, S607, T201 - a benchmark runs fixed local commands and prints its table
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = ["-h", "127.0.0.1", "-U", "postgres"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Phone:
    """A client holding the session and CSRF cookies, speaking HTTP/1.1 to the loopback server."""

    def __init__(self, port: int, session: str, package: str = "") -> None:
        self.port, self.csrf, self.package = port, secrets.token_hex(16), package
        self.cookie = f"sessionid={session}; csrftoken={self.csrf}"

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Cookie": self.cookie, "X-CSRFToken": self.csrf, "X-Package": self.package, "Host": "127.0.0.1",
                **(extra or {})}  # fmt: skip

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "") -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request(method, path, body=body or None, headers=self.headers(
                {"Content-Type": content_type} if content_type else {}))  # fmt: skip
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def raw(self, path: str, body: bytes, content_type: str, *, send: float, read_answer: bool) -> None:
        """Send the headers and ``send`` (0-1) of the body over a raw socket, then close it without reading."""
        head = [f"POST {path} HTTP/1.1", f"Content-Length: {len(body)}", f"Content-Type: {content_type}",
                "Connection: close"] + [f"{k}: {v}" for k, v in self.headers().items()]  # fmt: skip
        with socket.create_connection(("127.0.0.1", self.port), timeout=300) as s:
            s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            s.sendall(body[: int(len(body) * send)])
            if read_answer:
                s.recv(1)  # wait until the server has handled it, then drop the answer
            s.shutdown(socket.SHUT_RDWR)


def multipart(name: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()  # fmt: skip
    return body, f"multipart/form-data; boundary={boundary}"


def main() -> None:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sipanah_field_bench")
    parser.add_argument("--parcels", type=int, default=2000)
    parser.add_argument("--results", type=int, default=500)
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--photo-mb", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    subprocess.run(["dropdb", *PG, "--if-exists", args.db], check=True)
    subprocess.run(["createdb", *PG, args.db], check=True)
    subprocess.run(["psql", *PG, "-d", args.db, "-qc", "CREATE EXTENSION postgis"], check=True)
    media = Path(tempfile.mkdtemp(prefix="bench-field-"))
    server_env = {
        **os.environ, "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{args.db}", "SIPANAH_MEDIA_ROOT": str(media),
        "SIPANAH_SECRET_KEY": secrets.token_hex(32), "SIPANAH_HTTPS": "0", "SIPANAH_DEBUG": "0",
        "SIPANAH_ALLOWED_HOSTS": "127.0.0.1,testserver", "DJANGO_SETTINGS_MODULE": "sipanah.settings",
    }  # fmt: skip
    os.environ.update({**server_env, "SIPANAH_DEBUG": "1", "SIPANAH_DEMO": "1"})  # this process: migrations, data
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from assets.evidence.models import Document
    from assets.field import services
    from assets.field.models import FieldResult, ResultPhoto
    from assets.register import permissions
    from assets.register.models import User
    from bench.bench_evidence import photo

    call_command("migrate", verbosity=0)
    call_command("load_reference_data", verbosity=0)
    call_command("generate_demo_assets", count=int(args.parcels * 1.1), seed=1, verbosity=0)
    permissions.ensure_role_groups()
    user = User.objects.create_user("lapangan", password=secrets.token_hex(8))
    user.groups.add(Group.objects.get(name=permissions.BPKAD))
    campaign = services.campaign_create(
        user=None, name="Bench", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31),
        teams=[("Tim", [user])],
    )  # fmt: skip
    team = campaign.teams.get()
    extra = list(team.assignments.order_by("order").values_list("pk", flat=True)[args.parcels :])
    if extra:
        rest = campaign.teams.create(name="Sisa", leader=user)
        services.assignments_move(user=user, from_team=team, assignments=extra, to_team=rest)
    parcels = team.assignments.count()
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value

    port = free_port()
    server_log = Path(tempfile.mkdtemp(prefix="bench-field-log-")) / "gunicorn.log"
    print(f"server log: {server_log}")
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "sipanah.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(args.workers),
         "-t", "300", "--log-level", "warning"],
        cwd=ROOT, env=server_env, stdout=subprocess.DEVNULL, stderr=server_log.open("wb"),
    )  # fmt: skip
    try:
        phone = Phone(port, session)
        for _attempt in range(600):
            try:
                if phone.request("GET", reverse("field-api-teams"))[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)  # the server starting (not a measurement)
        load = os.getloadavg()[0]

        # --- the package over loopback -----------------------------------------------------------------------
        times, size, body = [], 0, b""
        for _ in range(5):
            started = time.perf_counter()
            status, body = phone.request("GET", reverse("field-api-package", args=[team.pk]))
            times.append(time.perf_counter() - started)
            assert status == 200, body[:200]
            size = len(body)
        package = json.loads(body)
        features = package["parcels"]["features"]
        assert len(features) == parcels == args.parcels, (len(features), parcels)
        ids = [f["id"] for f in features]
        sql_times = []
        for _ in range(5):
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id, ST_AsGeoJSON(geom, 6), kode_barang, nomor_register, nama_barang, alamat, version "
                    "FROM assets_landasset WHERE id = ANY(%s)", [ids])  # fmt: skip
                rows = cursor.fetchall()
            sql_times.append(time.perf_counter() - started)
        assert len(rows) == len(ids)
        print(f"load average {load:.1f} (1 min), {args.workers} gunicorn workers, PostgreSQL, loopback HTTP")
        print("| what | measured | floor (same run) | limit |")
        print("|---|---|---|---|")
        print(f"| package of {len(features)} parcels | {size / 1048576:.2f} MB; download best {min(times):.2f} s, "
              f"median {statistics.median(times):.2f} s | raw SQL of the parcels as GeoJSON (no HTTP): median "
              f"{statistics.median(sql_times):.2f} s ({statistics.median(times) / statistics.median(sql_times):.1f}x)"
              f" | 5 MB, 10 s |")  # fmt: skip

        # --- results, cut and resumed --------------------------------------------------------------------------
        phone.package = package["package"]
        n = min(args.results, len(features))
        bodies = [
            json.dumps({"client_id": str(uuid.uuid4()), "assignment": f["properties"]["assignment"],
                        "base_version": f["properties"]["version"], "found": "found", "condition": "baik",
                        "occupation": "sendiri", "patok": True, "notes": "bench", "lon": 116.83, "lat": -1.25,
                        "accuracy": 7}).encode()
            for f in features[:n]
        ]  # fmt: skip
        url = reverse("field-api-results")
        refused = []
        phone.package = str(uuid.uuid4())  # floor: the same requests refused at the package check (one query)
        for i in range(min(20, n)):
            started = time.perf_counter()
            assert phone.request("POST", url, bodies[i], "application/json")[0] == 403
            refused.append(time.perf_counter() - started)
        phone.package = package["package"]
        confirmed: dict[int, int] = {}
        cut = n // 2
        started = time.perf_counter()
        for i in range(cut):
            confirmed[i] = phone.request("POST", url, bodies[i], "application/json")[0]
        phone.raw(url, bodies[cut], "application/json", send=0.5, read_answer=False)  # cut mid-body
        phone.raw(url, bodies[cut + 1], "application/json", send=1.0, read_answer=True)  # the answer lost
        before_cut = time.perf_counter() - started
        written_at_cut = FieldResult.objects.count()
        started = time.perf_counter()
        pending = [i for i in range(n) if i not in confirmed]  # what the phone still holds as not confirmed
        answers = {i: phone.request("POST", url, bodies[i], "application/json")[0] for i in pending}
        resumed = time.perf_counter() - started
        sent_ids = [json.loads(b)["client_id"] for b in bodies]
        assert set(confirmed.values()) == {201} and written_at_cut == cut + 1, (set(confirmed.values()), written_at_cut)
        assert answers[cut] == 201 and answers[cut + 1] == 200, (answers[cut], answers[cut + 1])
        assert FieldResult.objects.count() == n == FieldResult.objects.filter(client_id__in=sent_ids).count()
        print(
            f"| {n} results, cut at {cut} (one cut mid-body, one answer lost), resumed | {before_cut:.1f} s + "
            f"{resumed:.1f} s; {FieldResult.objects.count()} rows, each once ({written_at_cut} at the cut: the "
            f"cut one not written, the lost answer's written and answered 200 on resume) | the same request refused at "
            f"the package check: median {statistics.median(refused):.3f} s (results "
            f"{(before_cut + resumed) / (n + 1) / statistics.median(refused):.1f}x) | completes, resumable |"
        )

        # --- photos, cut and resumed ---------------------------------------------------------------------------
        data = photo(1, int(args.photo_mb * 1_000_000))
        m = args.photos
        photo_ids = [str(uuid.uuid4()) for _ in range(m)]

        def form(i: int) -> tuple[bytes, str]:
            return multipart("photo", f"foto-{i}.jpg", data)

        def photo_url(i: int) -> str:
            return reverse("field-api-photo", args=[json.loads(bodies[i % n])["client_id"], photo_ids[i]])

        floor = []
        for i in range(10):
            started = time.perf_counter()
            status, _ = phone.request("POST", url, form(i)[0], "application/octet-stream")  # read whole, refused
            floor.append(time.perf_counter() - started)
            assert status == 400
        done: dict[int, int] = {}
        cut = m // 2
        started = time.perf_counter()
        per_photo = []
        for i in range(cut):
            t0 = time.perf_counter()
            done[i] = phone.request("POST", photo_url(i), *form(i))[0]
            per_photo.append(time.perf_counter() - t0)
        phone.raw(photo_url(cut), *form(cut), send=0.5, read_answer=False)
        phone.raw(photo_url(cut + 1), *form(cut + 1), send=1.0, read_answer=True)
        before_cut = time.perf_counter() - started
        kept_at_cut = ResultPhoto.objects.count()
        started = time.perf_counter()
        again = {i: phone.request("POST", photo_url(i), *form(i))[0] for i in range(m) if i not in done}
        resumed = time.perf_counter() - started
        assert set(done.values()) == {201} and kept_at_cut == cut + 1, (set(done.values()), kept_at_cut)
        assert again[cut] == 201 and again[cut + 1] == 200, (again[cut], again[cut + 1])
        assert ResultPhoto.objects.count() == m and Document.objects.filter(doc_type="FOTO_LAPANGAN").count() == m
        total_mb = len(data) * m / 1048576
        print(
            f"| {m} photos of {len(data) / 1048576:.2f} MB ({total_mb:.0f} MB), cut at {cut}, resumed | "
            f"{before_cut:.0f} s + {resumed:.0f} s ({(before_cut + resumed) / (m + 1):.2f} s per photo, median "
            f"{statistics.median(per_photo):.2f} s); {ResultPhoto.objects.count()} photos kept, each once | the "
            f"same bytes POSTed and refused unread by the evidence room: median {statistics.median(floor):.2f} s "
            f"({statistics.median(per_photo) / statistics.median(floor):.1f}x) | completes, resumable |"
        )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        connection.close()
        subprocess.run(["dropdb", *PG, "--if-exists", args.db], check=False)
        subprocess.run(["rm", "-rf", str(media)], check=False)


if __name__ == "__main__":
    main()
