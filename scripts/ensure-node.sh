#!/usr/bin/env bash
# Puts a supported Node.js first on PATH; sourced by ensure-deps.sh (so by `npm test`, the demo
# and .ci/run) and by scripts/test-image.sh.
#
# Supported lines: 22.12+, 24 and 26, as package.json's "engines" says (keep the two in step).
# When the Node on PATH is none of them, or PROMBACKUP_NODE names another line (.ci/run does, to
# run the suite on each line), this installs that line's official build into .node/<line>/ of the
# checkout. It comes from the npm registry's node-linux-<arch> package, the one download source
# these machines reach; the package carries include/node as well, so node-gyp builds native
# addons (zstd-napi) against the headers of the Node that will load them, without a download.
# npm itself is the system's: it runs on whichever node is first on PATH.
# To move to a newer release of a line, delete .node/<line>.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Exits 0 when the node given runs a supported line (and, with a line given, is on that line).
node_fits() { # node [line]
  "$1" -e '
    const [major, minor] = process.versions.node.split(".").map(Number);
    const supported = (major === 22 && minor >= 12) || major === 24 || major >= 26;
    const line = process.argv[1];
    process.exit(supported && (!line || String(major) === line) ? 0 : 1);' "${2:-}" 2>/dev/null
}

if ! command -v node >/dev/null 2>&1 || ! node_fits node "${PROMBACKUP_NODE:-}"; then
  line=${PROMBACKUP_NODE:-26}
  case "$line" in 22 | 24 | 26) ;; *) echo "PROMBACKUP_NODE=$line: supported lines are 22, 24 and 26" >&2; return 1 ;; esac
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "no Node.js package for $(uname -m) on the npm registry; install Node 22.12+, 24 or 26 yourself" >&2; return 1 ;;
  esac
  node_home="$repo/.node/$line"
  if [ ! -x "$node_home/bin/node" ]; then
    command -v npm >/dev/null 2>&1 || { echo "npm is needed to fetch Node $line from the npm registry" >&2; return 1; }
    echo "installing Node $line (node-linux-$arch from the npm registry) into .node/$line" >&2
    fetch_dir=$(mktemp -d)
    # Unpacked beside the target and moved into place, so an interrupted run leaves no half copy.
    if ! tarball=$(cd "$fetch_dir" && npm pack --silent --pack-destination . "node-linux-$arch@$line") \
      || ! mkdir -p "$node_home.partial" \
      || ! tar -xzf "$fetch_dir/$tarball" --strip-components=1 -C "$node_home.partial"; then
      rm -rf "$fetch_dir" "$node_home.partial"
      echo "could not install Node $line from the npm registry" >&2
      return 1
    fi
    rm -rf "$fetch_dir" "$node_home"
    mv "$node_home.partial" "$node_home"
  fi
  export PATH="$node_home/bin:$PATH"
  # node-gyp's headers: those of this Node (the machine's npmrc may point at the system Node's).
  # In node-gyp's own variable, which wins over npmrc's nodedir and which npm 11 does not warn about.
  export npm_package_config_node_gyp_nodedir="$node_home"
  hash -r
  node_fits node "$line" || { echo "$node_home/bin/node does not run here" >&2; return 1; }
  echo "using Node $(node --version) from .node/$line" >&2
fi
