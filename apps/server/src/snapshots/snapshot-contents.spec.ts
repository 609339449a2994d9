import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerConfig } from '../config/server-config';
import { parseSettings } from '../config/settings';
import { META_JSON_MAX_BYTES } from './block-meta';
import { SnapshotContents } from './snapshot-contents';
import { SnapshotStore } from './snapshot-store';

const NAME = '20240101T000000Z-abcdef';
const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';
const C = '01HCCCCCCCCCCCCCCCCCCCCCCC';
const SECRET = 'SECRET-OUTSIDE-THE-SNAPSHOT';

const meta = (ulid: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ulid, minTime: 1000, maxTime: 7201000, stats: { numSamples: 120, numSeries: 3, numChunks: 6 }, compaction: { level: 2 }, version: 1, ...extra });

describe('SnapshotContents', () => {
  let tmp: string;
  let root: string;
  let dir: string;
  let contents: SnapshotContents;
  let store: SnapshotStore;

  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'prombackup-contents-'));
    root = path.join(tmp, 'snapshots');
    dir = path.join(root, NAME);
    mkdirSync(path.join(dir, A, 'chunks'), { recursive: true });
    writeFileSync(path.join(dir, A, 'chunks', '000001'), 'x'.repeat(100));
    writeFileSync(path.join(dir, A, 'index'), 'i'.repeat(10));
    writeFileSync(path.join(dir, A, 'meta.json'), meta(A));
    writeFileSync(path.join(dir, A, 'tombstones'), 'tomb');
    utimesSync(path.join(dir, A, 'index'), 1_700_000_000.123, 1_700_000_000.1239);
    store = new SnapshotStore(new ServerConfig(parseSettings(['-snapshot_dir', root])));
    contents = new SnapshotContents(store);
  });

  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('lists a block with its meta.json values, files sorted by path with sizes and whole-millisecond times, and their sum', async () => {
    const result = await contents.ofSnapshot(NAME);
    const file = (rel: string) => ({ path: rel, size: statSync(path.join(dir, A, rel)).size, mtime_ms: Math.floor(statSync(path.join(dir, A, rel)).mtimeMs) });
    expect(result).toEqual({
      name: NAME,
      blocks: [
        {
          ulid: A, min_time: 1000, max_time: 7201000, num_series: 3, num_samples: 120, num_chunks: 6, compaction_level: 2,
          bytes: 100 + 10 + meta(A).length + 4,
          files: [file('chunks/000001'), file('index'), file('meta.json'), file('tombstones')],
        },
      ],
      other: [],
    });
    expect(result.blocks[0].files[1].mtime_ms).toBe(1_700_000_000_123);
  });

  it('sorts files by their whole path, not folder by folder', async () => {
    mkdirSync(path.join(dir, A, 'a'));
    writeFileSync(path.join(dir, A, 'a', 'c'), '');
    writeFileSync(path.join(dir, A, 'a-b'), '');
    const paths = (await contents.ofSnapshot(NAME)).blocks[0].files.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    expect(paths.slice(0, 2)).toEqual(['a-b', 'a/c']);
  });

  it('gives 0 for stats and compaction level missing from meta.json', async () => {
    writeFileSync(path.join(dir, A, 'meta.json'), JSON.stringify({ ulid: A, minTime: -5, maxTime: 10 }));
    expect((await contents.ofSnapshot(NAME)).blocks[0]).toMatchObject({ min_time: -5, max_time: 10, num_series: 0, num_samples: 0, num_chunks: 0, compaction_level: 0 });
  });

  it('lists everything else by name, type and size: files, folders (bytes below them) and links (never followed)', async () => {
    mkdirSync(path.join(dir, 'chunks_head'));
    writeFileSync(path.join(dir, 'chunks_head', '000001'), 'h'.repeat(30));
    writeFileSync(path.join(dir, 'lock'), 'ab');
    mkdirSync(path.join(tmp, 'outside'));
    writeFileSync(path.join(tmp, 'outside', 'meta.json'), meta(B));
    symlinkSync(path.join(tmp, 'outside'), path.join(dir, B));
    symlinkSync('/etc', path.join(dir, 'etc'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    const result = await contents.ofSnapshot(NAME);
    expect(result.blocks.map((b) => b.ulid)).toEqual([A]);
    expect(result.other).toEqual([
      { name: B, type: 'other', size: 0 },
      { name: 'chunks_head', type: 'directory', size: 30 },
      { name: 'etc', type: 'other', size: 0 },
      { name: 'fifo', type: 'other', size: 0 },
      { name: 'lock', type: 'file', size: 2 },
    ]);
    expect(JSON.stringify(result)).not.toContain('passwd');
  });

  it.each([
    ['no meta.json', undefined],
    ['meta.json that is not JSON', '{"ulid":'],
    ['meta.json that is not an object', '[1]'],
    ['meta.json naming another block', meta(B)],
    ['meta.json without times', JSON.stringify({ ulid: C })],
    ['meta.json with a time that is not a whole number', meta(C, { minTime: 1.5 })],
    ['meta.json with negative stats', meta(C, { stats: { numSamples: -1 } })],
    ['meta.json with stats of the wrong type', meta(C, { stats: 'many' })],
    ['meta.json with maxTime before minTime', meta(C, { minTime: 10, maxTime: 5 })],
    ['meta.json in UTF-16', Buffer.from(meta(C), 'utf16le')],
  ])('lists a ULID-named folder with %s under other', async (_, text) => {
    mkdirSync(path.join(dir, C));
    writeFileSync(path.join(dir, C, 'index'), 'abc');
    if (text !== undefined) writeFileSync(path.join(dir, C, 'meta.json'), text);
    const result = await contents.ofSnapshot(NAME);
    expect(result.blocks.map((b) => b.ulid)).toEqual([A]);
    expect(result.other).toEqual([{ name: C, type: 'directory', size: 3 + (text === undefined ? 0 : Buffer.byteLength(text)) }]);
  });

  it('does not load a huge meta.json: it is listed under other, its size counted from the listing', async () => {
    mkdirSync(path.join(dir, C));
    writeFileSync(path.join(dir, C, 'meta.json'), '');
    truncateSync(path.join(dir, C, 'meta.json'), 1024 ** 3); // sparse: 1 GiB on paper, nothing on disk
    const before = process.memoryUsage().rss;
    const result = await contents.ofSnapshot(NAME);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    expect(result.other).toEqual([{ name: C, type: 'directory', size: 1024 ** 3 }]);
  });

  it('reads a meta.json of exactly the cap, padded with spaces', async () => {
    mkdirSync(path.join(dir, C));
    const text = meta(C);
    writeFileSync(path.join(dir, C, 'meta.json'), text + ' '.repeat(META_JSON_MAX_BYTES - text.length));
    expect((await contents.ofSnapshot(NAME)).blocks.map((b) => b.ulid)).toEqual([A, C]);
  });

  it('does not follow a meta.json that is a link, nor a chunks folder that is one', async () => {
    mkdirSync(path.join(tmp, 'outside', 'chunks'), { recursive: true });
    writeFileSync(path.join(tmp, 'outside', 'meta.json'), meta(C));
    writeFileSync(path.join(tmp, 'outside', 'chunks', '000001'), SECRET);
    mkdirSync(path.join(dir, C));
    symlinkSync(path.join(tmp, 'outside', 'meta.json'), path.join(dir, C, 'meta.json'));
    symlinkSync(path.join(tmp, 'outside', 'chunks'), path.join(dir, A, 'chunks2'));
    const result = await contents.ofSnapshot(NAME);
    expect(result.blocks.map((b) => b.ulid)).toEqual([A]);
    expect(result.blocks[0].files.map((f) => f.path)).not.toContain('chunks2/000001');
    expect(result.other).toEqual([{ name: C, type: 'directory', size: 0 }]);
  });

  it('shows a name that is not UTF-8 escaped, and does not take a lower-case or too long ULID for a block', async () => {
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff, 0xfe])]), 'x');
    for (const name of [A.toLowerCase(), `${A}0`, `8${A.slice(1)}`, `01HIAAAAAAAAAAAAAAAAAAAAAA`]) {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'meta.json'), meta(name));
    }
    const result = await contents.ofSnapshot(NAME);
    expect(result.blocks.map((b) => b.ulid)).toEqual([A]);
    expect(result.other.map((o) => o.name)).toEqual([`${A}0`, '01HIAAAAAAAAAAAAAAAAAAAAAA', `8${A.slice(1)}`, `${A.toLowerCase()}`, 'bad-\\xff\\xfe'].sort());
  });

  it('with a set of names, reads only those top-level entries', async () => {
    mkdirSync(path.join(dir, B));
    writeFileSync(path.join(dir, B, 'meta.json'), meta(B));
    writeFileSync(path.join(dir, 'lock'), '');
    const result = await contents.read(await store.folder(NAME), new Set([B, C]));
    expect(result.blocks.map((b) => b.ulid)).toEqual([B]);
    expect(result.other).toEqual([]);
  });

  it('answers 404 for an unknown snapshot and a snapshot that is a link', async () => {
    await expect(contents.ofSnapshot('20240101T000000Z-ffffff')).rejects.toMatchObject({ status: 404 });
    symlinkSync(dir, path.join(root, '20240101T000000Z-aaaaaa'));
    await expect(contents.ofSnapshot('20240101T000000Z-aaaaaa')).rejects.toMatchObject({ status: 404 });
  });
  // An unreadable folder is checked end to end in test/snapshot-contents.test.ts, with the server
  // running as "nobody": root, as these specs run, reads everything.
});
