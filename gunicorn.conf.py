"""gunicorn settings of Sipanah, from the environment (gunicorn reads this file from the working directory, or with
``--config gunicorn.conf.py``). Used by the container (Dockerfile) and the load benchmark.

    GUNICORN_BIND      address (default 127.0.0.1:8000; the container sets 0.0.0.0:8000)
    GUNICORN_WORKERS   processes (default 2 x cores + 1)
    GUNICORN_THREADS   threads per process (default 4: requests wait on PostGIS more than they compute)
    GUNICORN_TIMEOUT   seconds before a silent worker is restarted (default 120: XLSX/PDF reports of the whole register)
    GUNICORN_MAX_REQUESTS  restart a process after this many requests, +-10 % (default 0: never)
    GUNICORN_FORWARDED_ALLOW_IPS  proxies whose X-Forwarded-* headers gunicorn trusts (default 127.0.0.1,::1)
    GUNICORN_CONTROL_SOCKET  path of gunicorn's control socket (default: none)
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value.strip() else default
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {value!r}") from None


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("GUNICORN_WORKERS", 2 * (os.cpu_count() or 1) + 1)
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = 30
keepalive = 5
# No recycling by default: a replaced worker boots Django again (1-3 s of GDAL, shapely, folium imports) while its
# share of requests waits, which alone took the load bench's p95 from 270 ms to 550 ms. Set it if a leak shows up.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn 26's control socket defaults to $HOME/.gunicorn/gunicorn.ctl: shared by every gunicorn of a user (the
# benchmarks start several) and not writable in the image. Only where asked for.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
accesslog = "-"
errorlog = "-"
# Worker heartbeats on a RAM file system where there is one (a container's /tmp may be an overlay on disk).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's own use, not ours
