#!/usr/bin/env bash
# A private Docker engine for scripts/test-image.sh, sourced by it. Docker comes from Debian's
# docker.io package. The daemon gets its own data root (in the checkout, so layers and the
# stand-in base image are reused by the next run), its own exec root, pid file and socket (in a
# short temporary folder: socket paths are limited to 108 bytes), so it never meets a system
# Docker or another checkout's. It is stopped by its PID on exit.
#
# Containers get no bridge network (and the daemon touches no iptables rules): the test runs
# them on the host network, where its Prometheus listens on loopback.

# Debian's client, which matches Debian's daemon and builds with BuildKit without the buildx
# plugin (a newer client elsewhere on PATH wants that plugin).
docker() { /usr/bin/docker "$@"; }

install_docker() {
  command -v dockerd >/dev/null 2>&1 && [ -x /usr/bin/docker ] && command -v debootstrap >/dev/null 2>&1 && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "image: installing docker.io and debootstrap from Debian's packages" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker.io debootstrap >/dev/null
}

# Starts the daemon; sets DOCKER_HOST for the docker commands that follow.
start_docker() { # data-root run-dir
  local data_root=$1 run_dir=$2
  mkdir -p "$data_root"
  dockerd --data-root "$data_root" --exec-root "$run_dir/exec" --pidfile "$run_dir/dockerd.pid" \
    --host "unix://$run_dir/docker.sock" --bridge=none --iptables=false --ip6tables=false \
    >"$run_dir/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST="unix://$run_dir/docker.sock"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.5
  done
  echo "image: FAILED: Docker cannot run on this machine; dockerd's log:" >&2
  tail -n 30 "$run_dir/dockerd.log" >&2
  return 1
}

stop_docker() {
  [ -n "${DOCKERD_PID:-}" ] || return 0
  kill "$DOCKERD_PID" 2>/dev/null || true
  # dockerd stops its containers and its containerd before it exits.
  for _ in $(seq 1 40); do kill -0 "$DOCKERD_PID" 2>/dev/null || return 0; sleep 0.5; done
  kill -9 "$DOCKERD_PID" 2>/dev/null || true
}
