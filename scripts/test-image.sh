#!/usr/bin/env bash
# npm run test:image (and .ci/run): builds docker/Dockerfile and runs both images for real, on a
# Docker engine of its own, against a real Prometheus on loopback:
#   the server image: -help, its HEALTHCHECK turning healthy, /readyz;
#   the cli image: a verified backup into a bind mount, then the archive checked against the
#   snapshot on disk;
#   both: a non-root user, no dev dependencies, no build tools; the size over the base image.
# Where the FROM image cannot be had (these machines reach no image registry) it builds a
# stand-in: Debian bookworm from debootstrap plus the same Node release from the npm registry,
# tagged with the FROM name. If Docker cannot run here, this says so and fails.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# A supported Node for the stand-in and this script's own checks; no build of the checkout.
PROMBACKUP_NODE=${PROMBACKUP_NODE:-26} source scripts/ensure-node.sh
source scripts/docker-daemon.sh

passed=0
ok() { passed=$((passed + 1)); echo "image: ok - $*" >&2; }
fail() { echo "image: FAILED: $*" >&2; exit 1; }

run_dir=$(mktemp -d /tmp/pbimg.XXXXXX)
pids=()
cleanup() {
  status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "${server_ctr:-}" ] && docker rm -f "$server_ctr" >/dev/null 2>&1
  stop_docker
  # dockerd leaves its network namespace mounted under the exec root.
  awk -v d="$run_dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | xargs -r -n1 umount 2>/dev/null || true
  rm -rf "$run_dir"
  echo "image: $passed passed, $([ "$status" -eq 0 ] && echo 0 || echo 1) failed"
  exit "$status"
}
trap cleanup EXIT

install_docker
# The data root lives in the checkout (git-ignored), so the next run reuses layers and stand-in.
start_docker "$repo/.image-test/docker" "$run_dir"
ok "dockerd $(docker version -f '{{.Server.Version}}') runs with its own data root (pid $DOCKERD_PID)"

