#!/usr/bin/env bash
# Installs what prombackup needs on a Debian-like machine and builds it; idempotent and quiet
# when everything is already there. Sourced by demo.sh and test.sh.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$repo/scripts/ensure-node.sh"

need_apt=()
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
if [ "${PROMBACKUP_WITH_TEST_TOOLS:-0}" = 1 ]; then
  command -v zstd >/dev/null 2>&1 || need_apt+=(zstd)
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  # zstd-napi is optional for users, but the suite tests it: npm ci compiles it (no prebuilt here).
  for tool in python3 make g++; do
    command -v "$tool" >/dev/null 2>&1 || { need_apt+=(python3 make g++); break; }
  done
  # The https:// test of the CLI makes its certificate with openssl.
  command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
  # The s3:// tests run a one-node Ceph cluster with its RADOS Gateway (scripts/s3-test-server.sh).
  for tool in radosgw ceph-mon ceph-osd ceph; do
    command -v "$tool" >/dev/null 2>&1 || { need_apt+=(radosgw ceph-mon ceph-osd ceph-common); break; }
  done
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need_apt[*]} from Debian's packages" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

cd "$repo"
# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ "${PROMBACKUP_WITH_TEST_TOOLS:-0}" = 1 ] && ! node -e 'require("zstd-napi")' 2>/dev/null; then
  echo "zstd-napi did not build (an optional dependency, but the suite tests it): rm -rf node_modules and run again to see npm's error" >&2
  exit 1
fi
if [ "${PROMBACKUP_SKIP_BUILD:-0}" != 1 ]; then
  npm run --silent build
fi
