#!/usr/bin/env bash
# Installs what cinderbox needs on this machine and builds it. Safe to run again.
# As root on Debian/Ubuntu it installs the few system packages through apt-get; elsewhere it says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v make >/dev/null 2>&1 || need_pkgs+=(make)
command -v g++ >/dev/null 2>&1 || need_pkgs+=(g++)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
command -v filefrag >/dev/null 2>&1 || need_pkgs+=(e2fsprogs)
command -v fallocate >/dev/null 2>&1 || need_pkgs+=(util-linux)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_pkgs[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${need_pkgs[*]} (install them with your package manager, then run npm run setup again)" >&2
    exit 1
  fi
fi

# qcow2 volume driver (O(1) snapshots, changed-block tracking): optional, so its absence never fails setup.
if ! command -v qemu-img >/dev/null 2>&1 || ! command -v qemu-io >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing qemu-utils with apt-get (qcow2 volume driver)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-utils >/dev/null; } ||
      echo "setup: qcow2 volume driver unavailable: apt-get install qemu-utils failed; volumes will use the raw driver"
  elif [ "$(id -u)" != 0 ]; then
    echo "setup: qcow2 volume driver unavailable: qemu-img not found and not root to install qemu-utils; volumes will use the raw driver"
  else
    echo "setup: qcow2 volume driver unavailable: qemu-img not found and no apt-get here (install qemu-utils or your system's qemu-img package); volumes will use the raw driver"
  fi
fi

# librbd addon for rbd backends (native/rbd_io.c): optional; without its headers those backends use the rbd tool.
if command -v rbd >/dev/null 2>&1 && [ ! -f /usr/include/rbd/librbd.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing librbd-dev and librados-dev with apt-get (rbd backends through librbd)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends librbd-dev librados-dev >/dev/null; } ||
      echo "setup: librbd-dev unavailable: rbd backends will use the rbd tool (slower backups and snapshots)"
  else
    echo "setup: rbd backends will use the rbd tool: install librbd-dev and librados-dev (or your system's librbd headers) and run setup again for librbd"
  fi
fi

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
node packages/server/native/build.mjs
npm run build
# The web console (packages/console): bundled by esbuild into packages/console/dist, which serve answers under /console/.
npm run build --workspace @cinderbox/console
echo "setup: done. Start the service with: npx cinderbox serve"
