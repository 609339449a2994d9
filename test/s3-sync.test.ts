// sync and forget on s3://BUCKET/PREFIX against Ceph's RADOS Gateway, a real Prometheus and the
// real server: blocks stored once, a manifest per sync written last, and whatever goes wrong no
// manifest ever names a block that is not all there.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CreateMultipartUploadCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from './support/archive';
import { tempDir } from './support/downloads';
import { type FaultyProxy, startFaultyProxy } from './support/faulty-proxy';
import { CLI_BIN, type ServerProcess, runCli, startServer } from './support/processes';
import { type BackfillRange, type PrometheusInstance, startPrometheus, writeBackfillBlocks } from './support/prometheus';
import { blockFolders, expectSameAnswers, listTree } from './support/tsdb';
import { type S3TestServer, startS3Server } from './support/radosgw';

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const HOUR = 3600_000;

let s3: S3TestServer;
let source: string;
let range: BackfillRange;
let prom: PrometheusInstance | undefined;
let server: ServerProcess | undefined;
let proxy: FaultyProxy;
let bucket: string;

/** (Re)starts Prometheus on the source folder and a server beside it: Prometheus reads new or removed blocks only at start. */
async function startSource(): Promise<void> {
  await server?.stop();
  await prom?.stop();
  prom = await startPrometheus({ dataDir: source, scrapeSelf: false });
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  await proxy?.close();
  proxy = await startFaultyProxy(server.url, 2048);
}

beforeAll(async () => {
  source = await tempDir('pb-s3sync-src-');
  range = await writeBackfillBlocks(source);
  [s3] = await Promise.all([startS3Server(), startSource()]);
  bucket = await s3.createBucket();
}, 240_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  await prom?.stop();
  await s3?.stop();
  await fs.rm(source, { recursive: true, force: true });
});

interface StoredFile {
  path: string;
  size: number;
  mtime_ms: number;
  sha256: string;
  key: string;
}
interface Manifest {
  snapshot_name: string;
  blocks: { ulid: string; bytes: number; files: StoredFile[] }[];
}

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...s3.env(), ...env } });
const flat = (stderr: string) => stderr.replace(/\s*\n\s*(›\s*)?/g, ' ');

