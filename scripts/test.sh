#!/usr/bin/env bash
# Runs the whole suite with node's test runner. Node 20 does not expand globs, so the file list is built here.
# `scripts/test.sh unit` skips the suites that drive external clients (Python clients, Tempest).
#
# Two passes: the whole suite on SQLite, then the suites that use a metadata store (HTTP API, services, store,
# tasks, crash) again on PostgreSQL: on $CINDERBOX_TEST_DATABASE_URL if set, else on a loopback cluster this
# script starts with scripts/start-postgres.sh before the first pass (and stops again if it started it). Without PostgreSQL the second
# pass says why it is skipped. The last block printed sums both passes in the runner's own summary format, and
# the exit status is non-zero if either pass failed.
#   CINDERBOX_TEST_PG=0 skips the PostgreSQL pass; CINDERBOX_TEST_PG=require fails when it cannot run.
#
# S3: the suites that need an S3 server find Ceph radosgw through CINDERBOX_TEST_S3_ENDPOINT (+ _ACCESS_KEY,
# _SECRET_KEY, _REGION). Unless the caller set them, this script starts a loopback cluster with
# scripts/start-ceph.sh before the first pass (and stops it again if it started it); without one those suites
# skip with the reason. CINDERBOX_TEST_S3=0 does not start it; CINDERBOX_TEST_S3=require makes its absence a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
mapfile -t files < <(find packages bench -name '*.test.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' | sort)
if [ "$mode" = unit ]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -v -e '/clients/' -e '/tempest/')
fi
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
# tsx strips types without checking them: tests and benchmarks are type-checked here (the packages' builds
# exclude them), so a test cannot pass while asserting on a shape the code no longer has.
npx tsc -p tsconfig.tests.json || exit 1

# Files that open a metadata store, directly or through a test server (the test-support entry points).
mapfile -t pg_files < <(printf '%s\n' "${files[@]}" | grep '^packages/server/src/' | grep -v -e '/tests/clients/' -e '/tests/tempest/' |
  xargs grep -lE 'startTestServer|startCbrServer|startIdentityServer|openTestDatabase|openDatabase|startChild|CINDERBOX_TEST_DATABASE_URL')

