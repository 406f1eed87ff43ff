#!/usr/bin/env bash
# Starts a throwaway Ceph cluster for tests and benchmarks: one mon, one memstore OSD and one radosgw, on
# 127.0.0.1 only, and prints what an S3 client needs as KEY=VALUE lines (also written to DIR/env):
#   CINDERBOX_TEST_S3_ENDPOINT, CINDERBOX_TEST_S3_REGION, CINDERBOX_TEST_S3_ACCESS_KEY, CINDERBOX_TEST_S3_SECRET_KEY
#   scripts/start-ceph.sh [DIR]      (default DIR: ${CINDERBOX_CEPH_DIR:-/tmp/cinderbox-ceph})
# Ports: $CINDERBOX_CEPH_MON_PORT (default 6789), $CINDERBOX_CEPH_RGW_PORT (default 7480). The monitor commits
# every 0.05 s at most instead of every 1 s (see [mon] below: RBD snapshots wait for it). Idempotent: a cluster
# already running from DIR is reused. memstore keeps objects in RAM (the OSD grows by about twice what is stored),
# capped by $CINDERBOX_CEPH_MEMSTORE_BYTES (default 1 GiB); every boot starts empty. Stop it with stop-ceph.sh.
# Recipe and measured facts: ../shared/specs/stack-and-style.md §2.3.
set -euo pipefail
dir=${1:-${CINDERBOX_CEPH_DIR:-/tmp/cinderbox-ceph}}
mon_port=${CINDERBOX_CEPH_MON_PORT:-6789}
rgw_port=${CINDERBOX_CEPH_RGW_PORT:-7480}
memstore_bytes=${CINDERBOX_CEPH_MEMSTORE_BYTES:-1073741824}
boot_timeout=${CINDERBOX_CEPH_BOOT_TIMEOUT:-120}
conf=$dir/ceph.conf
endpoint="http://127.0.0.1:${rgw_port}"

for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool; do
  command -v "$b" >/dev/null 2>&1 ||
    { echo "start-ceph: $b not installed (Debian: apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common)" >&2; exit 3; }
done

alive() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }
# Any HTTP answer from the rgw port (an anonymous GET / is 200 on radosgw).
rgw_answers() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$endpoint/" 2>/dev/null)" = 200 ]; }
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

if alive mon && alive osd && alive rgw && [ -f "$dir/env" ] && rgw_answers; then
  cat "$dir/env"; exit 0
fi

# Something half-started from DIR (or a cluster left from an earlier boot): clear it before starting afresh. A
# non-empty DIR that is not ours is refused, never cleared.
if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/ceph.conf" ]; then
  echo "start-ceph: $dir is not empty and holds no cluster of this script; choose another CINDERBOX_CEPH_DIR" >&2
  exit 1
fi
if [ -d "$dir" ]; then bash "$(dirname "$0")/stop-ceph.sh" --purge "$dir"; fi
for p in "$mon_port" "$rgw_port"; do
  if listening "$p"; then
    echo "start-ceph: port $p is in use by another process; set CINDERBOX_CEPH_MON_PORT / CINDERBOX_CEPH_RGW_PORT" >&2
    exit 1
  fi
done

mkdir -p "$dir"
chmod 700 "$dir"
fsid=$(cat /proc/sys/kernel/random/uuid)
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
access_key=cbx$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
secret_key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')

cat >"$conf" <<EOF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:$mon_port
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
ms_bind_port_min = 6800
ms_bind_port_max = 7300
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
run_dir = $dir/run
log_file = $dir/log/\$name.log
admin_socket = $dir/run/\$name.asok
keyring = $dir/keyring
pid_file = $dir/run/\$name.pid
mon_data_avail_crit = 1
mon_data_avail_warn = 2
[mon]
mon_data = $dir/mon/\$id
# The RBD suites create and delete a throwaway pool each.
mon_allow_pool_delete = true
# An RBD snapshot takes a snapshot id from the monitor, which is a Paxos commit: it waits out
# paxos_propose_interval (1 s by default) after the previous commit, and paxos_min_wait (0.05 s) to batch updates.
# With the defaults a snapshot costs 1 s on a monitor that committed anything in the last second, which is almost
# always when clients are busy. These bring it to tens of milliseconds (bench/rbd --own-cluster measures both).
# Overrides: CINDERBOX_CEPH_PAXOS_PROPOSE_INTERVAL, CINDERBOX_CEPH_PAXOS_MIN_WAIT.
paxos_propose_interval = ${CINDERBOX_CEPH_PAXOS_PROPOSE_INTERVAL:-0.05}
paxos_min_wait = ${CINDERBOX_CEPH_PAXOS_MIN_WAIT:-0.001}
[osd]
osd_data = $dir/osd/\$id
osd_objectstore = memstore
memstore_device_bytes = $memstore_bytes
# Without this about one boot in three failed: the OSD asked the mon to set its device class before it had the
# cluster's identity and exited ("update_crush_device_class: Operation not permitted").
osd_class_update_on_start = false
# For the same reason (seen here: "mon_cmd_maybe_osd_create fail: 'wrong fsid'"): the script places the OSD in
# the CRUSH map itself.
osd_crush_update_on_start = false
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_data = $dir/rgw
# Deleted multipart tails are reclaimed after a minute, not two hours: memstore holds them in RAM until then.
rgw_gc_obj_min_wait = 60
rgw_gc_processor_period = 60
EOF
# After ceph.conf, which marks DIR as this script's (stop-ceph.sh --purge deletes nothing else).
mkdir -p "$dir"/{mon,osd,rgw,run,log}

