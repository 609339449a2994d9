#!/usr/bin/env bash
# A throwaway S3 server for the tests: a one-node Ceph cluster (one monitor, one bluestore OSD on
# a sparse file, no cephx between daemons) and its RADOS Gateway, all on loopback in DIR.
#   s3-test-server.sh start DIR   starts it; DIR/env then holds S3_ENDPOINT, the keys and the PIDs
#   s3-test-server.sh stop DIR    stops the daemons by their PIDs and removes DIR
# Needs radosgw, ceph-mon, ceph-osd and ceph-common (Debian's packages; ensure-deps.sh installs them).
# S3_TEST_DEFAULT_ENCRYPTION=off leaves out the default encryption key, so that objects written
# without --s3-sse are stored in the clear (Ceph before 20 cannot CopyObject encrypted objects).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

ACCESS_KEY=prombackuptestaccess
SECRET_KEY=prombackuptestsecretkey0123456789abcdef

# Stops one daemon by the PID in its pid file: TERM, then KILL after five seconds.
stop_one() {
  [ -f "$dir/run/$1.pid" ] || return 0
  local pid
  pid=$(cat "$dir/run/$1.pid")
  rm -f "$dir/run/$1.pid"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  for name in rgw osd mon; do stop_one "$name"; done
}

# A free loopback TCP port, as the kernel hands one out.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether URL answers HTTP (python3 comes with ceph-common, curl may not be there).
answers() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1"
}

# A command to the monitor, tried again for a while: a monitor that has only just formed its
# quorum sometimes answers EPERM ("problem getting command descriptions") on a busy machine.
mon_command() {
  local out
  for _ in $(seq 20); do
    out=$(timeout 10 ceph -c "$conf" --connect-timeout 5 "$@" 2>"$dir/log/ceph-command.err") && { echo "$out"; return 0; }
    sleep 1
  done
  echo "s3-test-server: ceph $* failed: $(cat "$dir/log/ceph-command.err")" >&2
  return 1
}

wait_for() { # SECONDS WHAT COMMAND...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "s3-test-server: $what did not come up in ${seconds}s; logs in $dir/log" >&2
  tail -n 30 "$dir"/log/*.log >&2 || true
  return 1
}

case "$cmd" in
stop)
  stop
  rm -rf "$dir"
  exit 0
  ;;
start) ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

mkdir -p "$dir"/{run,log,mon,osd}
dir=$(cd "$dir" && pwd)
trap 'status=$?; [ $status -eq 0 ] || stop' EXIT
mon_port=$(free_port)
rgw_port=$(free_port)
fsid=$(cat /proc/sys/kernel/random/uuid)
conf=$dir/ceph.conf
cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
keyring = $dir/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
osd crush chooseleaf type = 0
[mon]
mon data = $dir/mon
pid file = $dir/run/mon.pid
[osd]
osd data = $dir/osd
pid file = $dir/run/osd.pid
osd objectstore = bluestore
bluestore block path = $dir/osd.block
bluestore block create = true
bluestore block size = 10737418240
bluestore fsck on mkfs = false
osd memory target = 1073741824
# The OSD's own CRUSH update at start sometimes meets 'wrong fsid' on this version; the script places it.
osd crush update on start = false
osd class update on start = false
bluestore cache autotune = false
bluestore cache size = 134217728
[client.rgw]
pid file = $dir/run/rgw.pid
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw dns name = localhost
# Server-side encryption without TLS or a key server: aws:kms with a fixed test key, and AES256.
rgw crypt require ssl = false
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = prombackup-test-key=$(head -c 32 /dev/urandom | base64)
$([ "${S3_TEST_DEFAULT_ENCRYPTION:-on}" = off ] || echo "rgw crypt default encryption key = $(head -c 32 /dev/urandom | base64)")
CONF

ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" --keyring "$dir/keyring"
ceph-mon -c "$conf" -i a
wait_for 30 "the monitor" timeout 5 ceph -c "$conf" --connect-timeout 3 mon stat

osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(mon_command osd new "$osd_uuid")
mon_command osd crush add "osd.$osd_id" 1.0 root=default >/dev/null
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.log" 2>&1 || { echo "s3-test-server: ceph-osd --mkfs failed:" >&2; grep -- " -1 " "$dir/log/osd-mkfs.log" >&2; exit 1; }
ceph-osd -c "$conf" -i "$osd_id" 2>>"$dir/log/osd.stderr.log" || { echo "s3-test-server: ceph-osd failed to start:" >&2; grep -- " -1 " "$dir/log/osd.stderr.log" >&2; exit 1; }
wait_for 60 "the OSD" bash -c "timeout 5 ceph -c '$conf' --connect-timeout 3 osd dump | grep -q '^osd.$osd_id up'"

radosgw -c "$conf" -n client.rgw
wait_for 120 "the gateway" answers "http://127.0.0.1:$rgw_port/"
# A second storage class in the zone the gateway made, so that --s3-storage-class is seen to
# reach the store; the gateway reads it at start, so it is started again.
radosgw-admin -c "$conf" zonegroup placement add --rgw-zonegroup default --placement-id default-placement --storage-class STANDARD_IA >/dev/null
radosgw-admin -c "$conf" zone placement add --rgw-zone default --placement-id default-placement --storage-class STANDARD_IA --data-pool default.rgw.buckets.data >/dev/null
stop_one rgw
radosgw -c "$conf" -n client.rgw
wait_for 60 "the gateway" answers "http://127.0.0.1:$rgw_port/"
radosgw-admin -c "$conf" user create --uid=prombackup-test --display-name="prombackup tests" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null

cat >"$dir/env" <<ENV
S3_ENDPOINT=http://127.0.0.1:$rgw_port
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
CEPH_CONF=$conf
MON_PID=$(cat "$dir/run/mon.pid")
OSD_PID=$(cat "$dir/run/osd.pid")
RGW_PID=$(cat "$dir/run/rgw.pid")
ENV
cat "$dir/env"