# The reporter node would pick by itself (spec on a terminal, TAP otherwise) stays on stdout; a TAP copy of each
# pass goes to a file, for the combined summary.
if [ -t 1 ]; then reporter=spec; prefix='ℹ '; else reporter=tap; prefix='# '; fi
work=$(mktemp -d)
pg_started_dir=""
ceph_started_dir=""
cleanup() {
  if [ -n "$pg_started_dir" ]; then CINDERBOX_PG_DIR=$pg_started_dir bash scripts/stop-postgres.sh --purge || true; fi
  if [ -n "$ceph_started_dir" ]; then bash scripts/stop-ceph.sh --purge "$ceph_started_dir" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

run_pass() { # name, files…
  local name=$1; shift
  # The SQLite pass must not inherit a database URL from the caller's environment.
  local unset=()
  [ "$name" = sqlite ] && unset=(-u CINDERBOX_TEST_DATABASE_URL -u CINDERBOX_DATABASE_URL)
  env "${unset[@]}" node --import tsx --test --test-concurrency=2 --test-timeout=1200000 \
    --test-reporter="$reporter" --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$work/$name.tap" "$@"
}

pg_rc=0
pg_note=""
pg_url=${CINDERBOX_TEST_DATABASE_URL:-}
if [ "${CINDERBOX_TEST_PG:-1}" = 0 ]; then
  pg_note="skipped: CINDERBOX_TEST_PG=0"
elif [ ${#pg_files[@]} -eq 0 ]; then
  pg_note="skipped: no suite uses a metadata store"
elif [ -z "$pg_url" ]; then
  # start-postgres.sh's own defaults: a cluster already running there is reused and left running.
  pg_dir=${CINDERBOX_PG_DIR:-/tmp/cinderbox-pg}
  already=0
  [ -f "$pg_dir/data/postmaster.pid" ] && already=1
  if out=$(CINDERBOX_PG_DIR=$pg_dir bash scripts/start-postgres.sh 2>"$work/pg-start.err"); then
    pg_url=$out
    [ $already = 0 ] && pg_started_dir=$pg_dir
  else
    why=$(grep -E 'FATAL|not installed' "$work/pg-start.err" | tail -1)
    pg_note="skipped: PostgreSQL could not be started (${why:-$(tail -1 "$work/pg-start.err")})"
  fi
fi
# Started before the SQLite pass: suites that need a PostgreSQL server whatever the pass (db copy moves SQLite
# data into one) find it through CINDERBOX_TEST_POSTGRES_URL instead of skipping.
[ -n "$pg_url" ] && [ -z "$pg_note" ] && export CINDERBOX_TEST_POSTGRES_URL=$pg_url

# Ceph radosgw for the S3 suites (it boots in about 15 s), once for both passes.
if [ -z "${CINDERBOX_TEST_S3_ENDPOINT:-}" ] && [ "${CINDERBOX_TEST_S3:-1}" != 0 ]; then
  ceph_dir=${CINDERBOX_CEPH_DIR:-/tmp/cinderbox-ceph}
  ceph_already=0
  [ -f "$ceph_dir/rgw.pid" ] && kill -0 "$(cat "$ceph_dir/rgw.pid")" 2>/dev/null && ceph_already=1
  # 3 GiB of memstore (RAM): the S3 suites and the RBD suites' thin images share the one OSD.
  if out=$(CINDERBOX_CEPH_MEMSTORE_BYTES=${CINDERBOX_CEPH_MEMSTORE_BYTES:-3221225472} bash scripts/start-ceph.sh "$ceph_dir" 2>"$work/ceph-start.err"); then
    while IFS= read -r line; do [[ $line == CINDERBOX_TEST_S3_*=* ]] && export "${line?}"; done <<<"$out"
    [ $ceph_already = 0 ] && ceph_started_dir=$ceph_dir
    echo "${prefix}S3: radosgw at $CINDERBOX_TEST_S3_ENDPOINT"
  else
    echo "${prefix}S3 suites will skip: Ceph could not be started ($(grep -m1 'start-ceph:' "$work/ceph-start.err" || tail -1 "$work/ceph-start.err"))" >&2
    [ "${CINDERBOX_TEST_S3:-1}" = require ] && cat "$work/ceph-start.err" >&2
  fi
fi
start=$(date +%s)
run_pass sqlite "${files[@]}"
sqlite_rc=$?
sqlite_secs=$(($(date +%s) - start))

if [ -n "$pg_url" ] && [ -z "$pg_note" ]; then
  echo "${prefix}PostgreSQL pass: ${#pg_files[@]} files on ${pg_url%%\?*}"
  start=$(date +%s)
  CINDERBOX_TEST_DATABASE_URL=$pg_url run_pass postgres "${pg_files[@]}"
  pg_rc=$?
  pg_note="ran in $(($(date +%s) - start)) s (the SQLite pass: ${sqlite_secs} s)"
fi
if [[ $pg_note == skipped* ]]; then
  echo "${prefix}PostgreSQL pass $pg_note" >&2
  if [ "${CINDERBOX_TEST_PG:-1}" = require ]; then pg_rc=1; fi
fi

# The combined summary: each counter summed over the passes' own final TAP summaries.
summary() { # key
  local total=0 f v
  for f in "$work"/sqlite.tap "$work"/postgres.tap; do
    [ -f "$f" ] || continue
    v=$(grep -E "^# $1 [0-9.]+$" "$f" | tail -1 | awk '{print $3}')
    total=$(awk -v a="$total" -v b="${v:-0}" 'BEGIN { print a + b }')
  done
  echo "$total"
}
echo "${prefix}combined: SQLite pass (exit $sqlite_rc) + PostgreSQL pass (${pg_note}, exit $pg_rc)"
for key in tests suites pass fail cancelled skipped todo duration_ms; do
  echo "${prefix}${key} $(summary "$key")"
done
# The failures by name and place, last, where a CI log's tail shows them.
for f in "$work"/sqlite.tap "$work"/postgres.tap; do
  [ -f "$f" ] || continue
  awk -v pass="$(basename "$f" .tap)" -v prefix="$prefix" '
    /^ *not ok / { name = $0; sub(/^ *not ok [0-9]+ - /, "", name); pending = 1; next }
    pending && /^ *location: / { loc = $0; sub(/^ *location: /, "", loc); gsub(/\x27/, "", loc)
      print prefix "FAILED (" pass "): " name " at " loc; pending = 0 }
  ' "$f"
done
[ "$sqlite_rc" = 0 ] && [ "$pg_rc" = 0 ]
