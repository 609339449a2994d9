// GET /api/snapshot_contents and GET /api/download?blocks= against a real Prometheus: the listing
// is what is on disk, an archive of some blocks is exactly those blocks, and hostile snapshots
// (links to /etc, huge or garbage meta.json, names that are not UTF-8) give clear answers and
// never an outside byte.
import fs from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { PrombackupClient, type SnapshotContentsDto } from '@prombackup/client';
import { SNAPSHOT_BYTES_HEADER } from '@prombackup/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDownload } from '../apps/cli/src/archive-download';
import { type Entry, describeFolder, readArchive, sha256 } from './support/archive';
import { expectNoAbsolutePath, get, json, statusOf, tempDir } from './support/downloads';
import { NOBODY, type ServerProcess, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, waitForHeadSamples } from './support/prometheus';

const FORMATS = ['tar', 'tgz', 'tzst'] as const;
const UNKNOWN = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
const LINKED = '01HZZZZZZZZZZZZZZZZZZZZZZ0';
const HUGE = '01HZZZZZZZZZZZZZZZZZZZZZZ1';
const GARBAGE = '01HZZZZZZZZZZZZZZZZZZZZZZ2';
const GARBAGE_META = '\u0000{"ulid": garbage';

let prom: PrometheusInstance;
let server: ServerProcess;
let client: PrombackupClient;
let name: string;
let folder: string;

/** A snapshot taken through the server (with the head block unless `skipHead`). */
async function snapshot(skipHead = false): Promise<string> {
  const res = await fetch(`${server.url}/api/snapshot?skip_head=${skipHead}`, { method: 'POST', redirect: 'manual' });
  expect(res.status).toBe(303);
  return ((await res.json()) as { name: string }).name;
}

