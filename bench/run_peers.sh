#!/usr/bin/env bash
# Start the peers of bench/bench_api.py on one PostGIS bench database, each from a separate virtualenv
# (never the project's): pygeoapi (gunicorn, 1 worker) on :5001 and tipg (uvicorn, 1 worker) on :8082.
#   bash bench/run_peers.sh sipanah_bench_1m      # prints the PIDs; stop them with kill <pid>
set -euo pipefail
DB=${1:-sipanah_bench_1m}
VENV=${PEERS_VENV:-/tmp/h6peers}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/sipanah-peers.XXXXXX)
if [ ! -x "$VENV/bin/gunicorn" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pygeoapi tipg uvicorn psycopg2-binary sqlalchemy geoalchemy2 gunicorn
fi
sed "s/@DB@/$DB/" "$HERE/pygeoapi.yml.in" > "$WORK/pygeoapi.yml"
PYGEOAPI_CONFIG="$WORK/pygeoapi.yml" PYGEOAPI_OPENAPI="$WORK/openapi.yml" \
  "$VENV/bin/pygeoapi" openapi generate "$WORK/pygeoapi.yml" --output-file "$WORK/openapi.yml" >/dev/null
PYGEOAPI_CONFIG="$WORK/pygeoapi.yml" PYGEOAPI_OPENAPI="$WORK/openapi.yml" \
  "$VENV/bin/gunicorn" -w 1 -b 127.0.0.1:5001 --log-level warning pygeoapi.flask_app:APP >"$WORK/pygeoapi.log" 2>&1 &
echo "pygeoapi pid $! (http://127.0.0.1:5001, log $WORK/pygeoapi.log)"
DATABASE_URL="postgresql://postgres@127.0.0.1:5432/$DB" TIPG_DB_SCHEMAS='["public"]' \
  TIPG_DB_TABLES='["public.assets_landasset"]' TIPG_MAX_FEATURES_PER_QUERY=10000 \
  TIPG_DB_SPATIAL_EXTENT=false TIPG_DB_DATETIME_EXTENT=false \
  TIPG_TABLE_CONFIG__public_assets_landasset__geomcol=geom \
  "$VENV/bin/uvicorn" tipg.main:app --host 127.0.0.1 --port 8082 --workers 1 --log-level warning >"$WORK/tipg.log" 2>&1 &
echo "tipg pid $! (http://127.0.0.1:8082, log $WORK/tipg.log)"
