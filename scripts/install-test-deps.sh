#!/usr/bin/env bash
# System packages the test suites drive: the real OpenStack clients, Tempest, PostgreSQL (the second metadata
# store), Ceph (one mon, one memstore OSD and radosgw: the real S3 server of the S3 suites, scripts/start-ceph.sh),
# wrk for benchmarks and zsh (the CLI's zsh completion test). librbd-dev and librados-dev let `npm run setup` build the
# RBD driver's librbd addon (native/rbd_io.c); python3-rbd is what bench/rbd times Cinder's snapshot path with.
# Chromium runs the console's browser suite and bench/console (driven by playwright-core from npm, which never
# downloads a browser of its own); a font so its screenshots show text.
set -euo pipefail
pkgs=(python3-openstackclient python3-openstacksdk python3-cinderclient tempest wrk e2fsprogs util-linux qemu-utils xfsprogs postgresql
  radosgw ceph-mon ceph-osd ceph-common librbd-dev librados-dev python3-rbd curl iproute2 zsh chromium fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: missing ${missing[*]}; the suites that need them will be skipped" >&2
  exit 0
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
