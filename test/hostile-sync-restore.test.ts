// sync, restore and verify attacked: a server that lies in its listing, a DIR with traps in it,
// sources with oversized or appended parts (a sync folder's traps: hostile-restore-folder.test.ts). Each test says what must hold; none may cost data
// outside DIR or a complete block inside it.
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine } from './support/backup-folder';
import { tempDir, writeSmallSnapshot } from './support/downloads';
import { type FakePrometheus, GOOD_NAME, startFakePrometheus } from './support/fake-prometheus';
import { type ServerProcess, runCli, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, writeBackfillBlocks } from './support/prometheus';
import { type S3TestServer, startS3Server } from './support/radosgw';

const SNAPSHOT = '20261207T120000Z-0123456789abcdef';
const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';

/** A prombackup server that takes snapshots as asked but lists `blocks` as the snapshot's contents, and refuses every download. */
async function lyingServer(blocks: unknown[], other: unknown[] = []): Promise<{ url: string; downloads: string[]; close(): Promise<void> }> {
  const downloads: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && url.pathname === '/api/snapshot') return json(303, { name: SNAPSHOT }, { Location: `./download?name=${SNAPSHOT}` });
    if (req.method === 'GET' && url.pathname === '/api/snapshot_contents') return json(200, { name: SNAPSHOT, blocks, other });
    if (req.method === 'DELETE' && url.pathname === '/api/snapshot') return json(200, { name: SNAPSHOT });
    if (url.pathname === '/api/download') downloads.push(url.search);
    return json(400, { statusCode: 400, message: 'no' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    downloads,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const listedBlock = (ulid: string) => ({
  ulid,
  min_time: 0,
  max_time: 1,
  num_series: 1,
  num_samples: 1,
  num_chunks: 1,
  compaction_level: 1,
  bytes: 3,
  files: [{ path: 'index', size: 3, mtime_ms: 0 }],
});

/** A folder of a few files, to notice any change to it. */
async function plant(folder: string): Promise<void> {
  await fs.mkdir(path.join(folder, 'chunks'), { recursive: true });
  await fs.writeFile(path.join(folder, 'meta.json'), JSON.stringify({ ulid: path.basename(folder), minTime: 0, maxTime: 1 }));
  await fs.writeFile(path.join(folder, 'chunks', '000001'), 'precious');
}

describe('sync against a server whose listing names something other than a block', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir('pb-hostile-sync-');
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it.each([
    ['..', 'DIR itself'],
    ['../../victim', 'a folder beside DIR'],
    ['.', "sync's own work folder"],
    ['/tmp', 'an absolute path'],
    [A.toLowerCase(), 'a lower-case ULID'],
  ])('refuses a listed block named %s (%s): nothing outside DIR and no block in it is touched', async (ulid) => {
    const base = await fs.mkdtemp(path.join(root, 'case-'));
    const dir = path.join(base, 'backup');
    const victim = path.join(base, 'victim');
    await plant(path.join(dir, A));
    await plant(victim);
    const server = await lyingServer([listedBlock(ulid)]);
    try {
      const run = await runCli(['sync', dir, '--server', server.url]);
      expect(run.code).not.toBe(0);
      expect(await fs.readFile(path.join(dir, A, 'chunks', '000001'), 'utf8')).toBe('precious');
      expect(await fs.readFile(path.join(victim, 'chunks', '000001'), 'utf8')).toBe('precious');
      expect(oneLine(run.stderr)).toMatch(/snapshot.s listing names .* which is not a block ULID/);
      expect(server.downloads).toEqual([]);
      expect((await fs.readdir(dir)).filter((n) => n.startsWith('.prombackup-tmp-'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a block the server could not list (its meta.json unreadable there, so under other): warned about and in --json, and the copy in DIR kept', async () => {
    const dir = path.join(await fs.mkdtemp(path.join(root, 'case-')), 'backup');
    const gone = '01HCCCCCCCCCCCCCCCCCCCCCCC';
    await plant(path.join(dir, A));
    await plant(path.join(dir, gone));
    const server = await lyingServer([], [{ name: A, type: 'directory', size: 3 }, { name: 'chunks_head', type: 'directory', size: 0 }]);
    try {
      const run = await runCli(['sync', dir, '--server', server.url, '--json']);
      // Done, but not whole: exit 3, so that a job checking only the exit code notices.
      expect(run.code, run.stderr).toBe(3);
      expect(oneLine(run.stderr)).toContain(`warning: block ${A} is in the snapshot, but the server could not read its meta.json`);
      expect(JSON.parse(run.stdout.toString())).toMatchObject({ unreadable_blocks: [{ ulid: A, earlier_copy_kept: true }], removed: { blocks: 1 } });
      expect(await fs.readFile(path.join(dir, A, 'chunks', '000001'), 'utf8')).toBe('precious');
      expect(await fs.readdir(dir)).not.toContain(gone);
    } finally {
      await server.close();
    }
  });
});

describe('sync from a real server into a DIR with traps in it', () => {
  let prom: PrometheusInstance;
  let server: ServerProcess;
  let root: string;
  let ulids: string[];

  beforeAll(async () => {
    root = await tempDir('pb-hostile-syncdir-');
    const source = path.join(root, 'source');
    await writeBackfillBlocks(source);
    prom = await startPrometheus({ dataDir: source, scrapeSelf: false });
    server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
    ulids = (await fs.readdir(source)).filter((n) => /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(n)).sort();
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await prom?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  const sync = (dir: string) => runCli(['sync', dir, '--server', server.url, '--skip-head'], { env: { OCLIF_COLUMNS: '1000' } });

  it.each([
    ['a file', async (entry: string) => fs.writeFile(entry, 'not a block')],
    ['a link to a folder elsewhere', async (entry: string) => {
      await plant(`${entry}-elsewhere`);
      await fs.symlink(`${entry}-elsewhere`, entry);
    }],
  ])('a block name in DIR taken by %s: a clear error naming it, the thing itself untouched', async (_what, trap) => {
    const dir = await fs.mkdtemp(path.join(root, 'dir-'));
    const entry = path.join(dir, ulids[0]);
    await trap(entry);
    const before = await fs.lstat(entry);
    const run = await sync(dir);
    expect(run.code).not.toBe(0);
    expect(oneLine(run.stderr)).toContain(`${entry} is not a block folder`);
    const after = await fs.lstat(entry);
    expect([after.ino, after.size, after.mtimeMs]).toEqual([before.ino, before.size, before.mtimeMs]);
    if (before.isSymbolicLink()) expect(await fs.readdir(`${entry}-elsewhere`)).toEqual(['chunks', 'meta.json']);
    expect((await fs.readdir(dir)).filter((n) => n.startsWith('.prombackup-tmp-'))).toEqual([]);
  });

  it('a DIR that a Prometheus has run on (it has wal/): refused before anything is removed', async () => {
    const dir = await fs.mkdtemp(path.join(root, 'ran-'));
    const own = path.join(dir, '01HF0000000000000000000000');
    await plant(own);
    await fs.mkdir(path.join(dir, 'wal'));
    await fs.writeFile(path.join(dir, 'wal', '00000000'), 'wal');
    const run = await sync(dir);
    expect(await fs.readFile(path.join(own, 'chunks', '000001'), 'utf8')).toBe('precious');
    expect(run.code).not.toBe(0);
    expect(oneLine(run.stderr)).toMatch(/wal/);
    expect(await fs.readdir(dir)).not.toContain(ulids[0]);
  });

  it('restore from DIR while a sync holds it is refused before writing; a sync while restores read it is refused; readers share', async () => {
    const dir = path.join(root, 'shared');
    expect((await sync(dir)).code).toBe(0);
    const lockFile = path.join(dir, '.prombackup-sync.lock');
    const hold = async (mode: '-x' | '-s') => {
      const holder = spawn('flock', [mode, lockFile, 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
      await new Promise((resolve) => holder.stdout!.once('data', resolve));
      return async () => {
        holder.stdin!.end();
        await new Promise((resolve) => holder.once('exit', resolve));
      };
    };
    const to = path.join(await fs.mkdtemp(path.join(root, 'restore-')), 'tsdb');
    let release = await hold('-x');
    const refused = await runCli(['restore', dir, '--to', to]);
    await release();
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toContain(`a sync is running on ${dir}`);
    await expect(fs.readdir(to)).rejects.toThrow(/ENOENT/);
    release = await hold('-s');
    try {
      const blocked = await sync(dir);
      expect(blocked.code).toBe(1);
      expect(oneLine(blocked.stderr)).toMatch(/or a restore is reading it/);
      const shared = await runCli(['restore', dir, '--to', to]);
      expect(shared.code, shared.stderr).toBe(0);
    } finally {
      await release();
    }
    expect((await fs.readdir(to)).filter((n) => /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(n))).toEqual(expect.arrayContaining(ulids));
  });

  it('two syncs started at the same instant: one runs, the other is refused, DIR ends complete', async () => {
    const dir = path.join(root, 'racing');
    const [a, b] = await Promise.all([sync(dir), sync(dir)]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    expect(oneLine((a.code === 0 ? b : a).stderr)).toMatch(/another prombackup sync is running/);
    expect((await fs.readdir(dir)).filter((n) => /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(n)).sort()).toEqual(expect.arrayContaining(ulids));
  });
});

describe('create --output s3:// with awkward keys', () => {
  let s3: S3TestServer;
  let fake: FakePrometheus;
  let small: ServerProcess;
  let snapshots: string;

  beforeAll(async () => {
    snapshots = await tempDir('pb-hostile-s3-');
    await writeSmallSnapshot(snapshots, GOOD_NAME);
    [s3, fake] = await Promise.all([startS3Server(), startFakePrometheus('good')]);
    small = await startServer(['-prometheus_endpoint', fake.url, '-snapshot_dir', snapshots]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([small?.stop(), fake?.close(), s3?.stop()]);
    await fs.rm(snapshots, { recursive: true, force: true });
  });

  const create = (output: string) =>
    runCli(['create', '--server', small.url, '--output', output, '--keep-snapshot'], { env: { ...s3.env(), OCLIF_COLUMNS: '1000' } });

  it('stores a key with spaces, unicode, ? and # exactly as written, with its .sha256 beside it', async () => {
    const bucket = await s3.createBucket();
    const key = 'my backups/prométhéus ✓/a?b#c.tar';
    const run = await create(`s3://${bucket}/${key}`);
    expect(run.code, run.stderr).toBe(0);
    expect(await s3.keys(bucket)).toEqual([key, `${key}.sha256`]);
    expect((await s3.get(bucket, `${key}.sha256`)).toString()).toMatch(/^[0-9a-f]{64} {2}a\?b#c\.tar\n$/);
  });

  it.each([
    ['a prefix that leaves no room for the file name', (bucket: string) => `s3://${bucket}/${'p'.repeat(1000)}/`],
    ['a key that leaves no room for .sha256', (bucket: string) => `s3://${bucket}/${'k'.repeat(1020)}`],
  ])('refuses %s before taking a snapshot: nothing written', async (_what, url) => {
    const bucket = await s3.createBucket();
    const before = fake.requests.length;
    const run = await create(url(bucket));
    expect(run.code).not.toBe(0);
    expect(oneLine(run.stderr)).toMatch(/longer than S3's 1024 bytes/);
    expect(fake.requests.length).toBe(before);
    expect(await s3.keys(bucket)).toEqual([]);
    expect(await s3.pendingUploads(bucket)).toEqual([]);
  });
});
