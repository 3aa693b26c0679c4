#!/bin/sh
# Entrypoint of the app image (Dockerfile): prepares the database, then runs the command (gunicorn or the worker).
#   SIPANAH_MIGRATE_ON_START=1         apply the migrations first (the web service; one service only, so that two
#                                      containers never migrate at once)
#   SIPANAH_LOAD_REFERENCE_ON_START=1  then load or update Balikpapan's boundaries and the agencies (idempotent)
#   SIPANAH_WAIT_FOR_MIGRATIONS=N      wait up to N seconds until no migration is pending (the worker: it must not
#                                      poll a table that the web service is still creating)
set -eu
cd "$(dirname "$0")/.."  # /app in the image

if [ "${SIPANAH_MIGRATE_ON_START:-0}" = "1" ]; then
  python manage.py migrate --noinput
  if [ "${SIPANAH_LOAD_REFERENCE_ON_START:-0}" = "1" ]; then
    python manage.py load_reference_data
  fi
fi

wait_seconds="${SIPANAH_WAIT_FOR_MIGRATIONS:-0}"
if [ "$wait_seconds" -gt 0 ]; then
  waited=0
  until python manage.py migrate --check >/dev/null 2>&1; do
    if [ "$waited" -ge "$wait_seconds" ]; then
      echo "entrypoint: after ${wait_seconds}s the database is still unreachable or not migrated (the web service migrates it)" >&2
      exit 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
fi

exec "$@"