/** The files below `dir` as the contents listing must show them, read here with plain fs calls. */
async function filesOnDisk(dir: string, prefix = ''): Promise<{ path: string; size: number; mtime_ms: number }[]> {
  const files: { path: string; size: number; mtime_ms: number }[] = [];
  for (const child of await fs.readdir(dir)) {
    const stats = await fs.lstat(path.join(dir, child), { bigint: true });
    if (stats.isDirectory()) files.push(...(await filesOnDisk(path.join(dir, child), `${prefix}${child}/`)));
    else files.push({ path: `${prefix}${child}`, size: Number(stats.size), mtime_ms: Number(stats.mtimeNs / 1_000_000n) });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function contentsOf(snapshotName: string): Promise<SnapshotContentsDto> {
  const res = await fetch(`${server.url}/api/snapshot_contents?name=${snapshotName}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json; charset=utf-8/);
  return (await res.json()) as SnapshotContentsDto;
}

beforeAll(async () => {
  prom = await startPrometheus();
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  client = new PrombackupClient({ BASE: server.url });
  await waitForHeadSamples(prom.url);
  name = await snapshot();
  folder = path.join(prom.snapshotDir, name);
});

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
});

describe('GET /api/snapshot_contents', () => {
  it('lists every block of a real snapshot as it is on disk: meta.json values, files, sizes, times, bytes', async () => {
    const contents = await contentsOf(name);
    const onDisk = (await fs.readdir(folder)).sort();
    // Three backfilled blocks and the head written out by the snapshot.
    expect(contents.blocks.length).toBeGreaterThanOrEqual(4);
    expect(contents.blocks.map((b) => b.ulid)).toEqual(onDisk);
    expect(contents.other).toEqual([]);
    for (const block of contents.blocks) {
      const meta = JSON.parse(await fs.readFile(path.join(folder, block.ulid, 'meta.json'), 'utf8'));
      expect(block).toEqual({
        ulid: meta.ulid,
        min_time: meta.minTime,
        max_time: meta.maxTime,
        num_series: meta.stats.numSeries,
        num_samples: meta.stats.numSamples ?? 0,
        num_chunks: meta.stats.numChunks ?? 0,
        compaction_level: meta.compaction.level,
        bytes: block.files.reduce((sum, f) => sum + f.size, 0),
        files: await filesOnDisk(path.join(folder, block.ulid)),
      });
      expect(block.files.map((f) => f.path)).toEqual(expect.arrayContaining(['chunks/000001', 'index', 'meta.json', 'tombstones']));
      expect(block.num_samples).toBeGreaterThan(0);
    }
    const backfilled = contents.blocks.filter((b) => b.min_time >= prom.backfill!.startMs && b.max_time <= prom.backfill!.endMs + 1);
    expect(backfilled.length).toBeGreaterThanOrEqual(1);
  });

  it('is the same through the generated client', async () => {
    expect(await client.snapshots.snapshotContents({ name })).toEqual(await contentsOf(name));
  });

  it.each([
    ['no name', '', 400, 'parameter name is missing'],
    ['an empty name', '?name=', 400, 'parameter name is missing'],
    ['a name with ..', '?name=..%2Fetc', 400, 'must be a snapshot folder name'],
    ['a name given twice', `?name=${'x-y'}&name=x-y`, 400, 'more than once'],
    ['an unknown snapshot', '?name=20990101T000000Z-0000000000000000', 404, 'no snapshot named 20990101T000000Z-0000000000000000'],
  ])('answers %s with a clear error', async (_, query, status, message) => {
    const res = await fetch(`${server.url}/api/snapshot_contents${query}`);
    expect(res.status).toBe(status);
    const body = await json(res);
    expect(body.statusCode).toBe(status);
    expect(body.message).toContain(message);
    expectNoAbsolutePath(body.message, prom.dataDir);
  });
});

describe('GET /api/download?blocks=', () => {
  /** What an archive of `ulids` must hold: the snapshot folder and those block folders, nothing else. */
  async function expected(ulids: string[]): Promise<Entry[]> {
    return (await describeFolder(folder)).filter((e) => e.name === name || ulids.some((u) => e.name === `${name}/${u}` || e.name.startsWith(`${name}/${u}/`)));
  }

  it.each(FORMATS)('holds exactly the asked blocks, byte for byte, with a status SHA-256 equal to the bytes (%s)', async (format) => {
    const { blocks } = await contentsOf(name);
    const asked = [blocks[blocks.length - 1].ulid, blocks[0].ulid];
    const res = await fetch(`${server.url}/api/download?name=${name}&format=${format}&blocks=${asked.join(',')}`);
    expect(res.status).toBe(200);
    expect(res.headers.get(SNAPSHOT_BYTES_HEADER)).toBe(String(blocks[0].bytes + blocks[blocks.length - 1].bytes));
    const body = Buffer.from(await res.arrayBuffer());
    const status = await statusOf(server, res.headers.get('x-prombackup-download-id')!);
    expect(status).toEqual({ success: true, error_text: null, sha256_hex: sha256(body) });
    expect(await readArchive(body, format)).toEqual(await expected(asked));
  });

  it('streams through the CLI download function with the blocks option', async () => {
    const { blocks } = await contentsOf(name);
    const opened = await openDownload(client, { name, format: 'tar', blocks: [blocks[1].ulid] });
    const body = await buffer(opened.body);
    expect(opened.snapshotBytes).toBe(blocks[1].bytes);
    expect((await statusOf(server, opened.id)).sha256_hex).toBe(sha256(body));
    expect(await readArchive(body, 'tar')).toEqual(await expected([blocks[1].ulid]));
  });

  it.each([
    ['an empty list', 'blocks=', 'parameter blocks is empty'],
    ['nonsense', 'blocks=nonsense', 'parameter blocks must list block ULIDs'],
    ['a lower-case ULID', `blocks=${UNKNOWN.toLowerCase()}`, 'parameter blocks must list block ULIDs'],
    ['a trailing comma', `blocks=${UNKNOWN},`, 'parameter blocks must list block ULIDs'],
    ['a ULID the snapshot does not have', `blocks=${UNKNOWN}`, `has no block ${UNKNOWN}`],
    ['the parameter twice', `blocks=${UNKNOWN}&blocks=${UNKNOWN}`, 'given more than once'],
  ])('refuses %s with a 400 before streaming', async (_, query, message) => {
    const res = await fetch(`${server.url}/api/download?name=${name}&${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('x-prombackup-download-id')).toBeNull();
    expect((await json(res)).message).toContain(message);
  });

  it('refuses a repeated ULID, and names every unknown one but not the known', async () => {
    const { blocks } = await contentsOf(name);
    const known = blocks[0].ulid;
    const twice = await fetch(`${server.url}/api/download?name=${name}&blocks=${known},${known}`);
    expect(twice.status).toBe(400);
    expect((await json(twice)).message).toBe(`parameter blocks lists ${known} more than once`);
    const other = '01ARZ3NDEKTSV4RRFFQ69G5FAW';
    const res = await fetch(`${server.url}/api/download?name=${name}&blocks=${UNKNOWN},${known},${other}`);
    expect(res.status).toBe(400);
    const { message } = await json(res);
    expect(message).toContain(`has no block ${UNKNOWN}, ${other} `);
    expect(message).not.toContain(known);
  });
});

