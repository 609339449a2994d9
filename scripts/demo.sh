#!/usr/bin/env bash
# The main job on a built-in default: a throwaway local Prometheus with the admin API, the
# server beside it, and one verified backup archive written into the current folder.
#   FORMAT=tgz|tzst|tar (default tgz)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out_dir=$PWD
# `npm run demo` runs this from the package folder; INIT_CWD is where the user typed it.
if [ "${npm_lifecycle_event:-}" = demo ] && [ -n "${INIT_CWD:-}" ]; then out_dir=$INIT_CWD; fi
format=${FORMAT:-tgz}
source "$repo/scripts/ensure-deps.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/prombackup-demo.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_for() { # url, what
  for _ in $(seq 1 120); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.5; done
  echo "$2 did not come up; its log:" >&2; cat "$3" >&2; exit 1
}

prom_port=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global: { scrape_interval: 1s }
scrape_configs:
  - job_name: prometheus
    static_configs: [{ targets: ['127.0.0.1:$prom_port'] }]
YAML
echo "starting Prometheus on 127.0.0.1:$prom_port (data in $work/data)" >&2
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" --web.enable-admin-api >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$prom_port/-/ready" Prometheus "$work/prometheus.log"
# Prometheus starts scraping about 5s after start; wait for a few scrapes so the snapshot holds data.
for _ in $(seq 1 60); do
  appended=$(curl -fsS "http://127.0.0.1:$prom_port/metrics" | awk '/^prometheus_tsdb_head_samples_appended_total/ {n += $2} END {print n + 0}')
  [ "${appended%.*}" -ge 2000 ] && break
  sleep 0.5
done

server_port=$(free_port)
echo "starting prombackup-server on 127.0.0.1:$server_port" >&2
"$repo/apps/server/bin/prombackup-server.js" -listen_address "127.0.0.1:$server_port" \
  -prometheus_endpoint "http://127.0.0.1:$prom_port" -snapshot_dir "$work/data/snapshots" >"$work/server.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$server_port/readyz" prombackup-server "$work/server.log"

cd "$out_dir"
node "$repo/apps/cli/bin/run.js" create -server "http://127.0.0.1:$server_port" -format "$format"
echo "done: the archive above is verified against the server's SHA-256; restore it with" >&2
echo "  tar -xf <archive> && prometheus --storage.tsdb.path=<extracted folder> --storage.tsdb.retention.time=100y" >&2
