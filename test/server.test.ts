// prombackup-server over HTTP against a real Prometheus.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_FORMATS, type ArchiveFormat, DOWNLOAD_ID_HEADER, SNAPSHOT_BYTES_HEADER } from '@prombackup/contract';
import { describeFolder, makeLargeSnapshot, readArchive, sha256 } from './support/archive';
import { type ServerProcess, startServer } from './support/processes';
import { type PrometheusInstance, freePort, queryRange, startPrometheus, waitForHeadSamples } from './support/prometheus';

let prom: PrometheusInstance;
let server: ServerProcess;

beforeAll(async () => {
  prom = await startPrometheus();
  await waitForHeadSamples(prom.url);
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
});

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
});

async function snapshot(query = ''): Promise<string> {
  const res = await fetch(`${server.url}/api/snapshot${query}`, { method: 'POST', redirect: 'manual' });
  expect(res.status).toBe(303);
  return ((await res.json()) as { name: string }).name;
}

async function download(name: string, format?: ArchiveFormat) {
  const res = await fetch(`${server.url}/api/download?name=${name}${format ? `&format=${format}` : ''}`);
  const body = Buffer.from(await res.arrayBuffer());
  return { res, body, id: res.headers.get(DOWNLOAD_ID_HEADER)! };
}

async function statusOf(id: string) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${server.url}/api/download_status?id=${encodeURIComponent(id)}`);
    const body = (await res.json()) as { id: string; snapshot_name: string; finished: null | { success: boolean; error_text: string | null; sha256_hex: string } };
    if (body.finished) return body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`download ${id} never finished`);
}

async function blockCount(name: string): Promise<number> {
  return (await fs.readdir(path.join(prom.snapshotDir, name))).filter((d) => /^[0-9A-Z]{26}$/.test(d)).length;
}

describe('POST /api/snapshot', () => {
  it('answers 303 to the download with the name as JSON', async () => {
    const res = await fetch(`${server.url}/api/snapshot?download_format=tgz`, { method: 'POST', redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('content-type')).toMatch(/^application\/json; charset=utf-8/);
    const { name } = (await res.json()) as { name: string };
    expect(name).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+$/);
    expect(res.headers.get('location')).toBe(`./download?name=${name}&format=tgz`);
    expect((await fs.stat(path.join(prom.snapshotDir, name))).isDirectory()).toBe(true);
  });

  it('reads its parameters from a urlencoded form too', async () => {
    const res = await fetch(`${server.url}/api/snapshot`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'skip_head=true&download_format=tzst',
    });
    expect(res.status).toBe(303);
    const { name } = (await res.json()) as { name: string };
    expect(res.headers.get('location')).toBe(`./download?name=${name}&format=tzst`);
  });

  it('leaves the head block out with skip_head', async () => {
    const withHead = await snapshot();
    const withoutHead = await snapshot('?skip_head=true');
    expect(await blockCount(withoutHead)).toBe(await blockCount(withHead) - 1);
    expect(await blockCount(withoutHead)).toBeGreaterThanOrEqual(3); // the backfilled blocks
  });
});

describe('GET /api/download', () => {
  it.each(Object.keys(ARCHIVE_FORMATS) as ArchiveFormat[])('streams %s with exact entries, headers and hash', async (format) => {
    const name = await snapshot();
    const { res, body, id } = await download(name, format);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(ARCHIVE_FORMATS[format].contentType);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${name}${ARCHIVE_FORMATS[format].extension}"`);
    expect(id).toBeTruthy();
    expect(await readArchive(body, format)).toEqual(await describeFolder(path.join(prom.snapshotDir, name)));
    const status = await statusOf(id);
    expect(status).toEqual({ id, snapshot_name: name, finished: { success: true, error_text: null, sha256_hex: sha256(body) } });
  });

  it('tells the bytes of the snapshot\'s files in X-Prombackup-Snapshot-Bytes, for a progress total', async () => {
    const name = await snapshot();
    const { res, body } = await download(name);
    const files = (await readArchive(body, 'tar')).filter((e) => e.type === 'file');
    expect(Number(res.headers.get(SNAPSHOT_BYTES_HEADER))).toBe(files.reduce((sum, e) => sum + e.size, 0));
    expect(body.length).toBeGreaterThan(Number(res.headers.get(SNAPSHOT_BYTES_HEADER)));
  });

  it('defaults to tar', async () => {
    const name = await snapshot('?skip_head=true');
    const { res } = await download(name);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
  });

  it('gives download ids that sort by time', async () => {
    const name = await snapshot('?skip_head=true');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await download(name)).id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
  });

  it('produces archives that GNU tar, gzip and zstd read', async () => {
    const name = await snapshot();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-extract-'));
    try {
      for (const format of ['tgz', 'tzst'] as const) {
        const { body } = await download(name, format);
        const file = path.join(dir, `a${ARCHIVE_FORMATS[format].extension}`);
        await fs.writeFile(file, body);
        const out = path.join(dir, format);
        await fs.mkdir(out);
        execFileSync('tar', ['-xf', file, '-C', out, format === 'tgz' ? '--gzip' : '--zstd']);
        expect(await describeFolder(path.join(out, name))).toEqual(await describeFolder(path.join(prom.snapshotDir, name)));
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('restores: a Prometheus started on the extracted archive answers queries exactly as the original', async () => {
    const name = await snapshot();
    const { body } = await download(name, 'tzst');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-restore-'));
    const file = path.join(dir, 'backup.tar.zst');
    await fs.writeFile(file, body);
    execFileSync('tar', ['--zstd', '-xf', file, '-C', dir]);
    const restored = await startPrometheus({ dataDir: path.join(dir, name), backfill: false, scrapeSelf: false });
    try {
      const { startMs, endMs, metric } = prom.backfill!;
      for (const query of [metric, `sum by (instance) (rate(${metric}[5m]))`]) {
        const original = await queryRange(prom.url, query, startMs, endMs, 60);
        expect(original.length).toBeGreaterThan(0);
        expect(await queryRange(restored.url, query, startMs, endMs, 60)).toEqual(original);
      }
    } finally {
      await restored.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('records a client that goes away mid-stream as failed and keeps serving', async () => {
    const name = '20991231T000000Z-disconnect';
    await makeLargeSnapshot(prom.snapshotDir, name, 64);
    const id = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${server.url}/api/download?name=${name}`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve(res.headers[DOWNLOAD_ID_HEADER.toLowerCase()] as string);
        });
      });
      req.on('error', () => undefined);
      setTimeout(() => reject(new Error('no data')), 10_000);
    });
    const status = await statusOf(id);
    expect(status.finished?.success).toBe(false);
    expect(status.finished?.error_text).toMatch(/client closed the connection/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const again = await download(name);
    expect((await statusOf(again.id)).finished?.sha256_hex).toBe(sha256(again.body));
  });

  it('survives clients cut off at many points of the stream, in every format', async () => {
    const name = '20991231T000000Z-cutoff';
    await makeLargeSnapshot(prom.snapshotDir, name, 32);
    for (const format of ['tar', 'tgz', 'tzst'] as const) {
      for (const cutAfter of [1, 600, 70_000, 3_000_000, 20_000_000]) {
        await new Promise<void>((resolve) => {
          let seen = 0;
          const req = http.get(`${server.url}/api/download?name=${name}&format=${format}`, (res) => {
            res.on('data', (chunk: Buffer) => {
              seen += chunk.length;
              if (seen >= cutAfter) {
                req.destroy();
                resolve();
              }
            });
            res.on('end', resolve);
          });
          req.on('error', () => resolve());
        });
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(server.process.exitCode).toBeNull();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const list = (await (await fetch(`${server.url}/api/snapshots`)).json()) as { snapshots: { name: string; in_use: boolean }[] };
    expect(list.snapshots.find((s) => s.name === name)?.in_use).toBe(false);
  });
});

describe('POST /api/prune', () => {
  const old = (suffix: string) => `20200101T000000Z-${suffix}`;

  async function makeOld(name: string) {
    await fs.mkdir(path.join(prom.snapshotDir, name, '01HAAAAAAAAAAAAAAAAAAAAAAA'), { recursive: true });
    await fs.writeFile(path.join(prom.snapshotDir, name, '01HAAAAAAAAAAAAAAAAAAAAAAA', 'meta.json'), '{}');
  }

  it('removes old snapshots, keeps fresh ones and anything that is not a snapshot', async () => {
    await makeOld(old('aaaa1'));
    await makeOld('20200101T000000+0200-zoned');
    await fs.mkdir(path.join(prom.snapshotDir, 'lost+found'), { recursive: true });
    await fs.writeFile(path.join(prom.snapshotDir, 'notes.txt'), 'keep me');
    const fresh = await snapshot('?skip_head=true');
    const res = await fetch(`${server.url}/api/prune`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'keep_within=12h',
    });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { removed: string[] };
    expect(result.removed).toEqual(expect.arrayContaining([old('aaaa1'), '20200101T000000+0200-zoned']));
    const left = await fs.readdir(prom.snapshotDir);
    expect(left).toEqual(expect.arrayContaining([fresh, 'lost+found', 'notes.txt']));
    expect(left).not.toContain(old('aaaa1'));
    expect(left).not.toContain('20200101T000000+0200-zoned');
  });

  it('keeps fresh snapshots on a bare POST (default keep_within 1h)', async () => {
    const fresh = await snapshot('?skip_head=true');
    await makeOld(old('bare1'));
    const res = await fetch(`${server.url}/api/prune`, { method: 'POST' });
    expect(res.status).toBe(200);
    const left = await fs.readdir(prom.snapshotDir);
    expect(left).toContain(fresh);
    expect(left).not.toContain(old('bare1'));
  });

  it('several prunes at once report each old snapshot removed exactly once and none in use', async () => {
    const names = Array.from({ length: 80 }, (_, i) => old(`concurrent${i}`));
    for (const name of names) {
      // A few blocks each, so removals take long enough for the prunes to overlap.
      for (const block of ['01HAAAAAAAAAAAAAAAAAAAAAAA', '01HBBBBBBBBBBBBBBBBBBBBBBB', '01HCCCCCCCCCCCCCCCCCCCCCCC']) {
        await fs.mkdir(path.join(prom.snapshotDir, name, block, 'chunks'), { recursive: true });
        await fs.writeFile(path.join(prom.snapshotDir, name, block, 'meta.json'), '{}');
        await fs.writeFile(path.join(prom.snapshotDir, name, block, 'chunks', '000001'), 'x');
      }
    }
    const results = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await fetch(`${server.url}/api/prune?keep_within=1h`, { method: 'POST' });
        expect(res.status).toBe(200);
        return (await res.json()) as { removed: string[]; skipped_in_use: string[] };
      }),
    );
    const removed = results.flatMap((r) => r.removed);
    expect(new Set(removed).size).toBe(removed.length);
    expect(removed).toEqual(expect.arrayContaining(names));
    expect(results.flatMap((r) => r.skipped_in_use)).toEqual([]);
    const left = await fs.readdir(prom.snapshotDir);
    expect(left.filter((name) => names.includes(name))).toEqual([]);
  });

  it('never removes a snapshot that is being streamed', async () => {
    const name = old('streaming');
    await makeLargeSnapshot(prom.snapshotDir, name, 64);
    const req = http.get(`${server.url}/api/download?name=${name}`);
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    res.pause(); // a slow reader: the server stays mid-stream
    await new Promise((r) => setTimeout(r, 200));
    const prune = (await (await fetch(`${server.url}/api/prune?keep_within=1h`, { method: 'POST' })).json()) as {
      removed: string[];
      skipped_in_use: string[];
    };
    expect(prune.skipped_in_use).toContain(name);
    expect(prune.removed).not.toContain(name);
    const list = (await (await fetch(`${server.url}/api/snapshots`)).json()) as { snapshots: { name: string; in_use: boolean }[] };
    expect(list.snapshots.find((s) => s.name === name)?.in_use).toBe(true);
    // Let the download finish: it must succeed, and the snapshot can go afterwards.
    res.resume();
    await new Promise((r) => res.on('end', r));
    const id = res.headers[DOWNLOAD_ID_HEADER.toLowerCase()] as string;
    expect((await statusOf(id)).finished?.success).toBe(true);
    const after = (await (await fetch(`${server.url}/api/prune?keep_within=1h`, { method: 'POST' })).json()) as { removed: string[] };
    expect(after.removed).toContain(name);
  });
});

describe('DELETE /api/snapshot', () => {
  it('removes that one snapshot and nothing else', async () => {
    const [a, b] = [await snapshot(), await snapshot()];
    const res = await fetch(`${server.url}/api/snapshot?name=${a}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: a });
    const left = await fs.readdir(prom.snapshotDir);
    expect(left).not.toContain(a);
    expect(left).toContain(b);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^prombackup_snapshots_removed_total\{reason="delete"\} [1-9]/m);
  });

  it('answers 409 while a download streams it, and removes it once the download has ended', async () => {
    const name = '20240101T000000Z-deletestreaming';
    await makeLargeSnapshot(prom.snapshotDir, name, 64);
    const req = http.get(`${server.url}/api/download?name=${name}`);
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    res.pause();
    const refused = await fetch(`${server.url}/api/snapshot?name=${name}`, { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toMatch(/being downloaded/);
    res.resume();
    await new Promise((r) => res.on('end', r));
    expect((await statusOf(res.headers[DOWNLOAD_ID_HEADER.toLowerCase()] as string)).finished?.success).toBe(true);
    expect((await fetch(`${server.url}/api/snapshot?name=${name}`, { method: 'DELETE' })).status).toBe(200);
    await expect(fs.stat(path.join(prom.snapshotDir, name))).rejects.toThrow(/ENOENT/);
  });
});

describe('bad input', () => {
  const cases: [string, string, string, number, RegExp][] = [
    ['POST', '/api/snapshot', 'skip_head=maybe', 400, /skip_head/],
    ['POST', '/api/snapshot', 'skip_head=true&skip_head=false', 400, /skip_head.*more than once/],
    ['POST', '/api/snapshot', 'download_format=zip', 400, /download_format/],
    ['GET', '/api/download', '', 404, /name/],
    ['GET', '/api/download', 'name=../etc', 400, /name/],
    ['GET', '/api/download', 'name=a/b-c', 400, /name/],
    ['GET', '/api/download', 'name=20991231T000000Z-nosuchsnapshot', 404, /no snapshot/],
    ['GET', '/api/download', 'name=20991231T000000Z-disconnect&format=zip', 400, /format/],
    ['GET', '/api/download', 'name=20991231T000000Z-disconnect&format=TAR', 400, /format/],
    ['GET', '/api/download', 'name=20991231T000000Z-disconnect&format=tgz&level=12', 400, /level/],
    ['GET', '/api/download', 'name=20991231T000000Z-disconnect&format=tar&level=3', 400, /level/],
    ['GET', '/api/download_status', '', 404, /id/],
    ['GET', '/api/download_status', 'id=nope', 404, /no download/],
    ['DELETE', '/api/snapshot', '', 404, /name/],
    ['DELETE', '/api/snapshot', 'name=../etc', 400, /name/],
    ['DELETE', '/api/snapshot', 'name=20991231T000000Z-nosuchsnapshot', 404, /no snapshot/],
    ['DELETE', '/api/snapshot', 'name=a&name=b', 400, /more than once/],
    ['POST', '/api/prune', 'keep_within=soon', 400, /keep_within/],
    ['POST', '/api/prune', 'keep_within=-1h', 400, /negative/],
    ['POST', '/api/prune', 'keep_within=1x', 400, /keep_within/],
    ['POST', '/api/prune', 'keep_within=99999999999999h', 400, /range/],
  ];
  it.each(cases)('%s %s?%s answers %i naming the problem', async (method, route, query, status, message) => {
    const before = (await fs.readdir(prom.snapshotDir)).sort();
    const res = await fetch(`${server.url}${route}${query ? `?${query}` : ''}`, { method, redirect: 'manual' });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { statusCode: number; message: string };
    expect(body.statusCode).toBe(status);
    expect(body.message).toMatch(message);
    expect((await fs.readdir(prom.snapshotDir)).sort()).toEqual(before);
  });
});

describe('operations', () => {
  it('exposes its own metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const metric of [
      'prombackup_downloads_in_flight',
      'prombackup_downloads_tracked',
      'prombackup_download_bytes_total{format="tar"}',
      'prombackup_download_duration_seconds_bucket',
      'prombackup_downloads_total{format="tar",outcome="success"}',
      'prombackup_snapshot_requests_total{outcome="success"}',
      'prombackup_snapshot_duration_seconds_count',
      'prombackup_prune_runs_total{trigger="request",outcome="success"}',
      'prombackup_snapshots_removed_total',
      'prombackup_build_info{version=',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(metric);
    }
  });

  it('passes promtool check metrics on the whole page, and reports the state of backups, snapshots and Prometheus', async () => {
    const name = await snapshot();
    const { id } = await download(name, 'tgz');
    expect((await statusOf(id)).finished?.success).toBe(true);
    // The disk is walked at most every 10 s: wait for a walk that has seen this snapshot.
    const onDisk = async () =>
      (await fs.readdir(prom.snapshotDir, { withFileTypes: true })).filter((e) => e.isDirectory() && /^\d{8}T\d{6}(Z|[+-]\d{4})-[A-Za-z0-9]+$/.test(e.name)).length;
    let text = '';
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      text = await (await fetch(`${server.url}/metrics`)).text();
      if (Number(/^prombackup_snapshots (\d+)$/m.exec(text)?.[1]) === (await onDisk())) break;
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(Date.now() / 1000 - value('prombackup_last_successful_download_timestamp_seconds')).toBeLessThan(60);
    expect(Date.now() / 1000 - value('prombackup_last_snapshot_timestamp_seconds')).toBeLessThan(60);
    expect(value('prombackup_snapshots')).toBe(await onDisk());
    expect(value('prombackup_snapshots_exclusive_bytes')).toBeGreaterThanOrEqual(0);
    expect(value('prombackup_prometheus_up')).toBe(1);
    expect(value('prombackup_prometheus_admin_api_enabled')).toBe(1);
  });

  it('logs one access line per request', async () => {
    await fetch(`${server.url}/api/download_status?id=logline`);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.log()).toMatch(/GET \/api\/download_status 404 \d+B [\d.]+ms/);
  });

  it('serves the web page with its forms and recent downloads', async () => {
    const name = await snapshot();
    const { id } = await download(name, 'tgz');
    const { finished } = await statusOf(id);
    const res = await fetch(`${server.url}/`);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    // The state of Prometheus, its admin API and autoprune.
    expect(html).toMatch(/<dt>Prometheus<\/dt><dd><span class="ok">ok<\/span>/);
    expect(html).toMatch(/<dt>Admin API<\/dt><dd><span class="ok">on<\/span>/);
    expect(html).toMatch(/<dt>Autoprune<\/dt><dd><span class="muted">off<\/span>/);
    // Each download with its start, duration and SHA-256.
    const row = new RegExp(`<tr><td data-label="Download \\(status\\)"><a href="[^"]*${id}">.*?</tr>`).exec(html)?.[0] ?? '';
    expect(row).toMatch(/data-label="Started \(UTC\)"><time datetime="\d{4}-/);
    expect(row).toMatch(/data-label="Took">[\dmsh.]+</);
    expect(row).toContain(`>${finished!.sha256_hex}</code>`);
    // Sizes that count shared (hard-linked) files once.
    expect(html).toMatch(/snapshot\(s\), holding [\d.]+ \w+ that Prometheus itself no longer has/);
    expect(html).toMatch(new RegExp(`<code>${name}</code>.*?data-label="Only here">[\\d.]+ \\w+<`));
    expect(html).toContain('action="./api/snapshot"');
    expect(html).toContain('name="download_format"');
    expect(html).toContain('name="keep_within"');
    expect(html).toMatch(/href="\.\/api\/download_status\?id=/);
  });

  it('reports readiness of snapshot_dir and Prometheus', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, checks: { snapshot_dir: 'ok', prometheus: 'ok' } });
  });
});

