"""Sipanah settings: one module, every deployment choice read from the environment.

Environment variables (all optional for a local run):

- ``DATABASE_URL``: ``spatialite:///abs/path.sqlite3`` (default: ``var/sipanah.sqlite3``)
  or ``postgis://user:pass@host:port/name``.
- ``SIPANAH_DEBUG``: ``1`` for development (``make run`` sets it).
- ``SIPANAH_SECRET_KEY`` (or ``SIPANAH_SECRET_KEY_FILE``): required when debug is off.
- ``SIPANAH_BACKUP_KEY`` (or ``SIPANAH_BACKUP_KEY_FILE``): the key backups are signed with (default: the secret key).
- ``DATABASE_URL_FILE``, ``SIPANAH_DB_PASSWORD`` / ``SIPANAH_DB_PASSWORD_FILE``: the URL or the PostGIS password
  from a file (Docker secrets); the password replaces the URL's.
- ``SIPANAH_X_ACCEL_REDIRECT``: ``1`` behind the nginx of docker-compose.yml (it sends the uploaded files).
- ``SIPANAH_ALLOWED_HOSTS``: comma-separated host names.
- ``SIPANAH_HTTPS`` (default: on unless debug), ``SIPANAH_SSL_REDIRECT``, ``SIPANAH_HSTS_SECONDS``,
  ``SIPANAH_HSTS_INCLUDE_SUBDOMAINS``, ``SIPANAH_HSTS_PRELOAD``, ``SIPANAH_PROXY_SSL_HEADER`` (e.g.
  ``X-Forwarded-Proto``, only behind a proxy that sets it): HTTPS hardening.
- ``SIPANAH_LOGIN_FAILURE_LIMIT`` (5), ``SIPANAH_LOGIN_COOLOFF_MINUTES`` (15): login throttling.
- ``SIPANAH_DEMO``: ``1`` allows the demo users and data to be created (never in production).
- ``SIPANAH_OVERLAP_TOLERANCE_M2`` (1): overlaps between parcels up to this area are survey slivers, not overlaps.
- ``SIPANAH_AREA_TOLERANCE_PCT`` (5), ``SIPANAH_AREA_TOLERANCE_M2`` (10), ``SIPANAH_KIB_AREA_TOLERANCE_M2`` (1): the
  audit's area findings (docs/audit.md, "Area tolerances").
- ``SIPANAH_AREA_SRID``: the metric CRS used for planar work in Balikpapan (default 23837, TM-3 zone 50.1).
- ``SIPANAH_BASEMAP_URL``: basemap tile template of the maps (default OpenStreetMap; empty for none);
  ``SIPANAH_BASEMAP_ATTRIBUTION`` its credit line, ``SIPANAH_BASEMAP_NAME`` its name in the layer control.
- ``SIPANAH_BASEMAPS``: a JSON list of basemaps (XYZ or WMS) that replaces ``SIPANAH_BASEMAP_URL``
  (sipanah/basemaps.py, docs/maps.md).
- ``SIPANAH_MEDIA_ROOT``: uploaded files (default ``var/media``); the web app and the worker must share it.
- ``SIPANAH_CONN_MAX_AGE`` (0), ``SIPANAH_CONN_HEALTH_CHECKS`` (1): persistent database connections.
- ``DATABASE_REPLICA_URLS`` (or ``DATABASE_REPLICA_URLS_FILE``): comma-separated ``postgis://`` URLs of PostgreSQL
  streaming replicas of ``DATABASE_URL``'s cluster; GET requests read from them (sipanah/db_router.py,
  docs/scaling.md). ``SIPANAH_REPLICA_PIN_SECONDS`` (300): how long a client that wrote waits for a replica to
  replay its write before reading from it regardless; ``SIPANAH_REPLICA_RETRY_SECONDS`` (30): how long a replica
  that did not answer is left out.
- ``SIPANAH_PG_OPTIONS``: libpq ``options`` of the PostGIS connections (default ``-c jit=off``).
- ``SIPANAH_SQLITE_TIMEOUT`` (120): seconds a SpatiaLite writer waits for the write lock.
- ``SIPANAH_STATIC_ROOT``: where ``collectstatic`` puts the static files (default ``var/staticfiles``).
- ``SIPANAH_PUBLIC_LOOKUPS_PER_MINUTE`` (60), ``SIPANAH_PUBLIC_UPLOADS_PER_HOUR`` (20),
  ``SIPANAH_PUBLIC_FORMS_PER_HOUR`` (5), ``SIPANAH_PUBLIC_TILES_PER_MINUTE`` (1200): limits per address (/publik/).
- ``SIPANAH_PRINT_INLINE_PAGES`` (40): a longer KIB A or audit report is printed by the worker (transfer.print_jobs).
- ``SIPANAH_CACHE_URL``: a cache shared by all processes (``redis://…``); default: each process's memory.
- ``SIPANAH_EVIDENCE_MAX_FILE_BYTES`` (25 MB), ``SIPANAH_EVIDENCE_MAX_IMAGE_PIXELS`` (80 million),
  ``SIPANAH_EVIDENCE_MAX_FILES`` (50 per upload), ``SIPANAH_EVIDENCE_LOAN_DAYS`` (14): documents and custody.
- ``SIPANAH_JOB_STALE_SECONDS`` (120), ``SIPANAH_WORKER_STALE_SECONDS`` (60): when a running import job is
  queued again for want of a heartbeat, and when /healthz calls the worker stale.
- ``SIPANAH_SITE_URL`` (``http://127.0.0.1:8000``): the address users open Sipanah at; the links of e-mails.
- E-mail (the daily work digest, ``manage.py send_work_digest``, docs/work.md): ``EMAIL_BACKEND`` (Django's SMTP
  backend), ``EMAIL_HOST`` (``localhost``), ``EMAIL_PORT`` (25), ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD`` (or
  ``EMAIL_HOST_PASSWORD_FILE``), ``EMAIL_USE_TLS`` (STARTTLS, off), ``EMAIL_USE_SSL`` (off), ``EMAIL_TIMEOUT``
  (30 s), ``DEFAULT_FROM_EMAIL`` (``sipanah@localhost``).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from sipanah import basemaps
from sipanah.security import content_security_policy

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path}: the file cannot be read ({exc.strerror})") from exc
    return os.environ.get(name, default)


DEBUG = env_bool("SIPANAH_DEBUG", False)
SECRET_KEY = env_secret("SIPANAH_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SIPANAH_SECRET_KEY (or SIPANAH_SECRET_KEY_FILE) must be set when debug is off")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105 - debug only
# The key backups are signed with (HMAC-SHA256 of the manifest, checked before a restore: assets.ops.backup). Kept
# outside the archives; another server restores them only with the same key. Default: derived from SECRET_KEY.
SIPANAH_BACKUP_KEY = env_secret("SIPANAH_BACKUP_KEY") or SECRET_KEY

ALLOWED_HOSTS = [h.strip() for h in env_str("SIPANAH_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
SIPANAH_DEMO = env_bool("SIPANAH_DEMO", False)

# HTTPS (on by default outside debug): secure cookies, redirect to https, HSTS. Behind a TLS-terminating proxy
# set SIPANAH_PROXY_SSL_HEADER to the header it sets (e.g. X-Forwarded-Proto); only then, since Django must not
# trust a header that clients could send straight to it.
SIPANAH_HTTPS = env_bool("SIPANAH_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SIPANAH_HTTPS
SECURE_SSL_REDIRECT = env_bool("SIPANAH_SSL_REDIRECT", SIPANAH_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # container and load-balancer probes speak plain HTTP inside
SECURE_HSTS_SECONDS = env_int("SIPANAH_HSTS_SECONDS", 31_536_000 if SIPANAH_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SIPANAH_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SIPANAH_HSTS_PRELOAD", True)
if env_str("SIPANAH_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + env_str("SIPANAH_PROXY_SSL_HEADER").upper().replace("-", "_"), "https")
SIPANAH_AREA_SRID = env_int("SIPANAH_AREA_SRID", 23837)
# Basemap tile template of the maps (the only outside URL a page may load); empty: maps without a basemap.
SIPANAH_BASEMAP_URL = env_str("SIPANAH_BASEMAP_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
SIPANAH_BASEMAP_ATTRIBUTION = env_str("SIPANAH_BASEMAP_ATTRIBUTION", "© OpenStreetMap contributors")
SIPANAH_BASEMAP_NAME = env_str("SIPANAH_BASEMAP_NAME", "")  # empty: "Basemap" in the page's language
# Several basemaps (XYZ or WMS, e.g. the city's orthophoto on its GeoServer) as a JSON list; replaces the three above.
# Read through assets.register.basemaps; checked here so that a wrong entry stops the start with its name.
SIPANAH_BASEMAPS = env_str("SIPANAH_BASEMAPS", "")
_BASEMAP_CATALOGUE = basemaps.catalogue(
    json_text=SIPANAH_BASEMAPS, url=SIPANAH_BASEMAP_URL, attribution=SIPANAH_BASEMAP_ATTRIBUTION, name=""
)
# Limits (each with the error it gives: docs/transfer.md). A parcel of more vertices is refused wherever it comes
# from (form, API, import): SpatiaLite's WKT parser gives up near 450,000 (the row was stored without geometry).
SIPANAH_MAX_PARCEL_VERTICES = env_int("SIPANAH_MAX_PARCEL_VERTICES", 100_000)
# Two parcels sharing less than this many m² are not said to overlap (the parcel form's rule, the geometry check and
# the audit's overlap finding): neighbours digitised from different surveys share slivers of a few tenths of a m²
# along their common edge (0.1 m of survey error along 10 m is 1 m²), which nobody should have to explain.
SIPANAH_OVERLAP_TOLERANCE_M2 = env_int("SIPANAH_OVERLAP_TOLERANCE_M2", 1)
# The audit's area findings (docs/audit.md, "Area tolerances"): certificate vs GIS area is flagged beyond the larger
# of PCT % of the certificate area and M2 m²; the KIB area vs the issued certificates' area beyond KIB_AREA m².
SIPANAH_AREA_TOLERANCE_PCT = env_int("SIPANAH_AREA_TOLERANCE_PCT", 5)
SIPANAH_AREA_TOLERANCE_M2 = env_int("SIPANAH_AREA_TOLERANCE_M2", 10)
SIPANAH_KIB_AREA_TOLERANCE_M2 = env_int("SIPANAH_KIB_AREA_TOLERANCE_M2", 1)
# What an import accepts (assets.transfer.importing.limits; each limit with the error it gives: docs/transfer.md). A
# file past a limit is refused with a message naming it; nothing is written.
SIPANAH_IMPORT_LIMITS = {
    "max_file_bytes": env_int("SIPANAH_IMPORT_MAX_FILE_BYTES", 200 * 1024 * 1024),
    "max_uncompressed_bytes": env_int("SIPANAH_IMPORT_MAX_UNCOMPRESSED_BYTES", 1024 * 1024 * 1024),
    "max_compression_ratio": env_int("SIPANAH_IMPORT_MAX_COMPRESSION_RATIO", 100),
    "max_archive_members": env_int("SIPANAH_IMPORT_MAX_ARCHIVE_MEMBERS", 1000),
    "max_xml_bytes": env_int("SIPANAH_IMPORT_MAX_XML_BYTES", 150 * 1024 * 1024),
    "max_features": env_int("SIPANAH_IMPORT_MAX_FEATURES", 2_000_000),
    "max_text_length": env_int("SIPANAH_IMPORT_MAX_TEXT_LENGTH", 10_000),
    "wall_seconds": env_int("SIPANAH_IMPORT_WALL_SECONDS", 1800),
    "memory_bytes": env_int("SIPANAH_IMPORT_MEMORY_BYTES", 1024 * 1024 * 1024),
}
# What a document upload accepts (assets.evidence.checks; the errors: docs/evidence.md): the size of one file, the
# pixels of one image (Pillow's decompression-bomb guard, PIL.Image.MAX_IMAGE_PIXELS, is set to it while a file is
# read), the files of one upload, and the days a loaned original certificate may stay out by default.
# A printed output (the KIB A, the audit report) longer than this many pages is printed by the worker, not inside
# the request (WeasyPrint: about a third of a second a page; gunicorn gives a request 120 s).
SIPANAH_PRINT_INLINE_PAGES = env_int("SIPANAH_PRINT_INLINE_PAGES", 40)
# The public pages (/publik/, assets.public): requests per address and window (seconds), per kind of request.
SIPANAH_PUBLIC_RATES = {
    "lookup": (env_int("SIPANAH_PUBLIC_LOOKUPS_PER_MINUTE", 60), 60),
    "upload": (env_int("SIPANAH_PUBLIC_UPLOADS_PER_HOUR", 20), 3600),
    "form": (env_int("SIPANAH_PUBLIC_FORMS_PER_HOUR", 5), 3600),
    "tile": (env_int("SIPANAH_PUBLIC_TILES_PER_MINUTE", 1200), 60),
}
# A cache shared by every process (rate limits, challenges, tiles): e.g. redis://127.0.0.1:6379/1; default: memory.
if env_str("SIPANAH_CACHE_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("SIPANAH_CACHE_URL")}
    }
    # Sessions read from the shared cache (written through to the database): a signed-in request, each of a map's
    # vector tiles above all, then costs no session query. Only with a cache every process shares: with one cache
    # per process, a sign-out in one would leave the session alive in the others' copies.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SIPANAH_EVIDENCE_LIMITS = {
    "max_file_bytes": env_int("SIPANAH_EVIDENCE_MAX_FILE_BYTES", 25 * 1024 * 1024),
    "max_image_pixels": env_int("SIPANAH_EVIDENCE_MAX_IMAGE_PIXELS", 80_000_000),
    "max_files": env_int("SIPANAH_EVIDENCE_MAX_FILES", 50),
    "loan_days": env_int("SIPANAH_EVIDENCE_LOAN_DAYS", 14),
}
# Django refuses a request with more files than this before any view runs (400).
DATA_UPLOAD_MAX_NUMBER_FILES = SIPANAH_EVIDENCE_LIMITS["max_files"]
# The city whose land Sipanah registers: every city-specific constant, read through assets.register.place (another
# city is a change here, plus its boundaries in fixtures/). Areas and distances use SIPANAH_AREA_SRID.
SIPANAH_CITY = {
    "name": "Kota Balikpapan",
    "government": "Pemerintah Kota Balikpapan",  # the holder certificates should name (atas nama)
    "office": "BPKAD Kota Balikpapan",
    # the letterhead (kop surat) of printed outputs, and the place written beside the date above signatures
    "office_full": "Badan Pengelolaan Keuangan dan Aset Daerah",
    "office_address": "Jl. Jenderal Sudirman No. 1, Balikpapan 76114",
    "signing_place": "Balikpapan",
    "kemendagri_code": "64.71",
    "center": (-1.20, 116.87),  # lat, lon of the maps' first view
    "zoom": 12,
    # lon/lat extent with a margin: where the register's parcels must lie (swapped lat/lon and wrong CRS checks)
    "bbox": (116.6, -1.45, 117.15, -0.85),
    # lon/lat extent any parcel the city holds can lie in: Indonesia with a margin (a city may hold land elsewhere
    # in the country, a guest house in Jakarta); outside it the file's or form's CRS is wrong (assets.register.geo)
    "region": "Indonesia",
    "region_bbox": (94.0, -12.0, 142.0, 7.0),
    # CRS an import may declare without a warning (DGN95/WGS84/SRGI2013 lon/lat, TM-3 50.1/50.2, UTM 50S)
    "accepted_epsg": (4326, 4755, 9470, 23837, 23838, 23880, 32750, 9490),
    # the projected systems suggested when a file's CRS is missing or wrong, with their names
    "suggested_epsg": ((23837, "TM-3 zone 50.1"), (23880, "UTM 50S"), (32750, "UTM 50S")),
    "export_srids": (4326, 23837),  # exports: lon/lat, and the BPN cadastral grid (TM-3)
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.humanize",
    "django_filters",
    "simple_history",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "assets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sipanah.middleware.LoginRequiredMiddleware",  # Django's, asking the view first (sipanah/middleware.py)
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: turns a locked-out login into its page
]

if not DEBUG:  # in development runserver serves static files from the apps
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
# Content-Security-Policy on every response (django-csp; the policy and why: sipanah/security.py).
MIDDLEWARE.insert(1, "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = content_security_policy(*(b["url"] for b in _BASEMAP_CATALOGUE))

ROOT_URLCONF = "sipanah.urls"
WSGI_APPLICATION = "sipanah.wsgi.application"
ASGI_APPLICATION = "sipanah.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "assets.register.context_processors.roles",
            ],
        },
    },
]


def _database_config(url: str) -> dict:
    if not (url.startswith("spatialite://") or url.startswith("postgis://")):
        raise ImproperlyConfigured(
            f"DATABASE_URL must start with spatialite:// or postgis://, got {url.split('://', 1)[0]}://"
        )
    config = dj_database_url.parse(
        url,
        conn_max_age=env_int("SIPANAH_CONN_MAX_AGE", 0),
        # a kept connection is tested before each request reuses it (a restarted PostgreSQL costs no request)
        conn_health_checks=env_bool("SIPANAH_CONN_HEALTH_CHECKS", True),
    )
    if url.startswith("spatialite://"):
        # SQLite has one writer at a time. WAL lets readers go on while it writes; IMMEDIATE takes the write lock when
        # a transaction begins (a deferred one that reads first and then writes fails at once, "database is locked",
        # when another writer came in between); the timeout is how long a writer waits for the lock (imports hold it
        # only while their checked rows go in: assets.transfer.importing.run). The write of a 100,000-parcel import
        # held it 46 s at a stretch (bench/bench_sqlite_writers.py): a writer waits that out rather than fail.
        config["OPTIONS"] = {
            "timeout": env_int("SIPANAH_SQLITE_TIMEOUT", 120),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    elif env_str("SIPANAH_PG_OPTIONS", "-c jit=off"):
        # JIT off: the web app's queries are short, and PostgreSQL's JIT compile (0.1-0.4 s, set off by cost
        # estimates like the register search's) cost more than it saved (bench/load).
        config["OPTIONS"] = {"options": env_str("SIPANAH_PG_OPTIONS", "-c jit=off")}
    return config


DATABASES = {
    "default": _database_config(env_secret("DATABASE_URL", f"spatialite:///{BASE_DIR / 'var' / 'sipanah.sqlite3'}"))
}
# The PostGIS password may come apart from the URL (docker-compose.yml: one secret file serves the postgis image's
# POSTGRES_PASSWORD_FILE and SIPANAH_DB_PASSWORD_FILE); it replaces any password written in DATABASE_URL.
if env_secret("SIPANAH_DB_PASSWORD"):
    DATABASES["default"]["PASSWORD"] = env_secret("SIPANAH_DB_PASSWORD")
# Read replicas (sipanah/db_router.py, docs/scaling.md): PostgreSQL streaming standbys of the primary's cluster, as
# aliases replica1, replica2, … GET requests read from one of them, unless the client has just written and the replica
# has not replayed that write yet; writes, transactions, migrations and commands use the primary. In tests each is a
# mirror of the test database (a physical standby holds every database of its primary's cluster, the test one too).
_REPLICA_URLS = [url.strip() for url in env_secret("DATABASE_REPLICA_URLS").split(",") if url.strip()]
for _number, _url in enumerate(_REPLICA_URLS, start=1):
    if not (_url.startswith("postgis://") and DATABASES["default"]["ENGINE"].endswith("postgis")):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URLS: read replicas are PostgreSQL streaming standbys (postgis://…) of a postgis:// "
            f"DATABASE_URL; replica {_number} is {_url.split('://', 1)[0]}://…, DATABASE_URL "
            f"{DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
        )
    DATABASES[f"replica{_number}"] = {**_database_config(_url), "TEST": {"MIRROR": "default"}}
    if env_secret("SIPANAH_DB_PASSWORD"):  # a physical standby has the primary's roles and passwords
        DATABASES[f"replica{_number}"]["PASSWORD"] = env_secret("SIPANAH_DB_PASSWORD")
SIPANAH_READ_REPLICAS = tuple(alias for alias in DATABASES if alias != "default")
SIPANAH_REPLICA_PIN_SECONDS = env_int("SIPANAH_REPLICA_PIN_SECONDS", 300)
SIPANAH_REPLICA_RETRY_SECONDS = env_int("SIPANAH_REPLICA_RETRY_SECONDS", 30)
if SIPANAH_READ_REPLICAS:
    DATABASE_ROUTERS = ["sipanah.db_router.ReplicaRouter"]
    # before the session and the user are read (both from the request's replica), after static files
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "sipanah.db_router.ReplicaReadsMiddleware",
    )
# GDAL < 3.9 cannot block network access while parsing spatial references (Debian 12 has 3.6).
# Sipanah builds SpatialReference objects only from EPSG codes (assets.geo); any code that
# accepts user-supplied WKT must validate it with pyproj first. Silenced so that every
# command does not repeat it.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "assets.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# REST API and OGC API – Features (assets/api.py, assets/ogc.py): machine clients authenticate with
# HTTP basic auth or a revocable token (DRF authtoken), browsers with their session; anonymous → 401.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["assets.interop.auth.CanViewRegister"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sipanah API",
    "DESCRIPTION": f"Land asset register (KIB A) of {SIPANAH_CITY['office']}: assets as GeoJSON, filters and totals.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # self-hosted (drf-spectacular-sidecar), no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["assets.interop.auth.CanViewRegister"],
    # Two models call their stage "to_stage": the certificate's BPN stages and a dispute case's stages.
    "ENUM_NAME_OVERRIDES": {
        "CertificateStageEnum": "assets.register.models.Stage",
        "CaseStageEnum": "assets.encumbrance.models.CaseStage",
    },
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): after SIPANAH_LOGIN_FAILURE_LIMIT wrong passwords for one user name, that
# account cannot sign in (pages or API) for SIPANAH_LOGIN_COOLOFF_MINUTES; `manage.py axes_reset_username NAME`
# unlocks it early. Counted per user name, not per address: the whole office reaches the server from one address.
# ModelBackend with the roles read in the user's own query (assets.permissions.RoleBackend)
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "assets.register.permissions.RoleBackend"]
AXES_FAILURE_LIMIT = env_int("SIPANAH_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("SIPANAH_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failed sign-in stays listed in the admin (axes' failure log)
AXES_LOCKOUT_CALLABLE = "assets.ops.throttle.lockout_response"
AXES_VERBOSE = False  # no start-up banner on every management command
# axes.W006 asks to count per address too; per address alone would lock the whole office out together, and per
# (user name, address) would let a guesser go on from the next address. The account is what is protected.
SILENCED_SYSTEM_CHECKS.append("axes.W006")

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Makassar"  # WITA, Balikpapan's time zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("SIPANAH_STATIC_ROOT") or BASE_DIR / "var" / "staticfiles")  # collectstatic target
MEDIA_URL = "media/"
# Uploaded files are never served from a URL of their own: a permission-checked view hands them out
# (assets/private_files.py). Behind nginx (SIPANAH_X_ACCEL_REDIRECT=1) the view answers with X-Accel-Redirect to
# this internal location (deploy/nginx/nginx.conf), and nginx sends the file; otherwise Django streams it.
SIPANAH_X_ACCEL_REDIRECT = env_bool("SIPANAH_X_ACCEL_REDIRECT", False)
SIPANAH_X_ACCEL_PREFIX = "/_protected/media/"
MEDIA_ROOT = Path(env_str("SIPANAH_MEDIA_ROOT") or BASE_DIR / "var" / "media")  # uploads; shared with the worker
# Background worker (assets/jobs.py, assets/health.py): a running job without a heartbeat for this long is
# queued again (its worker died); /healthz calls the worker stale after this long without a heartbeat.
SIPANAH_JOB_STALE_SECONDS = env_int("SIPANAH_JOB_STALE_SECONDS", 120)
SIPANAH_WORKER_STALE_SECONDS = env_int("SIPANAH_WORKER_STALE_SECONDS", 60)
# E-mail: the daily digest of each user's work (assets.work.digest); links point at SIPANAH_SITE_URL.
SIPANAH_SITE_URL = env_str("SIPANAH_SITE_URL") or "http://127.0.0.1:8000"  # empty (docker-compose): the default
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "sipanah@localhost"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "sipanah.storage.ManifestStaticFilesStorage"  # whitenoise's, tolerating unshipped source maps
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("SIPANAH_LOG_LEVEL", "INFO")},
}