async function sync(prefix: string, args: string[] = [], url = server!.url) {
  const result = await run(['sync', `s3://${bucket}/${prefix}`, '--server', url, '--skip-head', '--json', ...args]);
  if (result.code !== 0) throw new Error(`sync failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout.toString());
}

const snapshots = async () => fs.readdir(prom!.snapshotDir).catch(() => [] as string[]);
/** Waits until the server holds a snapshot not in `before` (a sync has taken it and starts downloading), and a little more. */
async function newSnapshot(before: string[]): Promise<void> {
  for (const deadline = Date.now() + 30_000; (await snapshots()).every((n) => before.includes(n)); ) {
    if (Date.now() > deadline) throw new Error('the sync did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500));
}
const manifestKeys = async (prefix: string) => s3.keys(bucket, `${prefix}/manifests/`);
const readManifest = async (key: string): Promise<Manifest> => JSON.parse((await s3.get(bucket, key)).toString());
const blocksIn = async (folder: string) => (await fs.readdir(folder)).filter((n) => ULID.test(n)).sort();

/** Every manifest under the prefix names only blocks whose every file is in the bucket with its size and SHA-256. */
async function expectConsistent(prefix: string): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const key of await manifestKeys(prefix)) {
    const manifest = await readManifest(key);
    for (const block of manifest.blocks) {
      for (const file of block.files) {
        const data = await s3.get(bucket, `${prefix}/${file.key}`);
        expect(data.length, file.key).toBe(file.size);
        expect(sha256(data), file.key).toBe(file.sha256);
      }
    }
    manifests.push(manifest);
  }
  expect(await s3.pendingUploads(bucket)).toEqual([]);
  return manifests;
}

/** The files of the source's blocks, as a manifest would list them (path, size, SHA-256). */
async function sourceFiles(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const ulid of await blocksIn(source)) {
    const names = ['index', 'meta.json', 'tombstones', ...(await fs.readdir(path.join(source, ulid, 'chunks'))).map((c) => `chunks/${c}`)];
    out[ulid] = (await Promise.all(names.map(async (n) => `${n} ${sha256(await fs.readFile(path.join(source, ulid, n)))}`))).sort();
  }
  return out;
}
const manifestFiles = (m: Manifest) => Object.fromEntries(m.blocks.map((b) => [b.ulid, b.files.map((f) => `${f.path} ${f.sha256}`).sort()]));

describe('sync s3://', () => {
  it('the first sync stores every block file once and writes a manifest naming them, last', async () => {
    const json = await sync('prom');
    expect(json).toMatchObject({ dir: `s3://${bucket}/prom/`, transferred: { blocks: 3 }, kept: { blocks: 0 }, total: { blocks: 3 } });
    expect(json.manifest).toBe(`s3://${bucket}/prom/manifests/${json.snapshot_name}.json`);
    expect(json.uploaded_bytes).toBe(json.total.bytes);
    const [manifest] = await expectConsistent('prom');
    expect(manifestFiles(manifest)).toEqual(await sourceFiles());
    const keys = await s3.keys(bucket, 'prom/');
    // Each block: its files and one marker; then the one manifest.
    expect(keys.filter((k) => /\/complete-[0-9a-f]{20}\.json$/.test(k))).toHaveLength(3);
    expect(keys.filter((k) => k.includes('/manifests/'))).toEqual([`prom/manifests/${json.snapshot_name}.json`]);
  });

  it('a second sync uploads nothing and writes a second manifest naming the same objects', async () => {
    const before = await s3.keys(bucket, 'prom/blocks/');
    const json = await sync('prom/');
    expect(json).toMatchObject({ transferred: { blocks: 0, bytes: 0, archive_bytes: 0 }, uploaded_bytes: 0, kept: { blocks: 3 } });
    expect(await s3.keys(bucket, 'prom/blocks/')).toEqual(before);
    const manifests = await expectConsistent('prom');
    expect(manifests).toHaveLength(2);
    expect(manifests[1].blocks).toEqual(manifests[0].blocks);
  });

  it('a new block is the only one uploaded; new tombstones upload only tombstones and meta.json, and older manifests keep theirs', async () => {
    await writeBackfillBlocks(source, { endMs: range.startMs - 2 * HOUR, hours: 2 });
    await startSource();
    const added = await sync('prom');
    expect(added).toMatchObject({ transferred: { blocks: 1 }, kept: { blocks: 3 }, total: { blocks: 4 } });

    const newest = (await blocksIn(source)).at(-1)!;
    const meta = JSON.parse(await fs.readFile(path.join(source, newest, 'meta.json'), 'utf8'));
    const params = new URLSearchParams({ 'match[]': `${range.metric}{instance="node-0"}`, start: String(meta.minTime / 1000), end: String((meta.maxTime - 1) / 1000) });
    expect((await fetch(`${prom!.url}/api/v1/admin/tsdb/delete_series?${params}`, { method: 'POST' })).status).toBe(204);
    const json = await sync('prom');
    expect(json).toMatchObject({ transferred: { blocks: 1 }, tombstones_replaced: 1 });
    const tombstones = await fs.stat(path.join(source, newest, 'tombstones'));
    const metaSize = (await fs.stat(path.join(source, newest, 'meta.json'))).size;
    expect(json.uploaded_bytes).toBe(tombstones.size + metaSize);
    const manifests = await expectConsistent('prom');
    expect(manifestFiles(manifests.at(-1)!)).toEqual(await sourceFiles());
    const [before, after] = manifests.slice(-2).map((m) => m.blocks.find((b) => b.ulid === newest)!.files);
    expect(after.find((f) => f.path === 'index')!.key).toBe(before.find((f) => f.path === 'index')!.key);
    expect(after.find((f) => f.path === 'tombstones')!.key).not.toBe(before.find((f) => f.path === 'tombstones')!.key);
  });

  it('after a crash just before its manifest, the next sync takes the blocks from their markers and uploads nothing', async () => {
    const json = await sync('crash');
    await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `crash/manifests/${json.snapshot_name}.json` }));
    const again = await sync('crash');
    expect(again).toMatchObject({ transferred: { blocks: 0 }, uploaded_bytes: 0, kept: { blocks: json.total.blocks } });
    expect(await manifestKeys('crash')).toHaveLength(1);
    await expectConsistent('crash');
  });

  it('a block whose object went missing is not trusted: the next sync uploads it again', async () => {
    const [first] = await expectConsistent('crash');
    const victim = first.blocks[0].files.find((f) => f.path === 'index')!;
    await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `crash/${victim.key}` }));
    const json = await sync('crash');
    expect(json).toMatchObject({ transferred: { blocks: 1 }, uploaded_bytes: victim.size });
    await expectConsistent('crash');
  });
});

