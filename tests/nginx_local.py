"""A runnable local copy of deploy/nginx/nginx.conf, for `nginx -t` in CI and for tests/deploy/test_deploy_nginx.py.

The production file names container paths and the "web" host of docker-compose.yml; here they become folders of
one temporary prefix, a local upstream and free ports. Nothing else changes, so what is checked is the real file:
every replacement below must match (an edit of nginx.conf that breaks one fails loudly).

    python tests/nginx_local.py OUT_DIR   # then: nginx -t -p OUT_DIR/ -c OUT_DIR/nginx.conf
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NGINX_DIR = REPO / "deploy" / "nginx"
SYSTEM_MIME_TYPES = Path("/etc/nginx/mime.types")  # Debian's nginx-common


@dataclass
class LocalNginx:
    prefix: Path
    upstream: str = "127.0.0.1:8000"
    http_port: int = 8080
    https_port: int = 8443
    media_root: Path | None = None
    static_root: Path | None = None

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    def write(self) -> Path:
        self.prefix.mkdir(parents=True, exist_ok=True)
        media = self.media_root or self.prefix / "media"
        static = self.static_root or self.prefix / "static"
        text = (NGINX_DIR / "nginx.conf").read_text(encoding="utf-8")
        replacements = {
            "pid /tmp/nginx.pid;": f"pid {self.prefix}/nginx.pid;",
            "/tmp/nginx-": f"{self.prefix}/nginx-",  # noqa: S108 - the container's paths, replaced here
            "/var/cache/nginx/tiles": f"{self.prefix}/cache/tiles",
            "/run/secrets/": f"{self.prefix}/secrets/",
            "alias /srv/sipanah/media/;": f"alias {media}/;",
            "alias /srv/static/;": f"alias {static}/;",
            "listen 8080 default_server;": f"listen 127.0.0.1:{self.http_port} default_server;",
            "listen 8443 ssl http2 default_server;": f"listen 127.0.0.1:{self.https_port} ssl http2 default_server;",
            "access_log /dev/stdout sipanah;": f"access_log {self.prefix}/access.log sipanah;",
        }
        for old, new in replacements.items():
            if old not in text:
                raise ValueError(f"deploy/nginx/nginx.conf no longer contains {old!r}: update tests/nginx_local.py")
            text = text.replace(old, new)
        self.conf.write_text(text, encoding="utf-8")
        upstream = (NGINX_DIR / "upstream.conf").read_text(encoding="utf-8")
        if "server web:8000;" not in upstream:
            raise ValueError("deploy/nginx/upstream.conf no longer names web:8000: update tests/nginx_local.py")
        (self.prefix / "upstream.conf").write_text(upstream.replace("web:8000", self.upstream), encoding="utf-8")
        shutil.copy(SYSTEM_MIME_TYPES, self.prefix / "mime.types")
        (self.prefix / "cache").mkdir(exist_ok=True)
        secrets = self.prefix / "secrets"
        secrets.mkdir(exist_ok=True)
        if not (secrets / "tls_cert").exists():
            openssl = shutil.which("openssl") or "/usr/bin/openssl"
            subprocess.run(  # noqa: S603 - fixed arguments: a throw-away self-signed certificate
                [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                 "-keyout", str(secrets / "tls_key"), "-out", str(secrets / "tls_cert")],
                check=True, capture_output=True,
            )  # fmt: skip
        return self.conf

    def command(self, *args: str) -> list[str]:
        return [nginx_binary() or "nginx", "-p", f"{self.prefix}/", "-c", str(self.conf), *args]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    print(LocalNginx(Path(sys.argv[1]).resolve()).write())
