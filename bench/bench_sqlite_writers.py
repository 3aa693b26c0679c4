"""Sign-ins and edits on the embedded database (SpatiaLite) while a large import writes (hardening finding 8).

    .venv/bin/python bench/bench_sqlite_writers.py [--count 100000] [--workload demo|grid|both] [--folder var/bench]

For each workload, a fresh SpatiaLite file is migrated and given the reference data and the demo users; a threaded
``runserver`` serves it. Then, in one run:

- **floor**: sign-in + edit cycles (the login form, then the asset's edit form loaded and posted) with nothing else
  writing: what a cycle costs on this machine;
- **import alone**: ``manage.py import_assets FILE`` of ``--count`` parcels into a copy of the same register that
  nobody else uses;
- **import with users**: the same import while a user signs in and edits in a loop until the import ends: every
  answer's status, the cycle latencies, and the import's wall time.

Workloads: ``demo`` is the demo generator's GeoPackage (``generate_demo_assets --out``: certificates, stages,
clustered parcels); ``grid`` is a plainly made register: a grid of 20 m squares with only the required KIB A
columns and no certificate, written with OGR.
"""

# ruff: noqa: S603, S105, E501, T201 - fixed local commands (manage.py), the demo password, a wide table printed
from __future__ import annotations

import argparse
import html
import math
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
PASSWORD = "sipanah-demo"  # assets.demo.users
EDITED = "999999"  # the register number of the asset the users edit: no workload file uses it


def manage(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if log:
        log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


def grid_gpkg(path: Path, count: int) -> None:
    """``count`` 20 m squares east of the city centre with the required columns only (no certificates).

    Up to 160,000 parcels the grid is 400 squares wide (as every earlier 100k grid); a larger one is square
    (1,000 x 1,000 at 1M: 116.84-117.11 E, 1.235-1.505 S) so that it stays by the city instead of running 2,500 rows
    south. A register number has at most 6 digits, so every 999,999 parcels the kode barang's last part goes up.
    """
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = source.CreateLayer("parcels", srs, ogr.wkbMultiPolygon)
    for name, kind in [("kode_barang", ogr.OFTString), ("nomor_register", ogr.OFTString),
                       ("nama_barang", ogr.OFTString), ("agency_code", ogr.OFTString),
                       ("tahun_perolehan", ogr.OFTInteger), ("asal_usul", ogr.OFTString),
                       ("nilai_perolehan", ogr.OFTInteger64), ("luas_kib_m2", ogr.OFTReal)]:  # fmt: skip
        layer.CreateField(ogr.FieldDefn(name, kind))
    side = 0.00018  # about 20 m at Balikpapan's latitude
    columns = max(400, math.ceil(math.sqrt(count)))
    layer.StartTransaction()
    for i in range(count):
        x, y = 116.84 + (i % columns) * side * 1.5, -1.235 - (i // columns) * side * 1.5
        feature = ogr.Feature(layer.GetLayerDefn())
        kode, number = f"1.3.1.01.01.01.{i // 999_999 + 1:03d}", i % 999_999 + 1
        for name, value in [("kode_barang", kode), ("nomor_register", f"{number:06d}"),
                            ("nama_barang", f"Tanah Kavling {i + 1}"), ("agency_code", "1.01.01"),
                            ("tahun_perolehan", 2001), ("asal_usul", "Pembelian"),
                            ("nilai_perolehan", 100_000_000), ("luas_kib_m2", 400.0)]:  # fmt: skip
            feature.SetField(name, value)
        ring = f"{x} {y},{x + side} {y},{x + side} {y + side},{x} {y + side},{x} {y}"
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"MULTIPOLYGON((({ring})))"))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    source = None