fail() {
  echo "start-ceph: $1" >&2
  for f in "$dir"/log/*.log "$dir"/*.out; do
    [ -f "$f" ] || continue
    echo "--- $f (last 40 lines)" >&2
    tail -40 "$f" >&2
  done
  bash "$(dirname "$0")/stop-ceph.sh" "$dir" || true
  exit 1
}
deadline=$(($(date +%s) + boot_timeout))
wait_for() { # description, command…
  local what=$1; shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${boot_timeout} s waiting for $what"
    sleep 0.5
  done
}
ceph_() { timeout 30 ceph -c "$conf" --connect-timeout 10 "$@"; }
# Setup commands, retried: a young mon sometimes answers one with "EPERM: problem getting command descriptions"
# (2 boots in 12 here). Each is idempotent (osd create with a uuid returns the same id; crush add updates).
ceph_setup() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if ceph_ "$@" 2>>"$dir/mkfs.out"; then return 0; fi
    echo "start-ceph: ceph $* failed (attempt $attempt)" >>"$dir/mkfs.out"
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 1
  done
  return 1
}
# Each daemon runs in the foreground (-f) in a session of its own, so its PID is known at once (a daemonizing one
# only writes a pid file once it is up, too late to see it die) and the script's caller keeps no pipe of it.
start_daemon() { # our name, command…
  local name=$1; shift
  setsid "$@" -f </dev/null >>"$dir/$name.out" 2>&1 &
  echo $! >"$dir/$name.pid"
}
# Monitor.
monmaptool --create --clobber --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >"$dir/mkfs.out" 2>&1 ||
  fail "monmaptool failed"
ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >>"$dir/mkfs.out" 2>&1 ||
  fail "ceph-authtool failed"
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" >>"$dir/mkfs.out" 2>&1 || fail "ceph-mon --mkfs failed"
start_daemon mon ceph-mon -c "$conf" -i a
mon_up() { alive mon || fail "ceph-mon exited"; ceph_ mon stat >/dev/null 2>&1; }
wait_for "the monitor to answer" mon_up

# OSD: memstore in RAM. The start is retried (spec §2.3: an early OSD can still exit during its first seconds).
osd_id=$(ceph_setup osd create "$osd_uuid") || fail "ceph osd create failed"
mkdir -p "$dir/osd/$osd_id"
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >>"$dir/mkfs.out" 2>&1 || fail "ceph-osd --mkfs failed"
ceph_setup osd crush add-bucket localhost host >>"$dir/mkfs.out" || fail "crush add-bucket failed"
ceph_setup osd crush move localhost root=default >>"$dir/mkfs.out" || fail "crush move failed"
ceph_setup osd crush add "osd.$osd_id" 1.0 host=localhost >>"$dir/mkfs.out" || fail "crush add failed"
osd_up() { ceph_ osd dump 2>/dev/null | grep -q "^osd.$osd_id up"; }
ok=0
for attempt in 1 2 3; do
  start_daemon osd ceph-osd -c "$conf" -i "$osd_id"
  for _ in $(seq 1 60); do
    if osd_up; then ok=1; break; fi
    alive osd || break
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.5
  done
  if [ $ok = 1 ]; then break; fi
  echo "start-ceph: the OSD did not come up (attempt $attempt)" >&2
  kill -9 "$(cat "$dir/osd.pid")" 2>/dev/null || true
  [ "$(date +%s)" -lt "$deadline" ] || break
  sleep 1
done
[ $ok = 1 ] || fail "the OSD did not come up"

# radosgw, and an S3 user. The gateway creates its pools on first start.
start_daemon rgw radosgw -c "$conf" -n client.rgw.a
rgw_up() { alive rgw || fail "radosgw exited"; rgw_answers; }
wait_for "radosgw to answer on $endpoint" rgw_up
timeout 60 radosgw-admin -c "$conf" user create --uid=cinderbox-test --display-name="cinderbox tests" \
  --access-key="$access_key" --secret-key="$secret_key" >"$dir/user.out" 2>&1 || fail "radosgw-admin user create failed"

cat >"$dir/env" <<EOF
CINDERBOX_TEST_S3_ENDPOINT=$endpoint
CINDERBOX_TEST_S3_REGION=default
CINDERBOX_TEST_S3_ACCESS_KEY=$access_key
CINDERBOX_TEST_S3_SECRET_KEY=$secret_key
EOF
chmod 600 "$dir/env"
cat "$dir/env"