describe('sync s3:// when things go wrong', () => {
  it.each(['flip-byte', 'cut'] as const)('a download with a %s: no object, no pending upload, no manifest; the next sync completes', async (fault) => {
    const prefix = `fault-${fault}`;
    proxy.fault = fault;
    try {
      const result = await run(['sync', `s3://${bucket}/${prefix}`, '--server', proxy.url, '--skip-head']);
      expect(result.code).toBe(1);
      expect(flat(result.stderr)).toMatch(/block [0-9A-Z]{26}: /);
    } finally {
      proxy.fault = 'none';
    }
    expect(await s3.keys(bucket, `${prefix}/`)).toEqual([]);
    expect(await s3.pendingUploads(bucket)).toEqual([]);
    await sync(prefix);
    expect(manifestFiles((await expectConsistent(prefix))[0])).toEqual(await sourceFiles());
  });

  it('a sync killed outright, then rerun: the rerun aborts what it left pending and converges', { timeout: 120_000 }, async () => {
    const prefix = 'killed';
    proxy.fault = 'stall';
    let child: ChildProcess | undefined;
    try {
      const before = await snapshots();
      child = spawn(process.execPath, [CLI_BIN, 'sync', `s3://${bucket}/${prefix}`, '--server', proxy.url, '--skip-head'], { env: { ...process.env, ...s3.env() }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      // The stalled block's download has begun once the server lists a snapshot.
      await newSnapshot(before);
      child.kill('SIGKILL');
      await exited;
    } finally {
      proxy.fault = 'none';
    }
    // What a killed upload of a file larger than one part leaves: a pending multipart upload.
    await s3.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${prefix}/blocks/01ARZ3NDEKTSV4RRFFQ69G5FAV/index.1-1` }));
    expect(await manifestKeys(prefix)).toEqual([]);
    // The killed sync also left its lock (s3-lock.test.ts covers the refusal): taken over here.
    const result = await run(['sync', `s3://${bucket}/${prefix}`, '--server', server!.url, '--skip-head', '--break-lock']);
    expect(result.code, result.stderr).toBe(0);
    expect(flat(result.stderr)).toMatch(/took over \S+\.prombackup-sync\.lock .*: --break-lock/);
    expect(flat(result.stderr)).toContain(`aborted the unfinished upload of s3://${bucket}/${prefix}/blocks/01ARZ3NDEKTSV4RRFFQ69G5FAV/index.1-1, left behind by a sync that did not end`);
    expect(manifestFiles((await expectConsistent(prefix))[0])).toEqual(await sourceFiles());
  });

  it('SIGINT mid-sync: exit 130, uploads aborted, no manifest', async () => {
    const prefix = 'sigint';
    proxy.fault = 'stall';
    let stderr = '';
    try {
      const before = await snapshots();
      const child = spawn(process.execPath, [CLI_BIN, 'sync', `s3://${bucket}/${prefix}`, '--server', proxy.url, '--skip-head'], { env: { ...process.env, ...s3.env(), NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await newSnapshot(before);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      proxy.fault = 'none';
    }
    expect(stderr).toMatch(/stopped by SIGINT while syncing snapshot \S+; blocks already uploaded stay, unfinished uploads are aborted, no manifest was written and the lock is released/);
    expect(await manifestKeys(prefix)).toEqual([]);
    expect(await s3.pendingUploads(bucket)).toEqual([]);
  });

  it('wrong credentials: a clear error before any snapshot, nothing written', async () => {
    const before = await fs.readdir(prom!.snapshotDir).catch(() => []);
    const result = await run(['sync', `s3://${bucket}/creds`, '--server', server!.url], { AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toMatch(/cannot use bucket \S+: the store refused access \((SignatureDoesNotMatch|HTTP 403)\): check the credentials/);
    expect(await fs.readdir(prom!.snapshotDir).catch(() => [])).toEqual(before);
    expect(await s3.keys(bucket, 'creds/')).toEqual([]);
  });

  it.each([
    [['s3://Bad_Bucket/x'], /"Bad_Bucket" is not a valid bucket name/],
    [[`s3://${'b'}ucket/../x`], /'\.\.' segment/],
    [['s3://bucket/x', '--keep-removed'], /--keep-removed has no meaning for s3:\/\//],
    [['s3://bucket/x', '--s3-endpoint', 'nope'], /--s3-endpoint "nope" is not an http or https URL/],
    [['/tmp/pb-never-made', '--s3-sse', 'AES256'], /--s3-sse only apply to an s3:\/\/ target/],
  ])('refuses %j with exit 2', async (args, message) => {
    const result = await run(['sync', ...args, '--server', server!.url]);
    expect(flat(result.stderr)).toMatch(message);
    expect(result.code).toBe(2);
  });

  it('a bucket that does not exist: exit 1 before any snapshot', async () => {
    const result = await run(['sync', 's3://no-such-bucket-here/p', '--server', server!.url]);
    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toContain('bucket no-such-bucket-here does not exist');
  });
});


describe('restore and verify of s3:// sync prefixes', () => {
  const restore = async (args: string[]) => {
    const result = await run(['restore', ...args, '--json']);
    return { code: result.code, json: JSON.parse(result.stdout.toString() || '{}'), stderr: result.stderr };
  };

  it('restore of the newest manifest into an empty folder: Prometheus answers the same range queries as the source', { timeout: 120_000 }, async () => {
    const to = path.join(await tempDir('pb-s3restore-'), 'data');
    try {
      const { code, json, stderr } = await restore([`s3://${bucket}/prom`, '--to', to]);
      expect(code, stderr).toBe(0);
      const newest = (await manifestKeys('prom')).at(-1)!;
      expect(json).toMatchObject({ source: `s3://${bucket}/${newest}`, checksum: 'none' });
      expect(json.blocks_restored).toEqual(await blocksIn(source));
      expect(await blockFolders(to)).toEqual(await blocksIn(source));
      const restored = await startPrometheus({ dataDir: to, backfill: false, scrapeSelf: false, retention: `${json.retention_days}d` });
      try {
        await expectSameAnswers(restored, prom!, range.startMs, range.endMs);
      } finally {
        await restored.stop();
      }
    } finally {
      await fs.rm(path.dirname(to), { recursive: true, force: true });
    }
  });

  it('--manifest picks an older sync: its blocks, with the tombstones they had then', async () => {
    const [first] = await manifestKeys('prom');
    const older = await readManifest(first);
    const to = path.join(await tempDir('pb-s3restore-'), 'data');
    try {
      const { code, json, stderr } = await restore([`s3://${bucket}/prom/`, '--to', to, '--manifest', older.snapshot_name]);
      expect(code, stderr).toBe(0);
      expect(json.blocks_restored).toEqual(older.blocks.map((b) => b.ulid));
      for (const block of older.blocks) {
        for (const file of block.files) expect(sha256(await fs.readFile(path.join(to, block.ulid, file.path))), file.path).toBe(file.sha256);
      }
    } finally {
      await fs.rm(path.dirname(to), { recursive: true, force: true });
    }
    const missing = await run(['restore', `s3://${bucket}/prom`, '--to', to, '--manifest', '20000101T000000Z-nope']);
    expect(missing.code).toBe(2);
    expect(flat(missing.stderr)).toMatch(/--manifest 20000101T000000Z-nope: no such manifest under/);
  });

  it('verify checks every manifest and hashes every object; a flipped byte fails verify and restore, which writes nothing', async () => {
    const ok = await run(['verify', `s3://${bucket}/crash`, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const json = JSON.parse(ok.stdout.toString());
    expect(json.manifests.length).toBe((await manifestKeys('crash')).length);
    expect(json.objects).toBeGreaterThan(0);

    const [manifest] = await expectConsistent('crash');
    const victim = manifest.blocks[0].files.find((f) => f.path.startsWith('chunks/'))!;
    const data = await s3.get(bucket, `crash/${victim.key}`);
    data[Math.floor(data.length / 2)] ^= 0xff;
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `crash/${victim.key}`, Body: data }));
    const bad = await run(['verify', `s3://${bucket}/crash`]);
    expect(bad.code).toBe(1);
    // oclif wraps long lines, also inside a key.
    expect(bad.stderr.replace(/\s|›/g, '')).toContain(`s3://${bucket}/crash/${victim.key}:SHA-256mismatch`);

    const to = path.join(await tempDir('pb-s3restore-'), 'data');
    try {
      const failed = await run(['restore', `s3://${bucket}/crash`, '--to', to]);
      expect(failed.code).toBe(1);
      expect(flat(failed.stderr)).toContain('SHA-256 mismatch');
      expect((await listTree(to)).filter((l) => !l.startsWith('lock '))).toEqual([]);
    } finally {
      await fs.rm(path.dirname(to), { recursive: true, force: true });
    }
    await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `crash/${victim.key}` }));
    const gone = await run(['verify', `s3://${bucket}/crash`]);
    expect(gone.code).toBe(1);
    expect(gone.stderr.replace(/\s|›/g, '')).toContain(`namess3://${bucket}/crash/${victim.key},whichismissing`);
  });

  it('refuses what is neither an object nor a sync prefix, and s3 flags on a local source', async () => {
    const none = await run(['verify', `s3://${bucket}/nothing-here`]);
    expect(none.code).toBe(1);
    expect(flat(none.stderr)).toMatch(/no sync manifest under/);
    const restoreNone = await run(['restore', `s3://${bucket}/nothing-here`, '--to', '/tmp/pb-never-made']);
    expect(restoreNone.code).toBe(1);
    expect(flat(restoreNone.stderr)).toMatch(/no such object, and no sync manifest under/);
    const local = await run(['restore', '/tmp', '--to', '/tmp/pb-never-made', '--manifest', 'x']);
    expect(local.code).toBe(2);
    expect(flat(local.stderr)).toContain('--manifest only apply to an s3:// SOURCE');
    const deep = await run(['verify', `s3://${bucket}/prom`, '--deep']);
    expect(deep.code).toBe(2);
    expect(flat(deep.stderr)).toMatch(/--deep opens the blocks of an archive/);
  });
});

describe('forget s3://', () => {
  const forget = (url: string, args: string[], env: NodeJS.ProcessEnv = {}) => run(['forget', url, ...args], env);

  it('on a sync prefix removes manifests by the policy, then only the block objects no kept manifest names', async () => {
    const stray = 'prom/blocks/01ARZ3NDEKTSV4RRFFQ69G5FAV/index.1-1';
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: stray, Body: 'left by a sync under way' }));
    const before = await s3.keys(bucket, 'prom/');
    const manifests = await manifestKeys('prom');
    expect(manifests.length).toBeGreaterThanOrEqual(4);

    const dry = await forget(`s3://${bucket}/prom`, ['--keep-last', '1', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout.toString());
    expect(planned.manifests.filter((m: { outcome: string }) => m.outcome === 'would-remove')).toHaveLength(manifests.length - 1);
    expect(planned.block_objects.removed).toBeGreaterThan(0);
    expect(await s3.keys(bucket, 'prom/')).toEqual(before);

    const result = await forget(`s3://${bucket}/prom/`, ['--keep-last', '1', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout.toString());
    expect(json).toMatchObject({ kept: 1, block_objects: { recent_left: 1 } });
    expect(await manifestKeys('prom')).toEqual([manifests.at(-1)]);
    const [kept] = await expectConsistent('prom');
    expect(manifestFiles(kept)).toEqual(await sourceFiles());
    // What is left under blocks/: the kept manifest's files, one marker per block, and the young stray.
    const left = await s3.keys(bucket, 'prom/blocks/');
    const files = kept.blocks.flatMap((b) => b.files.map((f) => `prom/${f.key}`));
    expect(left.filter((k) => !/\/complete-[0-9a-f]{20}\.json$/.test(k)).sort()).toEqual([...files, stray].sort());
    expect(left.filter((k) => /\/complete-[0-9a-f]{20}\.json$/.test(k))).toHaveLength(kept.blocks.length);
    // A later sync still finds everything it needs.
    expect(await sync('prom')).toMatchObject({ transferred: { blocks: 0 }, uploaded_bytes: 0 });
  });

  it('on a prefix create writes archives into: removes old archives and their .sha256, and nothing else', async () => {
    const put = (key: string) => s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `arch/${key}`, Body: key }));
    const names = ['20240101T000000Z-aaaa.tar', '20240101T000000Z-aaaa.tar.sha256', '20240102T000000Z-bbbb.tar.gz', '20240102T000000Z-bbbb.tar.gz.sha256', '20240103T000000Z-cccc.tar.zst', 'notes.txt', 'sub/20230101T000000Z-dddd.tar', '20220101T000000Z-eeee.tar.part'];
    for (const name of names) await put(name);
    const result = await forget(`s3://${bucket}/arch/`, ['--keep-last', '2']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.toString()).toMatch(/removed\s+arch\/20240101T000000Z-aaaa\.tar \(\+ \.sha256\)/);
    expect(await s3.keys(bucket, 'arch/')).toEqual(names.filter((n) => !n.startsWith('20240101')).map((n) => `arch/${n}`).sort());
  });

  it('wrong credentials: a clear error, nothing removed; bad values exit 2', async () => {
    const before = await s3.keys(bucket, 'arch/');
    const denied = await forget(`s3://${bucket}/arch`, ['--keep-last', '1'], { AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    expect(denied.code).toBe(1);
    expect(flat(denied.stderr)).toMatch(/cannot use bucket \S+: the store refused access/);
    expect(await s3.keys(bucket, 'arch/')).toEqual(before);
    for (const [args, message] of [
      [['s3://Bad_Bucket/x', '--keep-last', '1'], /"Bad_Bucket" is not a valid bucket name/],
      [[`s3://${bucket}/arch`, '--keep-last', 'x'], /--keep-last must be a whole number/],
      [[`s3://${bucket}/arch`], /no retention policy given/],
      [['/tmp', '--keep-last', '1', '--s3-region', 'eu-west-1'], /--s3-region only apply to an s3:\/\/ URL/],
    ] as const) {
      const refused = await forget(args[0], args.slice(1));
      expect(flat(refused.stderr)).toMatch(message);
      expect(refused.code).toBe(2);
    }
    expect(await s3.keys(bucket, 'arch/')).toEqual(before);
  });
});
