// Load and lifecycle: concurrency limit, stalled and slow clients, SIGTERM.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOWNLOAD_ID_HEADER } from '@prombackup/contract';
import { makeLargeSnapshot } from './support/archive';
import { GOOD_NAME, startFakePrometheus } from './support/fake-prometheus';
import { type ServerProcess, runCli, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus } from './support/prometheus';

let prom: PrometheusInstance;
const BIG = '20991231T000000Z-lifecycle';

beforeAll(async () => {
  prom = await startPrometheus({ backfill: false, scrapeSelf: false });
  await makeLargeSnapshot(prom.snapshotDir, BIG, 96);
});

afterAll(async () => {
  await prom?.stop();
});

/** Starts a download and hands back the response, paused: a client that reads nothing yet. */
function openPaused(server: ServerProcess, format = 'tar'): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${server.url}/api/download?name=${BIG}&format=${format}`, (res) => {
      res.pause();
      resolve({ res, req });
    });
    req.on('error', reject);
  });
}

async function statusOf(server: ServerProcess, id: string) {
  const res = await fetch(`${server.url}/api/download_status?id=${id}`);
  return (await res.json()) as { finished: null | { success: boolean; error_text: string | null; sha256_hex: string } };
}

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await what();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('limits', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer(['-snapshot_dir', prom.snapshotDir, '-max_concurrent_downloads', '2', '-download_idle_timeout', '2s']);
  });
  afterAll(async () => server?.stop());

  it('answers 429 with Retry-After past max_concurrent_downloads, and serves again afterwards', async () => {
    const a = await openPaused(server);
    const b = await openPaused(server);
    const third = await fetch(`${server.url}/api/download?name=${BIG}`);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await third.json()) as { message: string }).message).toMatch(/max_concurrent_downloads/);
    a.req.destroy();
    b.req.destroy();
    const again = await until(
      () => fetch(`${server.url}/api/download?name=${BIG}`, { method: 'GET' }).then(async (r) => (await r.body?.cancel(), r.status)),
      (status) => status === 200,
    );
    expect(again).toBe(200);
  });

  it('cuts off a client that stops reading, after download_idle_timeout, and records why', async () => {
    // The downloads cut off above may still be winding down: wait for a free slot.
    let opened = await openPaused(server);
    for (let i = 0; opened.res.statusCode === 429 && i < 100; i++) {
      opened.req.destroy();
      await new Promise((r) => setTimeout(r, 50));
      opened = await openPaused(server);
    }
    const { res, req } = opened;
    expect(res.statusCode).toBe(200);
    const id = res.headers[DOWNLOAD_ID_HEADER.toLowerCase()] as string;
    const status = await until(() => statusOf(server, id), (s) => s.finished !== null, 20_000);
    expect(status.finished?.success).toBe(false);
    expect(status.finished?.error_text).toMatch(/took no data for 2s \(download_idle_timeout\)/);
    req.destroy();
  });

  it('does not buffer the archive for a slow reader (backpressure)', async () => {
    const name = '20991231T000000Z-slowreader';
    await makeLargeSnapshot(prom.snapshotDir, name, 192);
    const pid = server.process.pid!;
    const before = rssKiB(pid);
    let peak = before;
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${server.url}/api/download?name=${name}`, (res) => {
        // About 100 MB/s, a tenth of what the server can read: without backpressure it would
        // hold most of the archive in memory.
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          res.pause();
          setTimeout(() => res.resume(), Math.ceil(chunk.length / 100_000));
          peak = Math.max(peak, rssKiB(pid));
        });
        res.on('end', resolve);
      });
      req.on('error', reject);
    });
    expect(received).toBeGreaterThan(192 * 1024 * 1024);
    expect(peak - before).toBeLessThan(96 * 1024);
  });
});

describe('SIGTERM', () => {
  it('refuses new downloads, lets a running one finish, then exits 0', async () => {
    const server = await startServer(['-snapshot_dir', prom.snapshotDir, '-shutdown_grace', '20s']);
    const { res } = await openPaused(server);
    const id = res.headers[DOWNLOAD_ID_HEADER.toLowerCase()] as string;
    server.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const refused = await fetch(`${server.url}/api/download?name=${BIG}`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { message: string }).message).toMatch(/shutting down/);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(server.process.exitCode).toBeNull();
    // The running download completes in full.
    let bytes = 0;
    res.on('data', (d: Buffer) => (bytes += d.length));
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));
    expect(bytes).toBeGreaterThan(96 * 1024 * 1024);
    expect(res.complete).toBe(true);
    expect(await server.exited).toBe(0);
    expect(server.log()).toMatch(/SIGTERM: refusing new downloads/);
    expect(server.log()).toMatch(new RegExp(`download ${id} of ${BIG} \\(tar\\) sent`));
  });

  it('cuts off what still runs when the grace period ends', async () => {
    const server = await startServer(['-snapshot_dir', prom.snapshotDir, '-shutdown_grace', '500ms']);
    const { res } = await openPaused(server);
    const ended = new Promise<boolean>((resolve) => {
      res.on('close', () => resolve(res.complete));
      res.on('error', () => resolve(false));
    });
    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    res.resume();
    expect(await ended).toBe(false);
    expect(server.log()).toMatch(/failed: the server shut down before the archive was complete/);
  });

  it('exits at once on a second SIGTERM', async () => {
    const server = await startServer(['-snapshot_dir', prom.snapshotDir, '-shutdown_grace', '60s']);
    const { req } = await openPaused(server);
    server.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    server.process.kill('SIGTERM');
    const code = await server.exited;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(code).not.toBe(0);
    req.destroy();
  });
});

