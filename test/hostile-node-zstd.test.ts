// A server that cannot load zstd-napi (an install with no compiler): tzst on Node's own zstd,
// against a real Prometheus. Level 19, clients that go away, and many at once leave it serving.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, statusOf, tempDir } from './support/downloads';
import { type ServerProcess, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, takeSnapshot, writeBackfillBlocks } from './support/prometheus';
import { words } from './support/text';

let work: string;
let prom: PrometheusInstance;
let server: ServerProcess;
let snapshot: string;

const unzstd = (data: Buffer) => (zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer }).zstdDecompressSync(data);
const download = (query: string) => `${server.url}/api/download?name=${snapshot}&format=tzst${query}`;

beforeAll(async () => {
  work = await tempDir('pb-nodezstd-');
  const data = path.join(work, 'data');
  await fs.mkdir(data);
  await writeBackfillBlocks(data);
  // zstd-napi as a failed optional install leaves it: require() throws.
  const hide = path.join(work, 'no-zstd-napi.cjs');
  await fs.writeFile(hide, "const M = require('module'); const r = M._resolveFilename; M._resolveFilename = function (req, ...rest) { if (req === 'zstd-napi') throw new Error(\"Cannot find module 'zstd-napi'\"); return r.call(this, req, ...rest); };\n");
  prom = await startPrometheus({ dataDir: data, scrapeSelf: false });
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir, '-max_concurrent_downloads', '9'], { NODE_OPTIONS: `--require ${hide}` });
  snapshot = await takeSnapshot(prom.url, true);
  // A larger segment, so that a level 19 download takes a while: clients can go away mid-way.
  const block = (await fs.readdir(path.join(prom.snapshotDir, snapshot))).sort()[0];
  const chunks = path.join(prom.snapshotDir, snapshot, block, 'chunks');
  const last = (await fs.readdir(chunks)).sort().at(-1)!;
  await fs.writeFile(path.join(chunks, String(Number(last) + 1).padStart(6, '0')), words(48 * 1024 * 1024, 5));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
  await fs.rm(work, { recursive: true, force: true });
});

describe('tzst without zstd-napi', () => {
  it('says at start that tzst runs on node:zlib, and serves a level 19 archive whose SHA-256 the status confirms', async () => {
    expect(server.log()).toMatch(/node:zlib/);
    const got = await get(download('&level=19'), undefined, 120_000);
    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(unzstd(got.body).length).toBeGreaterThan(1024);
    const finished = await statusOf(server, got.id);
    expect(finished).toMatchObject({ success: true, sha256_hex: createHash('sha256').update(got.body).digest('hex') });
  }, 150_000);

  it('eight level 19 downloads at once, each cut after its first bytes: each fails alone and the server goes on serving', async () => {
    const cut = Array.from({ length: 8 }, () =>
      get(download('&level=19'), () => Promise.reject(new Error('went away')), 60_000, 1).catch((err: Error) => err.message),
    );
    expect(await Promise.all(cut)).toEqual(Array(8).fill('went away'));
    const after = await get(download(''), undefined, 120_000);
    expect(after.complete).toBe(true);
    expect((await statusOf(server, after.id)).success).toBe(true);
    expect(server.process.exitCode).toBeNull();
  }, 240_000);
});
