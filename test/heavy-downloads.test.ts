// The heaviest downloads the server accepts, against the built server: probes keep answering,
// and the archives are what the system's zstd and gzip unpack to the snapshot.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPRESSION_LEVELS, DOWNLOAD_ID_HEADER } from '@prombackup/contract';
import { describeFolder, sha256 } from './support/archive';
import { COMPRESSION_NICE } from '../apps/server/src/common/thread-priority';
import { type ServerProcess, startServer } from './support/processes';
import { statusOf } from './support/downloads';
import { words } from './support/text';

const MiB = 1024 * 1024;
const NAME = '20240101T000000Z-0123456789abcdef';
/** Kubernetes restarts the sidecar when /healthz takes 3 s; we want it well under that. */
const PROBE_LIMIT_MS = 1_000;

let tmp: string;
let snapshotDir: string;
let server: ServerProcess;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'prombackup-heavy-'));
  snapshotDir = path.join(tmp, 'snapshots');
  const block = path.join(snapshotDir, NAME, '01HAAAAAAAAAAAAAAAAAAAAAAA');
  await fs.mkdir(path.join(block, 'chunks'), { recursive: true });
  // Large files start new frames and members; the small ones share them.
  await fs.writeFile(path.join(block, 'chunks', '000001'), words(6 * MiB, 1));
  await fs.writeFile(path.join(block, 'chunks', '000002'), words(3 * MiB, 2));
  await fs.writeFile(path.join(block, 'index'), words(600_000, 3));
  await fs.writeFile(path.join(block, 'meta.json'), '{"ulid":"01HAAAAAAAAAAAAAAAAAAAAAAA"}');
  await fs.writeFile(path.join(block, 'tombstones'), Buffer.alloc(9));
  // Nothing listens there: these tests never need Prometheus.
  server = await startServer(['-prometheus_endpoint', 'http://127.0.0.1:9', '-snapshot_dir', snapshotDir]);
});

afterAll(async () => {
  await server?.stop();
  await fs.rm(tmp, { recursive: true, force: true });
});

/** One /healthz on a new connection, as a kubelet probes: milliseconds until the whole answer. */
function probe(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(`${server.url}/healthz`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`/healthz answered ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

/** Probes /healthz every 100 ms until `work` settles; resolves with every latency. */
async function probeWhile<T>(work: Promise<T>): Promise<{ result: T; latencies: number[] }> {
  const latencies: number[] = [];
  let done = false;
  const probing = (async () => {
    while (!done) {
      latencies.push(await probe());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return { result: await work, latencies };
  } finally {
    done = true;
    await probing;
  }
}

/** Downloads into a file and returns it with the download's recorded outcome. */
async function download(format: 'tgz' | 'tzst', level: number, file: string) {
  const res = await fetch(`${server.url}/api/download?name=${NAME}&format=${format}&level=${level}`);
  expect(res.status).toBe(200);
  const body = Buffer.from(await res.arrayBuffer());
  await fs.writeFile(file, body);
  // The outcome is recorded once the last byte's hash is done, which may come a moment after it.
  const finished = await statusOf(server, res.headers.get(DOWNLOAD_ID_HEADER)!);
  return { body, status: { finished } };
}

/** Unpacks an archive with the system's tools and describes what came out. */
async function unpack(file: string, format: 'tgz' | 'tzst') {
  const tool = format === 'tgz' ? 'gzip' : 'zstd';
  execFileSync(tool, ['-t', file], { stdio: 'pipe' });
  const out = await fs.mkdtemp(path.join(tmp, 'out-'));
  execFileSync('sh', ['-c', `${tool} -d -c "$1" | tar -x -C "$2"`, 'sh', file, out], { stdio: 'pipe' });
  return describeFolder(path.join(out, NAME));
}

/** The nice value of each of the server's threads, main thread first. */
async function threadNiceValues(pid: number): Promise<number[]> {
  const threads = (await fs.readdir(`/proc/${pid}/task`)).sort((a, b) => Number(a) - Number(b));
  const stats = await Promise.all(threads.map((tid) => fs.readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
  return stats.map((stat) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
}

describe('the heaviest accepted downloads', () => {
  it.runIf(process.platform === 'linux')("run libuv's pool (gzip) at a lower priority than the event loop", async () => {
    const nice = await threadNiceValues(server.process.pid!);
    expect(nice[0]).toBe(0);
    // The bin script sets UV_THREADPOOL_SIZE to 10 unless the environment says otherwise.
    expect(nice.filter((n) => n === COMPRESSION_NICE).length).toBeGreaterThanOrEqual(Number(process.env.UV_THREADPOOL_SIZE || 10));
  });

  const heaviest = [
    { format: 'tzst', level: COMPRESSION_LEVELS.tzst.max },
    { format: 'tzst', level: COMPRESSION_LEVELS.tzst.max },
    { format: 'tgz', level: COMPRESSION_LEVELS.tgz.max },
    { format: 'tgz', level: COMPRESSION_LEVELS.tgz.max },
  ] as const;

  it(`keep /healthz answering within ${PROBE_LIMIT_MS} ms, and unpack to the snapshot with zstd and gzip`, async () => {
    const started = performance.now();
    const work = Promise.all(heaviest.map(({ format, level }, i) => download(format, level, path.join(tmp, `heavy-${i}.${format}`))));
    const { result, latencies } = await probeWhile(work);
    const seconds = (performance.now() - started) / 1000;
    // Enough probes to mean something: the downloads must have kept the server busy for a while.
    expect(latencies.length, `downloads took ${seconds.toFixed(1)} s`).toBeGreaterThanOrEqual(10);
    expect(Math.max(...latencies), `latencies: ${latencies.map(Math.round).join(' ')}`).toBeLessThan(PROBE_LIMIT_MS);

    const expected = await describeFolder(path.join(snapshotDir, NAME));
    for (const [i, { format }] of heaviest.entries()) {
      const { body, status } = result[i];
      expect(status.finished).toMatchObject({ success: true, sha256_hex: sha256(body) });
      const restored = await unpack(path.join(tmp, `heavy-${i}.${format}`), format);
      expect(restored.map(({ name, size, sha256: hash }) => ({ name, size, hash }))).toEqual(
        expected.map(({ name, size, sha256: hash }) => ({ name, size, hash })),
      );
    }
  }, 180_000);
});
