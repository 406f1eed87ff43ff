#!/usr/bin/env bash
# Starts a cinderbox cluster on this machine: N `cinderbox serve` nodes (default 3) on loopback ports, sharing one
# PostgreSQL database and one backup target, each with its own data directory. Needs the built CLI (npm run build).
#   CINDERBOX_DATABASE_URL=postgres://… scripts/start-cluster.sh [N]
# Settings (environment):
#   CINDERBOX_DATABASE_URL     the shared database (required; scripts/start-postgres.sh prints a throwaway one)
#   CINDERBOX_CLUSTER_DIR      where the nodes' data directories, logs and pid files go (default /tmp/cinderbox-cluster)
#   CINDERBOX_CLUSTER_PORT     first node's port; node i listens on port+i-1 (default 8776)
#   CINDERBOX_BACKUP_TARGETS   the shared backup target, named `shared` (default shared=file://$CINDERBOX_CLUSTER_DIR/backups;
#                              for S3: shared=s3://bucket/prefix?endpoint=http://host:7480&region=default with AWS_* credentials)
#   CINDERBOX_VOLUME_BACKENDS  the same on every node (default local:raw; with Ceph: local:raw,ceph:rbd:POOL?conf=/etc/ceph/ceph.conf&id=cinder&keyring=/etc/ceph/ceph.client.cinder.keyring)
#   CINDERBOX_ADMIN_PASSWORD   the admin password the first node bootstraps (default: generated and printed once)
# Node i is named node<i>. Stop them with scripts/stop-cluster.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
dir=${CINDERBOX_CLUSTER_DIR:-/tmp/cinderbox-cluster}
port=${CINDERBOX_CLUSTER_PORT:-8776}
: "${CINDERBOX_DATABASE_URL:?set CINDERBOX_DATABASE_URL to the shared PostgreSQL database (several nodes cannot share SQLite)}"
[ -f packages/cli/dist/main.js ] && [ -f packages/server/dist/main.js ] || { echo "start-cluster: build first (npm run build)" >&2; exit 3; }
mkdir -p "$dir"
export CINDERBOX_BACKUP_TARGETS=${CINDERBOX_BACKUP_TARGETS:-shared=file://$dir/backups}
export CINDERBOX_DEFAULT_BACKUP_TARGET=shared
export CINDERBOX_VOLUME_BACKENDS=${CINDERBOX_VOLUME_BACKENDS:-local:raw}
export CINDERBOX_DATABASE_URL
# One after the other: the first node migrates the database and bootstraps the admin.
for i in $(seq 1 "$n"); do
  name=node$i
  if [ -f "$dir/$name.pid" ] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then
    echo "$name already runs (pid $(cat "$dir/$name.pid"))"; continue
  fi
  p=$((port + i - 1))
  : >"$dir/$name.log"
  node packages/cli/bin/cinderbox.js serve --node-name "$name" --port "$p" --data-dir "$dir/$name" >"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
  for _ in $(seq 1 120); do
    grep -q 'OS_CLOUD=cinderbox' "$dir/$name.log" && break
    kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null || { echo "start-cluster: $name did not start:" >&2; cat "$dir/$name.log" >&2; rm -f "$dir/$name.pid"; exit 1; }
    sleep 0.5
  done
  grep -q 'OS_CLOUD=cinderbox' "$dir/$name.log" || { echo "start-cluster: $name did not answer in 60 s (log: $dir/$name.log)" >&2; exit 1; }
  echo "$name listening on http://127.0.0.1:$p (data dir $dir/$name, log $dir/$name.log)"
  grep -E 'admin password' "$dir/$name.log" || true
done
echo "clients: export OS_CLIENT_CONFIG_FILE=$dir/node1/clouds.yaml OS_CLOUD=cinderbox (the first node's file holds the admin password; the others' point at their own node without it)"