describe('when Prometheus is unreachable', () => {
  it('answers 503 saying so, and keeps serving', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const other = await startServer(['-prometheus_endpoint', dead, '-snapshot_dir', prom.snapshotDir]);
    try {
      // A fresh server: every failure series is there at 0 before the first failure, so increase() sees it.
      const fresh = await (await fetch(`${other.url}/metrics`)).text();
      for (const series of [
        'prombackup_downloads_total{format="tzst",outcome="failure"} 0',
        'prombackup_downloads_rejected_total{reason="busy"} 0',
        'prombackup_snapshot_requests_total{outcome="admin_api_disabled"} 0',
        'prombackup_snapshot_requests_total{outcome="unreachable"} 0',
        'prombackup_prune_runs_total{trigger="schedule",outcome="failure"} 0',
        'prombackup_snapshots_removed_total{reason="delete"} 0',
        'prombackup_last_successful_download_timestamp_seconds 0',
        'prombackup_prometheus_up 0',
      ]) {
        expect(fresh).toContain(`\n${series}\n`);
      }
      const res = await fetch(`${other.url}/api/snapshot`, { method: 'POST', redirect: 'manual' });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { message: string }).message).toMatch(/cannot reach Prometheus/);
      expect((await fetch(`${other.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${other.url}/healthz`)).status).toBe(200);
    } finally {
      await other.stop();
    }
  });
});

describe('autoprune', () => {
  it('prunes old snapshots in the background', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-autoprune-'));
    const oldName = '20200101T000000Z-autoprune';
    const freshName = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-fresh`;
    await fs.mkdir(path.join(dir, oldName));
    await fs.mkdir(path.join(dir, freshName));
    const auto = await startServer(['-snapshot_dir', dir], {
      PROMBACKUP_SERVER_AUTOPRUNE_ENABLE: 'true',
      PROMBACKUP_SERVER_AUTOPRUNE_INTERVAL: '2s',
      PROMBACKUP_SERVER_AUTOPRUNE_KEEP_WITHIN: '1h',
    });
    try {
      const deadline = Date.now() + 10_000;
      while ((await fs.readdir(dir)).includes(oldName) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await fs.readdir(dir)).toEqual([freshName]);
      expect(auto.log()).toMatch(/autoprune every 2s keeping 1h0m0s/);
    } finally {
      await auto.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
