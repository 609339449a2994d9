// Many full backup cycles at once, with autoprune running: nothing fails, nothing leaks.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOWNLOAD_ID_HEADER } from '@prombackup/contract';
import { type ServerProcess, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, waitForHeadSamples } from './support/prometheus';

const CLIENTS = 4;
const CYCLES = 200; // in all, CYCLES / CLIENTS per client
const FORMATS = ['tar', 'tgz', 'tzst'] as const;

let prom: PrometheusInstance;
let server: ServerProcess;

beforeAll(async () => {
  prom = await startPrometheus();
  await waitForHeadSamples(prom.url);
  server = await startServer([
    '-prometheus_endpoint', prom.url,
    '-snapshot_dir', prom.snapshotDir,
    '-autoprune', '-autoprune_interval', '1s', '-autoprune_keep_within', '5s',
  ]);
});

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
});

/** One request on a fresh connection (no keep-alive, so descriptors can be counted afterwards). */
function request(method: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method, agent: false, headers: { Connection: 'close' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function cycle(n: number): Promise<void> {
  const snap = await request('POST', `/api/snapshot?skip_head=${n % 2 === 0}`);
  if (snap.status !== 303) throw new Error(`cycle ${n}: snapshot answered ${snap.status} ${snap.body}`);
  const name = JSON.parse(snap.body.toString()).name as string;
  const format = FORMATS[n % FORMATS.length];
  const dl = await request('GET', `/api/download?name=${name}&format=${format}`);
  if (dl.status !== 200) throw new Error(`cycle ${n}: download answered ${dl.status} ${dl.body}`);
  const id = dl.headers[DOWNLOAD_ID_HEADER.toLowerCase()] as string;
  const sha = createHash('sha256').update(dl.body).digest('hex');
  for (let i = 0; ; i++) {
    const status = JSON.parse((await request('GET', `/api/download_status?id=${id}`)).body.toString());
    if (status.finished) {
      if (!status.finished.success || status.finished.sha256_hex !== sha) {
        throw new Error(`cycle ${n}: download ${id} not verified: ${JSON.stringify(status.finished)}`);
      }
      break;
    }
    if (i > 200) throw new Error(`cycle ${n}: download ${id} never finished`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const prune = await request('POST', '/api/prune?keep_within=5s');
  if (prune.status !== 200) throw new Error(`cycle ${n}: prune answered ${prune.status} ${prune.body}`);
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('soak', () => {
  it(`runs ${CYCLES} create → download → verify → prune cycles from ${CLIENTS} clients without a failure or a leak`, async () => {
    const pid = server.process.pid!;
    // Warm up, with clients at once: what the server creates lazily and keeps (worker code,
    // zstd, the second hashing thread once downloads overlap) exists from here on.
    for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: CLIENTS }, (_, i) => cycle(i)));
    const fdsBefore = fdCount(pid);
    const rssBefore = rssKiB(pid);
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 100);
    const failures: string[] = [];
    let next = 1;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next <= CYCLES) {
          const n = next++;
          await cycle(n).catch((err: Error) => failures.push(err.message));
        }
      }),
    );
    clearInterval(sampler);
    expect(failures).toEqual([]);
    // Everything that ran has ended: descriptors go back to where they were.
    let fdsAfter = fdCount(pid);
    for (let i = 0; i < 50 && fdsAfter > fdsBefore; i++) {
      await new Promise((r) => setTimeout(r, 100));
      fdsAfter = fdCount(pid);
    }
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore);
    expect(peak - rssBefore).toBeLessThan(150 * 1024);
    // Autoprune ran beside the clients and never took a snapshot from under a download
    // (every download above was verified); the old snapshots are gone.
    const metrics = (await request('GET', '/metrics')).body.toString();
    expect(metrics).toMatch(/prombackup_prune_runs_total\{trigger="schedule",outcome="success"\} [1-9]/);
    expect(metrics).toMatch(new RegExp(`prombackup_downloads_total\\{format="tar",outcome="success"\\} (\\d+)`));
    expect(metrics).not.toMatch(/prombackup_downloads_total\{format="\w+",outcome="failure"\} [1-9]/);
  }, 240_000);
});
