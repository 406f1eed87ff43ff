#!/usr/bin/env bash
# Stops the cluster start-postgres.sh started (and with --purge removes its files).
#   scripts/stop-postgres.sh [--purge] [DIR]
set -euo pipefail
purge=0
if [ "${1:-}" = --purge ]; then purge=1; shift; fi
dir=${1:-${CINDERBOX_PG_DIR:-/tmp/cinderbox-pg}}
bindir=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && bindir=$d; done
[ -n "$bindir" ] || bindir=$(dirname "$(command -v pg_ctl)")
as_pg=()
[ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
if [ -f "$dir/data/postmaster.pid" ]; then "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true; fi
if [ $purge = 1 ]; then rm -rf "$dir"; fi
