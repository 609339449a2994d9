// GET /api/snapshot_contents and GET /api/download?blocks= against snapshot folders crafted to
// mislead: odd meta.json files, a block swapped for a link after it was listed, long block lists.
// One server over a hand-made snapshot_dir (no Prometheus needed: these endpoints only read disk).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SnapshotContentsDto } from '@prombackup/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchive, sha256 } from './support/archive';
import { get, statusOf, tempDir } from './support/downloads';
import { type ServerProcess, startServer } from './support/processes';

const SNAP = '20990101T000000Z-0123456789abcdef';
const GOOD = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const SWAPPED = '01HBBBBBBBBBBBBBBBBBBBBBBB';
const OUTSIDE_BYTES = 'outside-secret-0123456789';

let base: string;
let folder: string;
let server: ServerProcess;

const meta = (ulid: string, extra: Record<string, unknown> = {}) => JSON.stringify({ ulid, minTime: 1000, maxTime: 2000, stats: { numSeries: 1, numSamples: 2, numChunks: 1 }, compaction: { level: 1 }, version: 1, ...extra });

async function block(ulid: string, metaText: string): Promise<void> {
  const dir = path.join(folder, ulid);
  await fs.mkdir(path.join(dir, 'chunks'), { recursive: true });
  await fs.writeFile(path.join(dir, 'chunks', '000001'), 'chunk');
  await fs.writeFile(path.join(dir, 'index'), 'index');
  await fs.writeFile(path.join(dir, 'meta.json'), metaText);
}

/** meta.json texts that are not a block's, each in a folder named by its own ULID. */
const ODD: [string, string, (ulid: string) => string][] = [
  ['a byte order mark', '01HC0000000000000000000001', (u) => `\uFEFF${meta(u)}`],
  ['the ULID in lower case', '01HC0000000000000000000002', (u) => meta(u.toLowerCase())],
  ['a minTime past 2^53', '01HC0000000000000000000003', (u) => meta(u).replace('"minTime":1000', '"minTime":1e300')],
  ['maxTime before minTime', '01HC0000000000000000000004', (u) => meta(u, { minTime: 5, maxTime: 4 })],
  ['a fractional sample count', '01HC0000000000000000000005', (u) => meta(u, { stats: { numSamples: 1.5 } })],
  ['a negative series count', '01HC0000000000000000000006', (u) => meta(u, { stats: { numSeries: -1 } })],
  ['stats that are null', '01HC0000000000000000000007', (u) => meta(u, { stats: null })],
  ['a JSON array', '01HC0000000000000000000008', (u) => JSON.stringify([meta(u)])],
  ['an empty file', '01HC0000000000000000000009', () => ''],
];
/** meta.json texts that are odd but a block's all the same. */
const NEGATIVE = '01HD0000000000000000000001';
const DUPLICATE = '01HD0000000000000000000002';

beforeAll(async () => {
  base = await tempDir('pb-hostile-contents-');
  folder = path.join(base, 'snapshots', SNAP);
  await block(GOOD, meta(GOOD));
  await block(SWAPPED, meta(SWAPPED));
  for (const [, ulid, text] of ODD) await block(ulid, text(ulid));
  await block(NEGATIVE, meta(NEGATIVE, { minTime: -5000, maxTime: -1000 }));
  // Duplicate keys: JSON.parse keeps the last, as Go's encoding/json (Prometheus) does.
  await block(DUPLICATE, meta(DUPLICATE).replace('{', '{"ulid":"01HXXXXXXXXXXXXXXXXXXXXXXX",'));
  // The outside folder a swapped block will point at, shaped like a block.
  await block(path.join('..', '..', 'outside', SWAPPED), meta(SWAPPED));
  await fs.writeFile(path.join(base, 'outside', SWAPPED, 'chunks', '000001'), OUTSIDE_BYTES);
  server = await startServer(['-snapshot_dir', path.join(base, 'snapshots'), '-prometheus_endpoint', 'http://127.0.0.1:9']);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await fs.rm(base, { recursive: true, force: true });
});

