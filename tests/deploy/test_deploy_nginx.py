"""deploy/nginx/nginx.conf run for real (Debian's nginx) in front of a live Sipanah: the uploaded-file handover by
X-Accel-Redirect, the per-session tile cache, static files and the health endpoint.

The configuration is the production file with local paths, ports and upstream (tests/nginx_local.py). nginx is
installed by scripts/check_deploy.sh, which .ci/run runs before the suite; elsewhere the test is skipped with that
reason (installing nginx by default would start a system nginx on port 80 on a developer's machine).
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.test import LiveServerTestCase, override_settings
from django.urls import reverse

from assets.models import Agency, ImportJob
from assets.register import permissions
from tests.factories import make_asset, make_user, square
from tests.nginx_local import LocalNginx, nginx_binary

if nginx_binary() is None:
    if os.environ.get("CI"):
        pytest.fail("nginx is missing: .ci/run installs it through scripts/check_deploy.sh", pytrace=False)
    pytest.skip(
        "Debian's nginx is not installed here: `bash scripts/check_deploy.sh` installs it", allow_module_level=True
    )

CONTENT = b'{"type": "FeatureCollection", "features": []}\n'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Response:
    def __init__(self, raw: http.client.HTTPResponse):
        self.status = raw.status
        self.headers = raw.headers
        self.body = raw.read()


# A fast password hasher: the users are made again for every test (a live server test empties the database after each).
@override_settings(SIPANAH_X_ACCEL_REDIRECT=True, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class NginxInFrontOfSipanahTests(LiveServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls._folder = tempfile.TemporaryDirectory()
        root = Path(cls._folder.name)
        root.chmod(0o755)  # nginx's workers run as "nobody" when the tests run as root
        cls.media = root / "media"
        cls.static = root / "static"
        for folder in (cls.media, cls.static):
            folder.mkdir(mode=0o755)
        cls._media_override = override_settings(MEDIA_ROOT=str(cls.media))
        cls._media_override.enable()
        super().setUpClass()  # starts the live server
        cls.local = LocalNginx(
            root / "nginx",
            upstream=f"127.0.0.1:{cls.server_thread.port}",
            http_port=free_port(),
            https_port=free_port(),
            media_root=cls.media,
            static_root=cls.static,
        )
        cls.local.write()
        cls.local.prefix.chmod(0o755)
        cls._log = (root / "nginx.err").open("w")
        cls.nginx = subprocess.Popen(  # noqa: S603 - Debian's nginx with our configuration
            cls.local.command("-g", "daemon off;"), stdout=cls._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.local.https_port), timeout=1).close()
                break
            except OSError:
                if cls.nginx.poll() is not None or time.monotonic() > deadline:
                    cls.tearDownClass()
                    raise RuntimeError("nginx did not start: " + (root / "nginx.err").read_text()) from None
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        if cls.nginx.poll() is None:
            cls.nginx.terminate()
            cls.nginx.wait(timeout=10)
        cls._log.close()
        super().tearDownClass()
        cls._media_override.disable()
        cls._folder.cleanup()

    def setUp(self):
        agency = Agency.objects.create(code="1.01.01", name="Dinas A")
        self.officer = make_user("officer_a", permissions.OFFICER, agency)
        self.auditor = make_user("auditor", permissions.AUDITOR)
        self.planner = make_user("planner", permissions.PLANNER)
        self.job = ImportJob(user=self.officer, original_name="Bidang Klandasan.geojson")
        self.job.file.save("bidang klandasan é.geojson", ContentFile(CONTENT), save=True)
        make_asset(agency=agency, geom=square(116.83, -1.25))  # a tile with something in it

    def session(self, user) -> str:
        self.client.force_login(user)
        key = self.client.cookies["sessionid"].value
        self.client.cookies.clear()
        return key

    def get(self, path: str, session: str | None = None, https: bool = True, **headers: str) -> Response:
        if https:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the throw-away self-signed certificate of tests/nginx_local.py
            connection = http.client.HTTPSConnection("127.0.0.1", self.local.https_port, timeout=30, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.local.http_port, timeout=30)
        headers = {"Host": "localhost", **headers}
        if session:
            headers["Cookie"] = f"sessionid={session}"
        try:
            connection.request("GET", path, headers=headers)
            return Response(connection.getresponse())
        finally:
            connection.close()

    def test_an_import_file_is_sent_by_nginx_after_the_permission_check(self):
        url = reverse("import-file", args=[self.job.pk])
        for user in (self.officer, self.auditor):
            with self.subTest(user=user.username):
                response = self.get(url, self.session(user))
                self.assertEqual(response.status, 200)
                self.assertEqual(response.body, CONTENT)
                self.assertEqual(
                    response.headers["Content-Disposition"], 'attachment; filename="Bidang Klandasan.geojson"'
                )
                self.assertEqual(response.headers["Content-Type"], "application/geo+json")
                self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff")
                self.assertEqual(response.headers["Cache-Control"], "private, no-store")
                self.assertIsNone(response.headers["X-Accel-Redirect"])  # the internal path never reaches the client
        refused = self.get(url, self.session(self.planner))
        self.assertEqual(refused.status, 403)
        self.assertNotIn(CONTENT, refused.body)
        anonymous = self.get(url)
        self.assertEqual(anonymous.status, 302)
        self.assertTrue(anonymous.headers["Location"].startswith(reverse("login")))
        # The files themselves have no URL: not the internal location, not MEDIA_URL, not by a detour.
        stored = Path(self.job.file.path).relative_to(self.media).as_posix()
        for path in (f"/_protected/media/{stored}", f"/media/{stored}", f"/static/../_protected/media/{stored}"):
            with self.subTest(path=path):
                direct = self.get(path.replace(" ", "%20").replace("é", "%C3%A9"), self.session(self.auditor))
                self.assertEqual(direct.status, 404)
                self.assertNotIn(CONTENT, direct.body)

    def test_tiles_are_cached_per_session_and_revalidated_with_the_app(self):
        tile = reverse("asset-tile", kwargs={"z": 0, "x": 0, "y": 0})
        officer = self.session(self.officer)
        first = self.get(tile, officer)
        self.assertEqual((first.status, first.headers["X-Cache-Status"]), (200, "MISS"))
        self.assertGreater(len(first.body), 0)
        self.assertEqual(first.headers["Cache-Control"], "private, no-cache")  # reaches the browser unchanged
        etag = first.headers["ETag"]
        self.assertTrue(etag)
        again = self.get(tile, officer)
        self.assertEqual(again.status, 200)
        self.assertIn(again.headers["X-Cache-Status"], {"HIT", "REVALIDATED"})  # REVALIDATED once the 1 s is over
        self.assertEqual(again.body, first.body)
        # The browser's own revalidation is answered without the body.
        self.assertEqual(self.get(tile, officer, **{"If-None-Match": etag}).status, 304)
        # Another session never gets this session's entry.
        other = self.get(tile, self.session(self.auditor))
        self.assertEqual((other.status, other.headers["X-Cache-Status"]), (200, "MISS"))
        # No session, or API credentials: neither read from the cache nor stored.
        anonymous = self.get(tile)
        self.assertEqual((anonymous.status, anonymous.headers["X-Cache-Status"]), (302, "BYPASS"))
        self.assertEqual(self.get(tile, officer, Authorization="Token x").headers["X-Cache-Status"], "BYPASS")
        # A session that ends gets no more tiles once its entry is stale: nginx asks the app, which sends it to log
        # in. The wait is the entry's lifetime (1 s, counted by nginx in whole seconds), not a race being hidden.
        Session.objects.filter(session_key=officer).delete()
        time.sleep(2.1)
        ended = self.get(tile, officer)
        self.assertEqual(ended.status, 302)
        self.assertTrue(ended.headers["Location"].startswith(reverse("login")))
        self.assertNotEqual(ended.body, first.body)

    def test_static_files_health_and_the_redirect_to_https(self):
        (self.static / "app.0123456789ab.css").write_text("body{}")
        (self.static / "plain.css").write_text("p{}")
        hashed = self.get("/static/app.0123456789ab.css")
        self.assertEqual((hashed.status, hashed.body), (200, b"body{}"))
        self.assertEqual(hashed.headers["Cache-Control"], "public, max-age=31536000, immutable")
        self.assertEqual(self.get("/static/plain.css").headers["Cache-Control"], "public, max-age=3600")
        health = self.get("/nginx-health", https=False)
        self.assertEqual((health.status, health.body), (200, b"ok\n"))
        plain = self.get("/assets/?q=x", https=False)
        self.assertEqual((plain.status, plain.headers["Location"]), (301, "https://localhost/assets/?q=x"))
        # Through nginx the app sees the https scheme nginx sets, not one a client claims.
        self.assertEqual(self.get("/healthz", **{"X-Forwarded-Proto": "http"}).status in (200, 503), True)