base=$(sed -n 's/^ARG NODE_IMAGE=//p' docker/Dockerfile)
[ -n "$base" ] || fail "docker/Dockerfile names no NODE_IMAGE"
node_line=$(sed -n 's/^node:\([0-9]*\)-.*/\1/p' <<<"$base")
if ! docker image inspect "$base" >/dev/null 2>&1; then
  [ "$node_line" = "$(node -p 'process.versions.node.split(".")[0]')" ] || fail "$base: the Node on PATH is $(node --version)"
  echo "image: $base is not here (this script pulls nothing): building a STAND-IN for it" >&2
  echo "image:   (Debian bookworm by debootstrap --variant=minbase, Node $(node --version) and npm from the npm registry)" >&2
  rootfs=$run_dir/rootfs
  # libatomic1: Node 26's binary links against it, and the official image has it.
  debootstrap --variant=minbase --include=libatomic1 bookworm "$rootfs" http://deb.debian.org/debian >"$run_dir/debootstrap.log" 2>&1 \
    || { tail -n 20 "$run_dir/debootstrap.log" >&2; fail "debootstrap"; }
  # apt inside the build reaches Debian as this machine does: same sources, same date checks.
  cp /etc/apt/sources.list.d/* "$rootfs/etc/apt/sources.list.d/" 2>/dev/null && : >"$rootfs/etc/apt/sources.list" || true
  apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' >"$rootfs/etc/apt/apt.conf.d/99stand-in" || true
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # Laid out like the official image: node, its headers and npm under /usr/local.
  node_home=$(dirname "$(dirname "$(command -v node)")")
  cp -a "$node_home/bin/node" "$rootfs/usr/local/bin/"
  cp -a "$node_home/include" "$rootfs/usr/local/"
  npm_tgz=$(cd "$run_dir" && npm pack --silent --pack-destination . npm@11)
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$run_dir/$npm_tgz" --strip-components=1 -C "$rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  tar -C "$rootfs" -c . | docker import -c 'CMD ["node"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >/dev/null
  rm -rf "$rootfs"
  ok "stand-in $base made (not the official image)"
fi

# npm ci inside the build may need this machine's CA (an intercepting proxy): handed in as a
# build secret, mounted for that one RUN, never written into a layer.
build_args=(--network host --build-arg REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")
ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
if [ -n "$ca" ] && [ "$ca" != null ] && [ -f "$ca" ]; then build_args+=(--secret "id=npm_ca,src=$ca"); fi
for target in server cli; do
  DOCKER_BUILDKIT=1 docker build --progress=plain "${build_args[@]}" -f docker/Dockerfile --target "$target" \
    -t "prombackup-$target:test" . >"$run_dir/build-$target.log" 2>&1 \
    || { tail -n 40 "$run_dir/build-$target.log" >&2; fail "docker build --target $target"; }
  ok "built the $target image"
done
# npm inside the build prints no warnings (npm 11 warns about npm_config_* settings it does not
# know; the Dockerfile passes node-gyp's and prebuild-install's settings in their own forms).
warned=$(grep -h 'npm warn' "$run_dir"/build-*.log | sed 's/^#[0-9]* [0-9.]* //' | sort -u || true)
[ -z "$warned" ] || { echo "$warned" >&2; fail "npm warned during the image build"; }
ok "npm printed no warning during the image builds"
# zstd-napi was compiled in the build (npm shows no script output on success; without the
# image's own headers node-gyp would have had to download them, which fails on these machines).
docker run --rm --entrypoint node prombackup-server:test -e '
  const z = require("/app/node_modules/zstd-napi");
  if (z.decompress(z.compress(Buffer.from("prombackup"))).toString() !== "prombackup") process.exit(1);' \
  || fail "zstd-napi does not load in the server image"
ok "zstd-napi loads and round-trips in the server image"
if [ -n "$ca" ] && [ -f "$ca" ]; then
  docker run --rm --entrypoint sh prombackup-server:test -c '! grep -rqs npm_ca /run /etc/npmrc' || fail "the CA is in the image"
  ok "the build's CA secret ($ca) left no trace in the image"
fi

# --- The images' contents -------------------------------------------------------------------------
for image in prombackup-server:test prombackup-cli:test; do
  user=$(docker image inspect -f '{{.Config.User}}' "$image")
  uid=$(docker run --rm --entrypoint id "$image" -u)
  [ -n "$user" ] && [ "$uid" != 0 ] || fail "$image runs as uid $uid (USER '$user')"
done
ok "both images run as uid $uid, not root"
dev_only=$(node -e '
  const { execFileSync } = require("child_process");
  const prod = new Set(execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { encoding: "utf8" })
    .split("\n").map((p) => p.split("node_modules/").slice(1).join("node_modules/")));
  console.log(Object.keys(require("./package.json").devDependencies).filter((d) => !prod.has(d)).join(" "));')
found=$(docker run --rm --entrypoint sh prombackup-server:test -c '
  for d in '"$dev_only"'; do [ -e "/app/node_modules/$d" ] && echo "$d"; done
  for t in gcc g++ cc c++ make python3 node-gyp; do command -v "$t"; done; true')
[ -z "$found" ] || fail "dev dependencies or build tools in the image: $found"
ok "no dev dependencies ($(wc -w <<<"$dev_only") checked) and no compiler, make or python in the image"

base_bytes=$(docker image inspect -f '{{.Size}}' "$base")
image_bytes=$(docker image inspect -f '{{.Size}}' prombackup-server:test)
app_mb=$(( (image_bytes - base_bytes) / 1000000 ))
echo "image: prombackup-server:test is $((image_bytes / 1000000)) MB: $base $((base_bytes / 1000000)) MB + $app_mb MB of application layers" >&2
[ "$app_mb" -le 60 ] || fail "the application layers are $app_mb MB, over the 60 MB target"
ok "application layers $app_mb MB (target: at most 60 MB)"

# --- A real Prometheus on loopback ---------------------------------------------------------------
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_for() { # url what log
  for _ in $(seq 1 120); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.5; done
  tail -n 30 "$3" >&2; fail "$2 did not come up"
}
command -v prometheus >/dev/null || fail "prometheus is not installed (scripts/ensure-deps.sh installs it)"
data=$run_dir/prometheus
mkdir -p "$data"
prom_port=$(free_port)
printf 'global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: p\n    static_configs: [{ targets: ["127.0.0.1:%s"] }]\n' "$prom_port" >"$run_dir/prometheus.yml"
# Prometheus runs as the image's user, as in the sidecar layout: the server may then create and
# delete in the data folder Prometheus writes.
chmod 755 "$run_dir"
chown "$uid:$uid" "$data"
setpriv --reuid="$uid" --regid="$uid" --clear-groups \
  prometheus --config.file="$run_dir/prometheus.yml" --storage.tsdb.path="$data" --web.enable-admin-api \
  --web.listen-address="127.0.0.1:$prom_port" >"$run_dir/prometheus.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$prom_port/-/ready" Prometheus "$run_dir/prometheus.log"
sleep 3 # a few scrapes, so the snapshot holds samples

# --- The server image --------------------------------------------------------------------------------
docker run --rm prombackup-server:test -help >"$run_dir/help.txt" 2>&1 || { cat "$run_dir/help.txt" >&2; fail "-help"; }
grep -q -- '-listen_address' "$run_dir/help.txt" || fail "-help lists no -listen_address"
ok "the server image answers -help"

port=$(free_port)
# The listen address as an argument, the variable naming another port: the health check must
# follow the argument, as the server does. Docker's own check interval is shortened to 2s.
server_ctr=$(docker run -d --network host --health-interval 2s \
  -e PROMBACKUP_SERVER_LISTEN_ADDRESS=:1 -v "$data:$data" prombackup-server:test \
  -listen_address "127.0.0.1:$port" -prometheus_endpoint "http://127.0.0.1:$prom_port" -snapshot_dir "$data/snapshots")
health=""
for _ in $(seq 1 60); do
  health=$(docker inspect -f '{{.State.Health.Status}}' "$server_ctr")
  [ "$health" = healthy ] && break
  [ "$(docker inspect -f '{{.State.Running}}' "$server_ctr")" = true ] || break
  sleep 1
done
[ "$health" = healthy ] || { docker logs "$server_ctr" >&2; docker inspect -f '{{json .State.Health}}' "$server_ctr" >&2; fail "the server container is $health"; }
ok "the server container turned healthy (listen address given as an argument)"
ready=""
for _ in $(seq 1 60); do
  ready=$(curl -sS -w ' %{http_code}' "http://127.0.0.1:$port/readyz" 2>&1 || true)
  [ "${ready##* }" = 200 ] && break
  sleep 0.5
done
[ "${ready##* }" = 200 ] || { docker logs "$server_ctr" >&2; fail "/readyz answered: $ready"; }
ok "/readyz answers 200: the server reaches Prometheus"

# --- The cli image ---------------------------------------------------------------------------------
out=$run_dir/backups
mkdir -p "$out"
chown "$uid" "$out"
# --keep-snapshot: the archive is compared with the snapshot below; create removes it otherwise.
docker run --rm --network host -v "$out:/backups" prombackup-cli:test \
  create -server "http://127.0.0.1:$port" -format tgz -output /backups/ --keep-snapshot >"$run_dir/create.log" 2>&1 \
  || { cat "$run_dir/create.log" >&2; docker logs "$server_ctr" >&2; fail "prombackup create in the cli image"; }
archive=$(find "$out" -name '*.tar.gz')
[ "$(wc -l <<<"$archive")" = 1 ] && [ -n "$archive" ] || fail "expected one archive in the bind mount, found: $(ls "$out")"
snapshot=$(basename "$archive" .tar.gz)
[ -f "$archive.sha256" ] || fail "no $(basename "$archive").sha256 beside the archive"
(cd "$out" && sha256sum -c --quiet "$(basename "$archive").sha256") || fail "the archive's .sha256 does not check"
[ -d "$data/snapshots/$snapshot" ] || fail "no snapshot $snapshot in Prometheus' data"
# The archive holds exactly the snapshot's files, byte for byte.
mkdir "$run_dir/extracted"
tar -xzf "$archive" -C "$run_dir/extracted"
diff -r "$data/snapshots/$snapshot" "$run_dir/extracted/$snapshot" >&2 || fail "the archive differs from the snapshot"
ok "the cli image took a verified backup into the bind mount: $(basename "$archive"), equal to the snapshot"