describe('a hostile snapshot', () => {
  let hostile: string;
  let hostileFolder: string;
  const NOT_UTF8 = Buffer.from([0x6e, 0x6f, 0xff, 0xfe]);

  beforeAll(async () => {
    hostile = await snapshot(true);
    hostileFolder = path.join(prom.snapshotDir, hostile);
    await fs.symlink('/etc', path.join(hostileFolder, LINKED));
    await fs.mkdir(path.join(hostileFolder, HUGE));
    const huge = await fs.open(path.join(hostileFolder, HUGE, 'meta.json'), 'w');
    await huge.truncate(1024 ** 3); // a sparse 1 GiB
    await huge.close();
    await fs.mkdir(path.join(hostileFolder, GARBAGE));
    await fs.writeFile(path.join(hostileFolder, GARBAGE, 'meta.json'), GARBAGE_META);
    await fs.writeFile(Buffer.concat([Buffer.from(`${hostileFolder}/`), NOT_UTF8]), 'x');
  });

  it('lists links, bad meta.json folders and names that are not UTF-8 under other, and its blocks as blocks', async () => {
    const contents = await contentsOf(hostile);
    const blocksOnDisk = (await fs.readdir(hostileFolder)).filter((n) => /^01[A-Z0-9]{24}$/.test(n) && ![LINKED, HUGE, GARBAGE].includes(n));
    expect(contents.blocks.map((b) => b.ulid)).toEqual(blocksOnDisk.sort());
    expect(contents.blocks.length).toBeGreaterThanOrEqual(3);
    expect(contents.other).toEqual([
      { name: LINKED, type: 'other', size: 0 },
      { name: HUGE, type: 'directory', size: 1024 ** 3 },
      { name: GARBAGE, type: 'directory', size: Buffer.byteLength(GARBAGE_META) },
      { name: 'no\\xff\\xfe', type: 'file', size: 1 },
    ].sort((a, b) => (a.name < b.name ? -1 : 1)));
    expect(JSON.stringify(contents)).not.toMatch(/root:|passwd/);
    // The server is still well: the 1 GiB meta.json was not loaded.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it.each([LINKED, HUGE, GARBAGE])('refuses blocks=%s (not a block) with a 400, sending no outside byte', async (ulid) => {
    const res = await fetch(`${server.url}/api/download?name=${hostile}&blocks=${ulid}`);
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(JSON.parse(text).message).toContain(`has no block ${ulid}`);
    expect(text).not.toMatch(/root:/);
    expectNoAbsolutePath(JSON.parse(text).message, prom.dataDir);
  });

  it('downloads a real block beside them, exactly', async () => {
    const { blocks } = await contentsOf(hostile);
    const received = await get(`${server.url}/api/download?name=${hostile}&format=tzst&blocks=${blocks[0].ulid}`);
    expect(received.status).toBe(200);
    expect((await statusOf(server, received.id)).sha256_hex).toBe(sha256(received.body));
    const entries = await readArchive(received.body, 'tzst');
    expect(entries.map((e) => e.name)).toEqual([hostile, ...blocks[0].files.map((f) => `${hostile}/${blocks[0].ulid}/${f.path}`).concat(`${hostile}/${blocks[0].ulid}`, `${hostile}/${blocks[0].ulid}/chunks`).sort()]);
    expect(received.body.includes(Buffer.from('root:x:0:0'))).toBe(false);
  });
});

describe('a snapshot the server may not read in full', () => {
  it('answers 500 naming the part it cannot read, without a path outside the snapshot', async () => {
    expect(process.getuid?.(), 'this test runs the server as "nobody" and must run as root').toBe(0);
    const base = await tempDir('pb-contents-');
    const snapshotDir = path.join(base, 'snapshots');
    const snap = '20990101T000000Z-0123456789abcdef';
    const block = path.join(snapshotDir, snap, UNKNOWN);
    await fs.mkdir(path.join(block, 'chunks'), { recursive: true });
    await fs.writeFile(path.join(block, 'meta.json'), JSON.stringify({ ulid: UNKNOWN, minTime: 0, maxTime: 1 }));
    await fs.chmod(snapshotDir, 0o755);
    await fs.chmod(path.join(snapshotDir, snap), 0o755);
    await fs.chmod(block, 0o755);
    await fs.chmod(path.join(block, 'chunks'), 0o700);
    const nobody = await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', 'http://127.0.0.1:9'], {}, NOBODY);
    try {
      const res = await fetch(`${nobody.url}/api/snapshot_contents?name=${snap}`);
      expect(res.status).toBe(500);
      const { message } = await json(res);
      expect(message).toBe(`cannot list snapshot ${snap}: cannot read ${snap}/${UNKNOWN}/chunks: permission denied (EACCES)`);
      expectNoAbsolutePath(message, base);
    } finally {
      await nobody.stop();
      await fs.rm(base, { recursive: true, force: true });
    }
  });
});
