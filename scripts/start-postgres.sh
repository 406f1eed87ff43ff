#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for tests and benchmarks, on 127.0.0.1 only, and prints its URL.
#   scripts/start-postgres.sh [DIR]      (default DIR: ${CINDERBOX_PG_DIR:-/tmp/cinderbox-pg})
# Port: $CINDERBOX_PG_PORT (default 55432). Idempotent: a cluster already running in DIR is reused.
# The cluster trades durability for speed (fsync off): it holds test data only. Stop it with stop-postgres.sh.
set -euo pipefail
dir=${1:-${CINDERBOX_PG_DIR:-/tmp/cinderbox-pg}}
port=${CINDERBOX_PG_PORT:-55432}
url="postgres://cinderbox:cinderbox@127.0.0.1:${port}/cinderbox"

bindir=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir=$d; done
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then bindir=$(dirname "$(command -v initdb)"); fi
if [ -z "$bindir" ]; then echo "start-postgres: PostgreSQL not installed (Debian: apt-get install postgresql)" >&2; exit 3; fi

# initdb and postgres refuse to run as root: run them as the packaged postgres user.
as_pg=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  as_pg=(runuser -u postgres --)
fi

if [ -f "$dir/data/postmaster.pid" ] && "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  echo "$url"; exit 0
fi

mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
chmod 700 "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then
  # C collation: ORDER BY compares bytes, as SQLite does, so both stores page and sort identically.
  "${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --locale=C --encoding=UTF8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
fi
"${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
  "-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB" \
  >/dev/null || { tail -30 "$dir/server.log" >&2; exit 1; }
psql=("${as_pg[@]}" "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname = 'cinderbox'")" != 1 ]; then
  # CREATEDB: each test server gets a database of its own.
  "${psql[@]}" -c "create role cinderbox login createdb password 'cinderbox'"
fi
# DROP DATABASE ... WITH (FORCE) terminates whatever is connected to a test database, which can be an autovacuum
# worker; only a member of pg_signal_backend may terminate a backend it does not own.
"${psql[@]}" -c "grant pg_signal_backend to cinderbox" || echo "start-postgres: could not grant pg_signal_backend; test databases may be slow to drop" >&2
if [ "$("${psql[@]}" -c "select 1 from pg_database where datname = 'cinderbox'")" != 1 ]; then
  "${psql[@]}" -c "create database cinderbox owner cinderbox"
fi
echo "$url"
