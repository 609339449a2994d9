// The "levels" group of the benchmark: the server's peak RSS and the slowest /healthz answer
// for one download and for --concurrency downloads at every compression level the API accepts.
// Each measurement starts on a fresh (warmed-up) server and lasts at most --level-seconds: the
// slow levels reach their peak within their first frames, and would otherwise take minutes.

import http from 'node:http';
import { fmtBytes, fmtSecs, log, measureShell, shq } from './util.mjs';

const MiB = 1024 * 1024;
/** Levels as libs/contract COMPRESSION_LEVELS has them (a script cannot import its TypeScript). */
const LEVELS = { tgz: [1, 9], tzst: [1, 19] };
/** The memory limit in the Kubernetes manifests (docker/k8s, docker/operator). */
const MANIFEST_LIMIT = 384 * MiB;

/** Milliseconds until /healthz has answered on a new connection, as a kubelet probes. */
function probe(baseUrl) {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(`${baseUrl}/healthz`, { agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
    req.on('error', () => resolve(Infinity));
    req.on('timeout', () => req.destroy());
  });
}

/** Probes every 100 ms until `work` settles; resolves with the work's result and the slowest probe. */
async function probeWhile(baseUrl, work) {
  let slowest = 0;
  let probes = 0;
  let done = false;
  const probing = (async () => {
    while (!done) {
      slowest = Math.max(slowest, await probe(baseUrl));
      probes++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const result = await work;
  done = true;
  await probing;
  return { result, slowest, probes };
}

/** One measurement: `n` downloads at once, each cut off after `seconds`. */
async function measure(bench, format, level, n, seconds) {
  await bench.freshServer();
  const url = bench.downloadUrl(bench.snapName, format, level);
  const curl = `curl -sS -o /dev/null --max-time ${seconds} -w '%{http_code} %{size_download}\\n' ${shq(url)}`;
  // curl exits 28 when --max-time cuts a download; that is the plan, not an error.
  const script = `${Array.from({ length: n }, () => `(${curl} || true) &`).join('\n')}\nwait`;
  await bench.waitQuiet();
  const { result: m, slowest, probes } = await probeWhile(bench.serverUrl, measureShell(script, { serverPid: bench.server.pid }));
  const answers = m.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ').map(Number));
  const refused = answers.filter(([code]) => code !== 200).length;
  const outBytes = answers.reduce((sum, [, size]) => sum + (size || 0), 0);
  const row = { format, level, n, peakRss: m.serverPeakRss, slowestProbeMs: slowest, probes, seconds: m.seconds, outMBps: outBytes / m.seconds / 1e6, refused };
  log(
    `  ${format} level ${level}, ${n} at once: peak RSS ${fmtBytes(row.peakRss)}, slowest /healthz ${Math.round(slowest)} ms of ${probes}, ` +
      `${row.outMBps.toFixed(1)} MB/s out in ${fmtSecs(m.seconds)}${refused ? `, ${refused} refused` : ''}`,
  );
  return row;
}

/** Runs the group; returns its rows and a Markdown table. */
export async function measureLevels(bench, { seconds, concurrency, formats = Object.keys(LEVELS) }) {
  const rows = [];
  for (const [format, [min, max]] of Object.entries(LEVELS).filter(([f]) => formats.includes(f))) {
    for (let level = min; level <= max; level++) {
      for (const n of [1, concurrency]) rows.push(await measure(bench, format, level, n, seconds));
    }
  }
  return { rows, markdown: markdown(rows, concurrency, seconds, formats) };
}

function markdown(rows, concurrency, seconds, formats) {
  const cell = (format, level, n) => rows.find((r) => r.format === format && r.level === level && r.n === n);
  const mib = (b) => (b / MiB).toFixed(0);
  const md = [
    `Server peak RSS (MiB) and the slowest /healthz answer (ms, a probe every 100 ms), for one download and for ${concurrency} at once, ` +
      `each cut off after ${seconds} s at most; the manifests allow ${mib(MANIFEST_LIMIT)} MiB.`,
    '',
    `| format | level | 1: peak RSS | 1: slowest /healthz | ${concurrency}: peak RSS | ${concurrency}: slowest /healthz |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const [format, [min, max]] of Object.entries(LEVELS).filter(([f]) => formats.includes(f))) {
    for (let level = min; level <= max; level++) {
      const one = cell(format, level, 1);
      const many = cell(format, level, concurrency);
      const over = (r) => (r.peakRss > MANIFEST_LIMIT ? ' **over**' : '') + (r.refused ? ` (${r.refused} refused)` : '');
      md.push(
        `| ${format} | ${level} | ${mib(one.peakRss)}${over(one)} | ${Math.round(one.slowestProbeMs)} | ${mib(many.peakRss)}${over(many)} | ${Math.round(many.slowestProbeMs)} |`,
      );
    }
  }
  return md.join('\n');
}
