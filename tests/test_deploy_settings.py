"""Production settings: `check --deploy` is clean with debug off, and the HTTPS settings follow the environment."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
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
