#!/bin/sh
# Runs a command against a throwaway PostgreSQL cluster (Debian's postgresql) listening
# only on a Unix socket in a temporary directory, then stops the cluster and removes it.
#   scripts/with-postgres.sh .venv/bin/pytest
set -eu
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
base=$(mktemp -d /tmp/amparo-pg.XXXXXX)
chmod 755 "$base"
# PostgreSQL refuses to run as root; run the server as the postgres user when we are root.
if [ "$(id -u)" = 0 ]; then
    chown postgres "$base"
    as_server() { runuser -u postgres -- "$@"; }
else
    as_server() { "$@"; }
fi
as_server "$PGBIN/initdb" -D "$base/data" -U amparo -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
stop() {
    as_server "$PGBIN/pg_ctl" -D "$base/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$base"
}
trap stop EXIT INT TERM
# A throwaway test cluster: durability settings off for speed (the crash benchmarks use their own).
as_server "$PGBIN/pg_ctl" -D "$base/data" -l "$base/server.log" -w \
    -o "-k $base -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
DATABASE_URL="postgres://amparo@/amparo?host=$base"
export DATABASE_URL
as_server "$PGBIN/createdb" -h "$base" -U amparo amparo
"$@"
