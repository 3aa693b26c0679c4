#!/usr/bin/env bash
# Start a PostgreSQL streaming standby (a read replica, docs/scaling.md) of the cluster at PG_HOST:PG_PORT, on this
# machine at REPLICA_PORT, and wait until it streams. .ci/run calls it before the PostGIS tests, whose replica tests
# (tests/scaling) write on the primary and read through Sipanah's database router from the standby.
#
# Debian's tools: pg_createcluster makes the cluster's configuration (/etc/postgresql/VERSION/REPLICA_CLUSTER),
# pg_basebackup -R copies the primary's data and writes primary_conninfo and standby.signal. The standby is a
# physical copy of the whole primary cluster, so a database created on the primary later (Django's test database)
# appears on it as well.
#
# Idempotent: a standby already streaming from this primary (same system identifier) is kept; a stopped one is
# started; one that cannot stream any more (the primary recycled the WAL it needed, or it is another primary's) is
# rebuilt. The primary must run on this machine (its pg_hba.conf gets a replication line for PG_USER on 127.0.0.1,
# and wal_level/max_wal_senders are raised only when they are too low, which restarts it).
#
# Remove it: pg_dropcluster --stop VERSION REPLICA_CLUSTER   (VERSION: the primary's major version, e.g. 15)
set -euo pipefail

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_CLUSTER=${REPLICA_CLUSTER:-replica}
WAIT_SECONDS=${REPLICA_WAIT_SECONDS:-300}

say() { echo "start_replica: $*"; }
fail() { echo "start_replica: $*" >&2; exit 1; }
primary() { psql -X -q -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@"; }
standby() { psql -X -q -At -h "$PG_HOST" -p "$REPLICA_PORT" -U "$PG_USER" -d postgres "$@" 2>/dev/null; }
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }

pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || fail "no PostgreSQL at $PG_HOST:$PG_PORT (the primary must run first)"
[ "$REPLICA_PORT" != "$PG_PORT" ] || fail "REPLICA_PORT must differ from PG_PORT ($PG_PORT)"
VERSION=$(( $(primary -c "SHOW server_version_num") / 10000 ))
PRIMARY_ID=$(primary -c "SELECT system_identifier FROM pg_control_system()")

# --- the primary: WAL for a standby, and a replication connection from this machine ---------------------------------
wal_level=$(primary -c "SHOW wal_level")
senders=$(primary -c "SHOW max_wal_senders")
if [ "$wal_level" = minimal ] || [ "$senders" -lt 2 ]; then
  say "primary: wal_level=$wal_level max_wal_senders=$senders; setting replica/10 and restarting it"
  primary -c "ALTER SYSTEM SET wal_level = replica" -c "ALTER SYSTEM SET max_wal_senders = 10"
  data_dir=$(primary -c "SHOW data_directory")
  primary_cluster=$(pg_lsclusters -h | awk -v d="$data_dir" '$6 == d {print $2}')
  [ -n "$primary_cluster" ] || fail "cannot find the cluster of $data_dir to restart (pg_lsclusters)"
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$primary_cluster" restart
  for _ in $(seq 30); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 1; done
fi
hba=$(primary -c "SHOW hba_file")
if ! grep -Eq "^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|$PG_USER)[[:space:]]+127\.0\.0\.1/32" "$hba"; then
  say "primary: allowing replication connections of $PG_USER from 127.0.0.1 ($hba)"
  printf '%s\n' "# streaming standby on this machine (scripts/start_replica.sh)" \
    "host    replication     $PG_USER        127.0.0.1/32            trust" >>"$hba"
  primary -c "SELECT pg_reload_conf()" >/dev/null
fi

# --- the standby ----------------------------------------------------------------------------------------------------
streaming() {
  [ "$(standby -c "SELECT pg_is_in_recovery()")" = t ] &&
    [ "$(standby -c "SELECT system_identifier FROM pg_control_system()")" = "$PRIMARY_ID" ] &&
    [ "$(standby -c "SELECT status FROM pg_stat_wal_receiver")" = streaming ]
}
wait_streaming() {  # polls the condition (at most $1 seconds)
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    streaming && return 0
    sleep 0.2
  done
  return 1
}
exists() { pg_lsclusters -h | awk -v v="$VERSION" -v c="$REPLICA_CLUSTER" '$1 == v && $2 == c' | grep -q .; }
online() { pg_lsclusters -h | awk -v v="$VERSION" -v c="$REPLICA_CLUSTER" '$1 == v && $2 == c {print $4}' | grep -q online; }

if exists; then
  if ! online; then
    say "starting the existing standby $VERSION/$REPLICA_CLUSTER"
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$REPLICA_CLUSTER" start || true
  fi
  if wait_streaming 15; then
    say "standby $VERSION/$REPLICA_CLUSTER on port $REPLICA_PORT streams from $PG_HOST:$PG_PORT (kept)"
    exit 0
  fi
  say "standby $VERSION/$REPLICA_CLUSTER does not stream from this primary; rebuilding it"
  pg_dropcluster --stop "$VERSION" "$REPLICA_CLUSTER"
fi

if pg_isready -q -h "$PG_HOST" -p "$REPLICA_PORT"; then
  fail "port $REPLICA_PORT is taken by another server (set REPLICA_PORT)"
fi
start=$SECONDS
pg_createcluster "$VERSION" "$REPLICA_CLUSTER" -p "$REPLICA_PORT" >/dev/null
data_dir="/var/lib/postgresql/$VERSION/$REPLICA_CLUSTER"
conf_dir="/etc/postgresql/$VERSION/$REPLICA_CLUSTER"
# The replica answers on the same address as the primary; the tests connect to it over TCP like the primary.
sed -i "s/^#\?listen_addresses.*/listen_addresses = '$PG_HOST'/" "$conf_dir/postgresql.conf"
# The copy is not synced file by file (--no-sync); the standby syncs its whole file system once when it starts
# (syncfs) instead of fsyncing every file, which took over 60 s for a 2.6 GB cluster on a busy machine.
echo "recovery_init_sync_method = syncfs" >>"$conf_dir/postgresql.conf"
cp "$hba" "$conf_dir/pg_hba.conf"
chown postgres:postgres "$conf_dir/pg_hba.conf"
find "$data_dir" -mindepth 1 -delete
say "copying the primary ($(primary -c "SELECT pg_size_pretty(sum(pg_database_size(oid))) FROM pg_database"))"
as_postgres pg_basebackup -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -D "$data_dir" -X stream -R -c fast --no-sync
# pg_ctl gives up waiting after 60 s while a large standby may still be starting: the streaming check decides
pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$REPLICA_CLUSTER" start || true
wait_streaming "$WAIT_SECONDS" || fail "the standby on port $REPLICA_PORT does not stream (see /var/log/postgresql/postgresql-$VERSION-$REPLICA_CLUSTER.log)"
say "standby $VERSION/$REPLICA_CLUSTER on port $REPLICA_PORT streams from $PG_HOST:$PG_PORT (built in $((SECONDS - start)) s)"
