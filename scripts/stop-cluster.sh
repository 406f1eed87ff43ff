#!/usr/bin/env bash
# Stops the nodes scripts/start-cluster.sh started (SIGTERM: each finishes cleanly, its services go `down` after
# the down time). `--purge` also removes their data directories and the default file backup target.
set -euo pipefail
dir=${CINDERBOX_CLUSTER_DIR:-/tmp/cinderbox-cluster}
for pidfile in "$dir"/node*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$pidfile"
done
if [ "${1:-}" = --purge ]; then rm -rf "$dir"; fi
