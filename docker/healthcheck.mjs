// Container health check for prombackup-server (the image's HEALTHCHECK runs it with node).
// Asks GET /healthz on the port taken from PROMBACKUP_SERVER_LISTEN_ADDRESS (default ":8080");
// exits 0 when the server answers 200, 1 otherwise. The image has no curl or wget, only node.

const address = process.env.PROMBACKUP_SERVER_LISTEN_ADDRESS || ':8080';
const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
if (!match) {
  console.error(`healthcheck: cannot read a port from PROMBACKUP_SERVER_LISTEN_ADDRESS=${JSON.stringify(address)}`);
  process.exit(1);
}
let host = match[1] ?? match[2];
// A wildcard or empty host means every interface: ask over loopback.
if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
else if (host === '::') host = '::1';
const url = `http://${host.includes(':') ? `[${host}]` : host}:${match[3]}/healthz`;

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
