"""Production settings: `check --deploy` is clean with debug off, and the HTTPS settings follow the environment."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase

BASE_DIR = Path(settings.BASE_DIR)


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPANAH_")}
    env.update(
        SIPANAH_DEBUG="0",
        SIPANAH_SECRET_KEY=secrets.token_urlsafe(60),
        SIPANAH_ALLOWED_HOSTS="sipanah.example.go.id",
        **extra,
    )
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SHOW = (
    "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k, None) for k in "
    "['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
    "'SECURE_PROXY_SSL_HEADER']}))"
)


class DeploySettingsTests(SimpleTestCase):
    def test_check_deploy_reports_nothing_under_production_settings(self):
        result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("System check identified no issues", result.stdout)

    def test_check_deploy_fails_when_https_is_switched_off(self):
        # The test above could fail: without the HTTPS settings the same check reports the cookies and HSTS.
        result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(SIPANAH_HTTPS="0"))
        self.assertNotEqual(result.returncode, 0)
        for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
            self.assertIn(code, result.stdout + result.stderr)

    def test_https_settings_and_the_proxy_header_come_from_the_environment(self):
        env = production_env(SIPANAH_PROXY_SSL_HEADER="X-Forwarded-Proto", SIPANAH_HSTS_SECONDS="3600")
        shown = json.loads(manage("shell", "-c", SHOW, env=env).stdout.strip().splitlines()[-1])
        self.assertEqual(
            shown,
            {
                "SESSION_COOKIE_SECURE": True,
                "CSRF_COOKIE_SECURE": True,
                "SECURE_SSL_REDIRECT": True,
                "SECURE_HSTS_SECONDS": 3600,
                "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
            },
        )
        # No proxy header unless one is configured: a client could otherwise claim https itself.
        plain = json.loads(manage("shell", "-c", SHOW, env=production_env()).stdout.strip().splitlines()[-1])
        self.assertIsNone(plain["SECURE_PROXY_SSL_HEADER"])

    def test_a_missing_secret_key_stops_production_start(self):
        env = production_env()
        del env["SIPANAH_SECRET_KEY"]
        result = manage("check", env=env)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("SIPANAH_SECRET_KEY", result.stderr)

    def test_production_has_the_csp_and_hashed_static_files(self):
        show = (
            "import json; from django.conf import settings as s; print(json.dumps({"
            "'csp': 'csp.middleware.CSPMiddleware' in s.MIDDLEWARE, "
            "'storage': s.STORAGES['staticfiles']['BACKEND'], "
            "'directives': {k: [str(v) for v in vs] for k, vs in s.CONTENT_SECURITY_POLICY['DIRECTIVES'].items()}}))"
        )
        env = production_env(SIPANAH_BASEMAP_URL="https://{s}.tiles.example.go.id/{z}/{x}/{y}.png")
        shown = json.loads(manage("shell", "-c", show, env=env).stdout.strip().splitlines()[-1])
        self.assertTrue(shown["csp"])
        self.assertEqual(shown["storage"], "sipanah.storage.ManifestStaticFilesStorage")
        self.assertEqual(shown["directives"]["script-src"], ["'self'", "csp.constants.NONCE"])
        self.assertIn("https://*.tiles.example.go.id", shown["directives"]["img-src"])


SHOW_DB = (
    "import json; from django.conf import settings as s; d = s.DATABASES['default']; "
    "print(json.dumps({k: d[k] for k in ['ENGINE', 'HOST', 'PORT', 'NAME', 'USER', 'PASSWORD']}))"
)


class SecretFileTests(SimpleTestCase):
    """Docker secrets: DATABASE_URL and the PostGIS password may come from files (``*_FILE``), like the secret key."""

    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)

    def secret(self, name: str, text: str) -> str:
        path = self.folder / name
        path.write_text(text)
        return str(path)

    def env(self, **extra: str) -> dict[str, str]:
        env = production_env()
        env.pop("DATABASE_URL", None)  # the suite's own database must not leak into these
        env.pop("DATABASE_REPLICA_URLS", None)
        env.update(extra)
        return env

    def test_database_url_and_password_from_files_the_password_file_winning(self):
        env = self.env(
            DATABASE_URL_FILE=self.secret("database_url", "postgis://sipanah:in-the-url@db:5432/sipanah\n"),
            SIPANAH_DB_PASSWORD_FILE=self.secret("db_password", "from the secret file\n"),
        )
        result = manage("shell", "-c", SHOW_DB, env=env)
        shown = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual(
            shown,
            {
                "ENGINE": "django.contrib.gis.db.backends.postgis",
                "HOST": "db",
                "PORT": 5432,
                "NAME": "sipanah",
                "USER": "sipanah",
                "PASSWORD": "from the secret file",  # trailing newline of the file dropped
            },
        )
        # Without the password file the URL's own password stays.
        env = self.env(DATABASE_URL="postgis://sipanah:in-the-url@db:5432/sipanah")
        shown = json.loads(manage("shell", "-c", SHOW_DB, env=env).stdout.strip().splitlines()[-1])
        self.assertEqual(shown["PASSWORD"], "in-the-url")

    def test_an_unreadable_secret_file_stops_the_start_naming_the_variable(self):
        missing = str(self.folder / "no-such-file")
        for name in ("DATABASE_URL_FILE", "SIPANAH_DB_PASSWORD_FILE", "SIPANAH_SECRET_KEY_FILE"):
            with self.subTest(name=name):
                result = manage("check", env=self.env(**{name: missing}))
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(f"{name}={missing}: the file cannot be read (No such file or directory)", result.stderr)
