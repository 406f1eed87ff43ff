#!/usr/bin/env bash
# Stops the cluster start-ceph.sh started: its three daemons, by the PIDs it recorded (and with --purge removes
# its files). SIGKILL: memstore holds test data only, and on SIGTERM the OSD first writes all of it to disk.
#   scripts/stop-ceph.sh [--purge] [DIR]
set -euo pipefail
purge=0
if [ "${1:-}" = --purge ]; then purge=1; shift; fi
dir=${1:-${CINDERBOX_CEPH_DIR:-/tmp/cinderbox-ceph}}
[ -d "$dir" ] || exit 0
# ceph.conf marks a directory start-ceph.sh made: anything else is not ours to touch.
if [ ! -f "$dir/ceph.conf" ]; then
  if [ $purge = 1 ] && [ -n "$(ls -A "$dir")" ]; then echo "stop-ceph: $dir holds no cluster of start-ceph.sh; left alone" >&2; exit 1; fi
  [ $purge = 1 ] && rmdir "$dir"
  exit 0
fi
# Our copies of the PIDs, and the daemons' own pid files (a daemon that failed part-way may only have the latter).
for f in "$dir"/rgw.pid "$dir"/osd.pid "$dir"/mon.pid "$dir"/run/*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  # Only a process that is still the daemon we started: a recycled PID belongs to someone else.
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/ceph.conf"; then
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
done
rm -f "$dir/env"
if [ $purge = 1 ]; then rm -rf "$dir"; fi
