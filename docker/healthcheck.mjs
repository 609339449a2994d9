// Container health check for prombackup-server (the image's HEALTHCHECK runs it with node).
// Asks GET /healthz on the server's listen address; exits 0 when it answers 200, 1 otherwise.
// The image has no curl or wget, only node.
//
// The address is read the way the server reads it, by the server's own parser: from its flags
// (`docker run IMAGE -listen_address :9000` or Kubernetes args) and its environment, the flag
// winning. Docker runs this check beside the server, not as its child, so the flags come from
// /proc: the server is PID 1 of the container, or PID 1's child under an init (`docker run
// --init`). Where neither runs the server, only this process's environment counts.
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { parseCommandLine } = require('../apps/server/dist/config/settings.js');
const serverScript = realpathSync(new URL('../apps/server/bin/prombackup-server.js', import.meta.url));

/** The server's arguments and environment, if PID 1 or one of its children is the server. */
function serverProcess() {
  let pids = ['1'];
  try {
    pids = pids.concat(readFileSync('/proc/1/task/1/children', 'utf8').trim().split(/\s+/).filter(Boolean));
  } catch {
    // No /proc, or no access to PID 1: fall back to this process's environment.
  }
  for (const pid of pids) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
      const at = argv.findIndex((arg) => arg.endsWith('prombackup-server.js') && samePath(arg, pid));
      if (at < 0) continue;
      const env = Object.fromEntries(
        readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      return { argv: argv.slice(at + 1), env };
    } catch {
      // The process ended, or belongs to another user: not ours.
    }
  }
  return undefined;
}

/** Whether a path in a process's command line (relative to its working folder) is the server script. */
function samePath(arg, pid) {
  try {
    return realpathSync(arg.startsWith('/') ? arg : `/proc/${pid}/cwd/${arg}`) === serverScript;
  } catch {
    return false;
  }
}

const server = serverProcess() ?? { argv: [], env: process.env };
let settings;
try {
  // Only the listen address matters here. A stand-in snapshot folder lets the parser get that far
  // when the folder is not in what this check can see; a flag or variable naming one still wins.
  const parsed = parseCommandLine(server.argv, { PROMBACKUP_SERVER_SNAPSHOT_DIR: '/', ...server.env });
  if (parsed.kind !== 'run') throw new Error(`the server was started with -${parsed.kind}`);
  settings = parsed.settings;
} catch (err) {
  console.error(`healthcheck: cannot read the server's listen address: ${err.message}`);
  process.exit(1);
}

let host = settings.listenHost;
// No host, or a wildcard, means every interface: ask over loopback.
if (host === undefined || host === '0.0.0.0') host = '127.0.0.1';
else if (host === '::') host = '::1';
const url = `http://${host.includes(':') ? `[${host}]` : host}:${settings.listenPort}/healthz`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (res.status !== 200) {
    console.error(`healthcheck: ${url} answered ${res.status}`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  console.error(`healthcheck: ${url}: ${err.cause?.message ?? err.message}`);
  process.exit(1);
}
