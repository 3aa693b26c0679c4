# Sipanah's images (docker-compose.yml). Linted by hadolint in CI (scripts/check_deploy.sh); no engine runs there.
#
#   app    the web app (gunicorn) and the import worker: Debian 12's GDAL, GEOS, PROJ, SpatiaLite, python3-gdal and
#          Pango (WeasyPrint), the same as `make run` uses, and a venv that sees them (--system-site-packages) with
#          the runtime packages of pyproject.toml at the exact pins of requirements.lock. Runs as an unprivileged user.
#   nginx  nginx with deploy/nginx/nginx.conf and the collected static files (hashed names), built from the same
#          sources, so the static files and the app that names them always match.

# ---------------------------------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS base
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
# Debian's packages are not pinned: the stable release only takes security fixes, and a pin would break the build as
# soon as the security archive moves on. requirements.lock pins the Python side exactly.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv python3-gdal gdal-bin libgdal32 libgeos-c1v5 libproj25 libsqlite3-mod-spatialite \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

# ---------------------------------------------------------------------------------------------------------------
FROM base AS build
# gettext for compilemessages (msgfmt) only, not in the final image; unpinned for the reason given above.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml requirements.lock ./
# The runtime dependencies of pyproject.toml, constrained to requirements.lock's pins (the lock also pins the test and
# lint tools, which the image does not need).
RUN python3 -m venv --system-site-packages /opt/venv \
 && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
      > /tmp/runtime-requirements.txt \
 && pip install --no-cache-dir --disable-pip-version-check -c requirements.lock -r /tmp/runtime-requirements.txt \
 && rm /tmp/runtime-requirements.txt
COPY . .
# A throw-away key: settings refuse to load without one when debug is off; nothing is signed at build time.
RUN SIPANAH_SECRET_KEY=build-only-not-secret python manage.py compilemessages --ignore=.venv \
 && SIPANAH_SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput -v 0 \
 && rm -rf var/sipanah.sqlite3 .venv

# ---------------------------------------------------------------------------------------------------------------
FROM base AS app
RUN groupadd --system --gid 10001 sipanah \
 && useradd --system --uid 10001 --gid sipanah --home-dir /app --shell /usr/sbin/nologin sipanah \
 && mkdir -p /srv/sipanah/media \
 && chown sipanah:sipanah /srv/sipanah/media
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
WORKDIR /app
# The media volume (uploads, the worker's heartbeat) is the only place the app writes; the code stays root's.
ENV SIPANAH_MEDIA_ROOT=/srv/sipanah/media \
    SIPANAH_DEBUG=0
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--", "/app/deploy/entrypoint.sh"]
CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "sipanah.wsgi"]

# ---------------------------------------------------------------------------------------------------------------
FROM nginx:1.28-alpine AS nginx
# No `user` directive: nginx runs as the image's unprivileged "nginx" user (uid 101) on ports 8080/8443.
RUN rm -f /etc/nginx/conf.d/default.conf \
 && mkdir -p /var/cache/nginx/tiles \
 && chown -R nginx:nginx /var/cache/nginx
COPY deploy/nginx/nginx.conf deploy/nginx/upstream.conf /etc/nginx/
COPY --from=build /app/var/staticfiles /srv/static
USER 101:101
EXPOSE 8080 8443
