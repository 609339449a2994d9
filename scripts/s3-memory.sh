#!/usr/bin/env bash
# Measures the CLI's peak memory (max RSS) uploading a 1 GiB backup to S3: a snapshot of 1 GiB of
# random bytes, downloaded by `prombackup download --output s3://` into the RADOS Gateway that
# scripts/s3-test-server.sh starts. Run after `npm run build`; prints one line.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:-1024}
format=${2:-tar}
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  "$repo/scripts/s3-test-server.sh" stop "$work/rgw" || true
  rm -rf "$work"
}
trap cleanup EXIT

"$repo/scripts/s3-test-server.sh" start "$work/rgw" >/dev/null
set -a
source "$work/rgw/env"
set +a
name=20240101T000000Z-0123456789abcdef
block=$work/snapshots/$name/01HAAAAAAAAAAAAAAAAAAAAAAA
mkdir -p "$block/chunks"
head -c "$((mib * 1024 * 1024))" /dev/urandom >"$block/chunks/000001"
echo '{}' >"$block/meta.json"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
node "$repo/apps/server/bin/prombackup-server.js" -listen_address "127.0.0.1:$port" -prometheus_endpoint http://127.0.0.1:9 -snapshot_dir "$work/snapshots" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz')" 2>/dev/null && break; sleep 0.1; done

export AWS_ENDPOINT_URL=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_REGION=us-east-1
(cd "$repo" && node -e '
  const { S3Client, CreateBucketCommand } = require("@aws-sdk/client-s3");
  new S3Client({ forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: "memory" })).catch((e) => { console.error(e); process.exit(1); });
')
/usr/bin/time -f '%M %e' -o "$work/time" "$repo/apps/cli/bin/run.js" download "$name" --server "http://127.0.0.1:$port" \
  --format "$format" --output s3://memory/ --s3-path-style --json >"$work/result.json"
read -r rss_kib seconds <"$work/time"
bytes=$(node -e 'console.log(require(process.argv[1]).bytes)' "$work/result.json")
echo "s3 upload of a ${mib} MiB snapshot as $format ($bytes bytes): max RSS $((rss_kib / 1024)) MiB, ${seconds}s"