class LockProbe(threading.Thread):
    """How long the database's write lock was held at a stretch: every 50 ms a ``BEGIN IMMEDIATE`` that does not
    wait (busy timeout 0), rolled back at once. The longest run of refusals is the longest a writer had to wait."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database, self.running, self.spans = database, True, []

    def run(self) -> None:
        probe = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        held_since = None
        while self.running:
            now = time.monotonic()
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                if held_since is not None:
                    self.spans.append(now - held_since)
                    held_since = None
            except sqlite3.OperationalError:
                held_since = held_since or now
            time.sleep(0.05)
        if held_since is not None:
            self.spans.append(time.monotonic() - held_since)
        probe.close()

    def stop(self) -> str:
        self.running = False
        self.join()
        longest = max(self.spans, default=0.0)
        return f"{len(self.spans)} holds, longest {longest:.1f} s, {sum(self.spans):.0f} s in all"


class User:
    """One browser: signs in as ``bpkad`` and saves the edit form of one asset, as a person would."""

    def __init__(self, url: str, asset: int) -> None:
        self.url, self.asset = url, asset

    def cycle(self, note: str) -> tuple[list[int], float]:
        started = time.monotonic()
        session = requests.Session()
        page = session.get(f"{self.url}/accounts/login/", timeout=120)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
        login = session.post(f"{self.url}/accounts/login/", timeout=120, allow_redirects=False,
                             data={"username": "bpkad", "password": PASSWORD, "csrfmiddlewaretoken": token})  # fmt: skip
        form = session.get(f"{self.url}/assets/{self.asset}/edit/", timeout=120)
        data = {k: html.unescape(v) for k, v in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.text)}
        for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', form.text, re.S):
            data[name] = html.unescape(value.strip())
        for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form.text, re.S):
            chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
            data[name] = chosen[1] if chosen else ""
        data["keterangan"] = note
        edit = session.post(f"{self.url}/assets/{self.asset}/edit/", data=data, timeout=120, allow_redirects=False)
        if edit.status_code == 200 and os.environ.get("BENCH_DEBUG"):
            print(re.findall(r'class="[^"]*error[^"]*"[^>]*>(.*?)<', edit.text, re.S)[:5], file=sys.stderr)
        return [page.status_code, login.status_code, form.status_code, edit.status_code], time.monotonic() - started


def summary(name: str, seconds: list[float], codes: list[list[int]], wall: float | None, held: str = "") -> str:
    ok = sum(1 for c in codes if c == [200, 302, 200, 302])
    p = statistics.quantiles(seconds, n=20, method="inclusive") if len(seconds) >= 2 else seconds * 19
    return (f"| {name} | {len(seconds)} | {ok} | {len(seconds) - ok} | {statistics.median(seconds) * 1000:.0f} | "
            f"{p[18] * 1000:.0f} | {max(seconds) * 1000:.0f} | {'' if wall is None else f'{wall:.0f}'} | {held} |")  # fmt: skip


def run(workload: str, count: int, folder: Path) -> list[str]:
    work = folder / f"writers-{workload}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    database = work / "bench.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"spatialite:///{database}", "SIPANAH_DEBUG": "1", "SIPANAH_DEMO": "1",
           "SIPANAH_MEDIA_ROOT": str(work / "media")}  # fmt: skip
    manage(env, "migrate", "--no-input")
    manage(env, "load_reference_data")
    manage(env, "create_demo_users")
    script = (
        "from assets.models import Agency, LandAsset, User; from assets.register import services; "
        "from django.contrib.gis.geos import GEOSGeometry; import datetime; "
        "g = GEOSGeometry('SRID=4326;MULTIPOLYGON(((116.83 -1.25,116.8302 -1.25,116.8302 -1.2498,116.83 -1.2498,"
        "116.83 -1.25)))'); "
        "a = services.asset_create(user=None, agency=Agency.objects.get(code='1.01.01'),"
        f" kode_barang='1.3.1.01.01.01.001', nomor_register='{EDITED}', nama_barang='Tanah Uji', "
        "tahun_perolehan=2001, tanggal_perolehan=datetime.date(2001, 1, 1), asal_usul='PEMBELIAN', "
        "nilai_perolehan=1, luas_kib_m2=400, geom=g); print(a.pk)"
    )
    asset = int(manage(env, "shell", "-c", script).stdout.split()[-1])
    pristine = work / "alone.sqlite3"  # the register before any import, for the import alone
    shutil.copy(database, pristine)
    gpkg = work / f"{workload}.gpkg"
    if workload == "demo":
        manage(env, "generate_demo_assets", "--count", str(count), "--seed", "1", "--out", str(gpkg))
    else:
        grid_gpkg(gpkg, count)

    port = 8765
    log = (work / "server.log").open("w")
    server = subprocess.Popen([PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if requests.get(f"{url}/accounts/login/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        user = User(url, asset)
        floor = [user.cycle(f"floor {i}") for i in range(30)]

        started = time.monotonic()
        importer = subprocess.Popen([PY, "manage.py", "import_assets", str(gpkg), "--user", "bpkad"], cwd=ROOT,
                                    env=env, stdout=(work / "import-busy.log").open("w"), stderr=subprocess.STDOUT)  # fmt: skip
        probe = LockProbe(database)
        probe.start()
        during = []
        while importer.poll() is None:
            during.append(user.cycle(f"during {len(during)}"))
        busy, held_busy = time.monotonic() - started, probe.stop()
        if importer.returncode != 0:
            sys.exit(f"the import failed: {(work / 'import-busy.log').read_text()[-2000:]}")
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    imported = manage(env, "shell", "-c", "from assets.models import LandAsset; print(LandAsset.objects.count())")
    assert int(imported.stdout.split()[-1]) == count + 1, imported.stdout
    # the same import into a copy of the register as it was before (nobody else using it): its own wall time
    alone_env = {**env, "DATABASE_URL": f"spatialite:///{pristine}"}
    started = time.monotonic()
    probe = LockProbe(pristine)
    probe.start()
    manage(alone_env, "import_assets", str(gpkg), "--user", "bpkad", log=work / "import-alone.log")
    alone, held_alone = time.monotonic() - started, probe.stop()
    return [
        summary(
            f"{workload}: sign-in + edit, nothing else writing (floor)",
            [s for _, s in floor],
            [c for c, _ in floor],
            None,
        ),  # fmt: skip
        f"| {workload}: import of {count:,} alone | – | – | – | – | – | – | {alone:.0f} | {held_alone} |",
        summary(
            f"{workload}: sign-in + edit during the import",
            [s for _, s in during],
            [c for c, _ in during],
            busy,
            held_busy,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--workload", choices=["demo", "grid", "both"], default="both")
    parser.add_argument("--folder", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args()
    rows = []
    for workload in ["demo", "grid"] if args.workload == "both" else [args.workload]:
        rows += run(workload, args.count, args.folder)
    print(
        "| run | cycles | all answers right | wrong answers | median ms | p95 ms | max ms | import wall s | write lock held |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