/** Reads a paused download to its end; resolves with its SHA-256 and when the last byte came. */
function readToEnd(res: http.IncomingMessage): Promise<{ sha256: string; endedAt: number; complete: boolean }> {
  const hash = createHash('sha256');
  res.on('data', (d: Buffer) => hash.update(d));
  res.resume();
  return new Promise((resolve, reject) => {
    res.on('end', () => resolve({ sha256: hash.digest('hex'), endedAt: Date.now(), complete: res.complete }));
    res.on('error', reject);
  });
}

describe('SIGTERM with a download running', () => {
  it('keeps answering download_status after the last byte, refuses new work, then exits 0 about 5 s later', async () => {
    const server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir, '-shutdown_grace', '60s']);
    const { res } = await openPaused(server);
    const id = res.headers[DOWNLOAD_ID_HEADER.toLowerCase()] as string;
    server.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const snapshot = await fetch(`${server.url}/api/snapshot`, { method: 'POST', redirect: 'manual' });
    expect(snapshot.status).toBe(503);
    expect(((await snapshot.json()) as { message: string }).message).toMatch(/shutting down/);

    const received = await readToEnd(res);
    expect(received.complete).toBe(true);
    // What the CLI does next: ask for the outcome. The server must still be there to answer.
    const status = await until(() => statusOf(server, id), (s) => s.finished !== null, 3_000);
    expect(status.finished).toEqual({ success: true, error_text: null, sha256_hex: received.sha256 });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${server.url}/api/download?name=${BIG}`)).status).toBe(503);
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await fetch(`${server.url}/api/download_status?id=${id}`)).status).toBe(200);

    expect(await server.exited).toBe(0);
    const lingered = Date.now() - received.endedAt;
    expect(lingered).toBeGreaterThan(4_000);
    expect(lingered).toBeLessThan(8_000);
    expect(server.log()).toMatch(/still answering download_status for 5s/);
  });

  it('never stays past the grace deadline to answer download_status', async () => {
    const server = await startServer(['-snapshot_dir', prom.snapshotDir, '-shutdown_grace', '2500ms']);
    const { res } = await openPaused(server);
    const id = res.headers[DOWNLOAD_ID_HEADER.toLowerCase()] as string;
    const signalled = Date.now();
    server.process.kill('SIGTERM');
    const received = await readToEnd(res);
    const status = await until(() => statusOf(server, id), (s) => s.finished !== null, 2_000);
    expect(status.finished?.sha256_hex).toBe(received.sha256);
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(2_500 + 1_500);
  });

  it('prombackup create succeeds when SIGTERM arrives mid-download', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-sigterm-cli-'));
    const fake = await startFakePrometheus('good');
    try {
      // The fake Prometheus names this folder as the snapshot it took: large enough to be caught mid-stream.
      await makeLargeSnapshot(path.join(dir, 'snapshots'), GOOD_NAME, 256);
      const server = await startServer(['-prometheus_endpoint', fake.url, '-snapshot_dir', path.join(dir, 'snapshots'), '-shutdown_grace', '60s']);
      const target = path.join(dir, 'backup.tar.gz');
      const run = runCli(['-server', server.url, 'create', '-format', 'tgz', '-output', target]);
      const streaming = await until(
        async () => ((await (await fetch(`${server.url}/api/snapshots`)).json()) as { snapshots: { in_use: boolean }[] }).snapshots.some((s) => s.in_use),
        (inUse) => inUse,
        20_000,
      );
      expect(streaming).toBe(true);
      server.process.kill('SIGTERM');
      const result = await run;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout.toString()).toMatch(/verified with the server/);
      expect(existsSync(target)).toBe(true);
      expect(await server.exited).toBe(0);
      // The signal came while the archive was still being sent.
      const log = server.log();
      expect(log.indexOf('SIGTERM: refusing new downloads')).toBeGreaterThan(-1);
      expect(log.indexOf('SIGTERM: refusing new downloads')).toBeLessThan(log.search(/download \S+ of \S+ \(tgz\) sent/));
    } finally {
      await fake.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