async function contents(): Promise<SnapshotContentsDto> {
  const res = await fetch(`${server.url}/api/snapshot_contents?name=${SNAP}`);
  expect(res.status).toBe(200);
  return (await res.json()) as SnapshotContentsDto;
}

describe('snapshot_contents of odd meta.json files', () => {
  it('lists a folder with a meta.json that is not its block under other, never as a block', async () => {
    const { blocks, other } = await contents();
    const listed = new Set(blocks.map((b) => b.ulid));
    for (const [what, ulid] of ODD) {
      expect(listed.has(ulid), what).toBe(false);
      expect(other, what).toContainEqual({ name: ulid, type: 'directory', size: expect.any(Number) });
    }
  });

  it('lists negative times and duplicate keys (the last one counts) as blocks', async () => {
    const { blocks } = await contents();
    expect(blocks.find((b) => b.ulid === NEGATIVE)).toMatchObject({ min_time: -5000, max_time: -1000 });
    expect(blocks.find((b) => b.ulid === DUPLICATE)).toMatchObject({ min_time: 1000 });
  });

  it.each(ODD.map(([what, ulid]) => [what, ulid]))('refuses blocks= of the folder with %s with a 400', async (_what, ulid) => {
    const res = await fetch(`${server.url}/api/download?name=${SNAP}&blocks=${ulid}`);
    expect(res.status).toBe(400);
  });
});

describe('download?blocks= of a block that changes after it was listed', () => {
  it('a block swapped for a link to a block-shaped folder outside: 400, and not one outside byte', async () => {
    expect((await contents()).blocks.map((b) => b.ulid)).toContain(SWAPPED);
    await fs.rename(path.join(folder, SWAPPED), path.join(base, 'swapped-away'));
    await fs.symlink(path.join(base, 'outside', SWAPPED), path.join(folder, SWAPPED));
    const res = await fetch(`${server.url}/api/download?name=${SNAP}&blocks=${SWAPPED}`);
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain(OUTSIDE_BYTES);
    const whole = await get(`${server.url}/api/download?name=${SNAP}`);
    expect(whole.body.includes(Buffer.from(OUTSIDE_BYTES))).toBe(false);
    expect((await statusOf(server, whole.id)).success).toBe(false);
  });

  it('a block beside it still downloads exactly, with a matching SHA-256', async () => {
    const received = await get(`${server.url}/api/download?name=${SNAP}&blocks=${GOOD}`);
    expect(received.status).toBe(200);
    const status = await statusOf(server, received.id);
    expect(status).toMatchObject({ success: true, sha256_hex: sha256(received.body) });
    expect((await readArchive(received.body, 'tar')).map((e) => e.name)).toContain(`${SNAP}/${GOOD}/chunks/000001`);
  });
});

describe('blocks= lists at the edges', () => {
  it('names the unknown ones of 140 ULIDs (about as many as a 4096-character URL holds) in a bounded message', async () => {
    const many = Array.from({ length: 140 }, (_, i) => `01HE${String(i).padStart(22, '0')}`);
    const res = await fetch(`${server.url}/api/download?name=${SNAP}&blocks=${[GOOD, ...many].join(',')}`);
    expect(res.status).toBe(400);
    const { message } = (await res.json()) as { message: string };
    expect(message).toContain('and 130 more');
    expect(message.length).toBeLessThan(1000);
  });

  it('refuses a list longer than the server reads with a clear status, not a hang', async () => {
    const huge = Array.from({ length: 3000 }, (_, i) => `01HE${String(i).padStart(22, '0')}`).join(',');
    const res = await fetch(`${server.url}/api/download?name=${SNAP}&blocks=${huge}`);
    expect([414, 431]).toContain(res.status);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
