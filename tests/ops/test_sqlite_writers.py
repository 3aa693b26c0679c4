"""The embedded database and its one writer (hardening findings 8): on SpatiaLite, sign-ins and edits keep working
while an import runs, and two simultaneous saves of one asset give one save and one "changed by someone else"
message, never a 500.

A real server (``manage.py runserver``, threaded) and a real import (``manage.py import_assets``) run as processes
against a file copy of the test database (WAL mode, as settings make it), and the test signs in and edits over HTTP
while the import reads, checks and writes. PostgreSQL locks rows, not the database: these tests are SQLite's.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from unittest import skipUnless

import requests
from django.db import connection
from django.test import TransactionTestCase

from assets.demo.writers import export_geopackage
from assets.models import Agency, LandAsset
from assets.register import permissions, services
from tests.factories import load_reference, make_asset, make_user, square, temp_media_root
from tests.processes import WorkerDatabase, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
PASSWORD = "pw-bpkad"  # tests.factories.make_user's


def why(response: requests.Response) -> str:
    """The error a response shows: the exception of Django's debug page, or the start of the page."""
    found = re.search(r'<pre class="exception_value">(.*?)</pre>', response.text, re.S)
    return found[1].strip() if found else response.text[:300]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@skipUnless(connection.vendor == "sqlite", "SQLite has one writer for the whole database; PostgreSQL locks rows")
class SqliteWritersTests(TransactionTestCase):
    def setUp(self) -> None:
        self.media = temp_media_root(self.addCleanup)
        self.tmp = self.media
        load_reference()
        self.agency = Agency.objects.get(code="1.01.01")
        make_user("bpkad", permissions.BPKAD)
        # a register number the demo file does not use: the import and the edits touch different assets
        self.asset = make_asset(
            agency=self.agency, geom=square(116.83, -1.25), nama_barang="Tanah Awal", nomor_register="900000"
        )
        self.db = WorkerDatabase(self.tmp)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.db.url(),
            "SIPANAH_DEBUG": "1",
            "SIPANAH_MEDIA_ROOT": str(self.media),
        }

    def start(self, *args: str, name: str) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("ab")
        self.addCleanup(log.close)
        command = [sys.executable, "manage.py", *args]  # our own manage.py with the test's arguments
        process = subprocess.Popen(command, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        self.addCleanup(lambda: (process.poll() is None and process.kill(), process.wait(30)))
        return process

    def serve(self) -> str:
        port = free_port()
        self.start("runserver", f"127.0.0.1:{port}", "--noreload", name="server")
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return requests.get(f"{url}/accounts/login/", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, "the server to answer", timeout=60)
        return url

    def signed_in(self, url: str) -> requests.Session:
        session = requests.Session()
        page = session.get(f"{url}/accounts/login/", timeout=60)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
        credentials = {"username": "bpkad", "password": PASSWORD, "csrfmiddlewaretoken": token}
        answer = session.post(f"{url}/accounts/login/", data=credentials, timeout=60, allow_redirects=False)
        self.assertEqual(answer.status_code, 302, why(answer))
        return session

    def edit(self, session: requests.Session, url: str, note: str) -> requests.Response:
        form = session.get(f"{url}/assets/{self.asset.pk}/edit/", timeout=60).text
        return self.post_edit(session, url, form, note)

    def post_edit(self, session: requests.Session, url: str, form: str, note: str) -> requests.Response:
        """Post the edit form as loaded (its CSRF token and loaded version), the asset's fields with a new note."""
        hidden = dict(re.findall(r'name="(csrfmiddlewaretoken|loaded_version)" value="([^"]*)"', form))
        asset = self.asset
        data = {name: getattr(asset, name) for name in services.ASSET_FIELDS if name not in ("agency", "nibar")}
        data.update(agency=asset.agency_id, nibar="", geom=asset.geom.json, keterangan=note, **hidden)
        data["tanggal_perolehan"] = asset.tanggal_perolehan.isoformat()
        return session.post(f"{url}/assets/{asset.pk}/edit/", data=data, timeout=60, allow_redirects=False)

    def test_sign_ins_and_edits_keep_working_while_an_import_writes(self):
        gpkg = self.tmp / "register.gpkg"
        export_geopackage(count=6000, seed=5, path=gpkg)
        self.db.push()
        url = self.serve()
        importer = self.start("import_assets", str(gpkg), "--user", "bpkad", name="import")
        answers: list[int] = []
        while importer.poll() is None:
            session = self.signed_in(url)
            answers.append(self.edit(session, url, f"dicek {len(answers)}").status_code)
        self.assertEqual(importer.returncode, 0, (self.tmp / "import.log").read_text()[-2000:])
        self.assertGreater(len(answers), 3, "the import ended before the test could sign in and edit")
        self.assertEqual(set(answers), {302}, "every edit saved (302 to the asset's page)")
        self.db.pull()
        self.assertEqual(LandAsset.objects.count(), 6001)
        self.assertTrue(LandAsset.objects.get(pk=self.asset.pk).keterangan.startswith("dicek"))

    def test_a_spatialite_connection_waits_as_long_as_configured(self):
        # Loading mod_spatialite reset SQLite's busy timeout to 5 s: writers gave up with "database is locked"
        # after 5 s while an import wrote, whatever SIPANAH_SQLITE_TIMEOUT said.
        configured = connection.settings_dict["OPTIONS"]["timeout"]
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            self.assertEqual(cursor.fetchone()[0], int(configured * 1000))

    def test_two_saves_at_once_give_one_save_and_one_stale_message(self):
        self.db.push()
        url = self.serve()
        for attempt in range(6):
            sessions = [self.signed_in(url) for _ in range(2)]
            forms = [s.get(f"{url}/assets/{self.asset.pk}/edit/", timeout=60).text for s in sessions]
            start = threading.Barrier(2)
            answers: list[requests.Response] = []

            def save(session: requests.Session, form: str, note: str, start=start, answers=answers) -> None:
                start.wait()
                answers.append(self.post_edit(session, url, form, note))

            threads = [threading.Thread(target=save, args=(s, f, f"serentak {attempt}-{i}"))
                       for i, (s, f) in enumerate(zip(sessions, forms, strict=True))]  # fmt: skip
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            codes = sorted(a.status_code for a in answers)
            self.assertEqual(codes, [200, 302], f"attempt {attempt}: {[a.text[:200] for a in answers]}")
            refused = next(a for a in answers if a.status_code == 200)
            self.assertIn("version", refused.text)  # the stale-version message, on the form
