import type { BlockDto } from '@prombackup/client';
import { describe, expect, it } from 'vitest';
import type { LocalBlock } from './local-blocks';
import { planSync } from './sync-plan';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';
const C = '01HCCCCCCCCCCCCCCCCCCCCCCC';
const T = 1_700_000_000_123;

const files = (tombstones = 9, meta = 100, mtime = T) => [
  { path: 'chunks/000001', size: 1000, mtime_ms: T },
  { path: 'index', size: 500, mtime_ms: T },
  { path: 'meta.json', size: meta, mtime_ms: mtime },
  { path: 'tombstones', size: tombstones, mtime_ms: mtime },
];

function remote(ulid: string, list = files()): BlockDto {
  return { ulid, min_time: 0, max_time: 1, num_series: 1, num_samples: 1, num_chunks: 1, compaction_level: 1, bytes: list.reduce((s, f) => s + f.size, 0), files: list };
}

function local(ulid: string, list = files(), odd: string[] = []): [string, LocalBlock] {
  const mine = list.map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtime_ms }));
  return [ulid, { ulid, files: mine, odd, bytes: mine.reduce((s, f) => s + f.size, 0) }];
}

describe('planSync', () => {
  it('into an empty DIR: every block is new, in ULID order', () => {
    const plan = planSync([remote(B), remote(A)], new Map());
    expect(plan.fetch.map((b) => [b.ulid, b.action])).toEqual([
      [A, 'new'],
      [B, 'new'],
    ]);
    expect(plan.keep).toEqual([]);
    expect(plan.remove).toEqual([]);
  });

  it('keeps blocks with the same files, sizes and times; fetches new ones; removes folders the snapshot lacks', () => {
    const plan = planSync([remote(A), remote(B)], new Map([local(A), local(C)]));
    expect(plan.keep).toEqual([{ ulid: A, bytes: 1609 }]);
    expect(plan.fetch.map((b) => b.ulid)).toEqual([B]);
    expect(plan.remove).toEqual([{ ulid: C, bytes: 1609 }]);
  });

  it('new tombstones (and the meta.json that counts them) replace just those files', () => {
    const plan = planSync([remote(A, files(30, 120, T + 5000))], new Map([local(A)]));
    expect(plan.fetch).toEqual([expect.objectContaining({ ulid: A, action: 'tombstones' })]);
    const missing = planSync([remote(A)], new Map([local(A, files().filter((f) => f.path !== 'tombstones'))]));
    expect(missing.fetch[0].action).toBe('tombstones');
  });

  it('counts a tombstones file of the same size but another time as changed', () => {
    const changed = files().map((f) => (f.path === 'tombstones' ? { ...f, mtime_ms: T + 1 } : f));
    expect(planSync([remote(A, changed)], new Map([local(A)])).fetch[0]).toMatchObject({ action: 'tombstones', reason: 'tombstones (another modification time)' });
  });

  it.each([
    ['another index size', files().map((f) => (f.path === 'index' ? { ...f, size: 501 } : f))],
    ['a chunk segment more', [...files(), { path: 'chunks/000002', size: 10, mtime_ms: T }]],
    ['a chunk with another time', files().map((f) => (f.path === 'chunks/000001' ? { ...f, mtime_ms: T - 1 } : f))],
  ])('replaces the whole block for %s', (_what, list) => {
    expect(planSync([remote(A, list)], new Map([local(A)])).fetch[0].action).toBe('replace');
  });

  it('replaces a block that has a file the snapshot lacks, or a link inside, even beside tombstones', () => {
    expect(planSync([remote(A)], new Map([local(A, [...files(), { path: 'extra', size: 1, mtime_ms: T }])])).fetch[0]).toMatchObject({ action: 'replace', reason: 'extra (not in the snapshot)' });
    expect(planSync([remote(A)], new Map([local(A, files(), ['chunks/000002'])])).fetch[0]).toMatchObject({ action: 'replace', reason: 'chunks/000002 (not a regular file)' });
    const noTombstones = files().filter((f) => f.path !== 'tombstones');
    expect(planSync([remote(A, noTombstones)], new Map([local(A)])).fetch[0].action).toBe('replace');
  });

  it("fetches again a block whose meta.json in DIR does not parse, though its size and time match (only tombstones and meta.json are replaced)", () => {
    const [ulid, block] = local(A);
    const plan = planSync([remote(A)], new Map([[ulid, { ...block, metaUnreadable: true }]]));
    expect(plan.keep).toEqual([]);
    expect(plan.fetch).toEqual([expect.objectContaining({ ulid: A, action: 'tombstones', reason: 'meta.json (does not parse in DIR)' })]);
  });

  it('never removes from DIR a block the snapshot has but the server could not list (its meta.json unreadable there), and reports it', () => {
    const plan = planSync([remote(B)], new Map([local(A), local(C)]), [A, '01HDDDDDDDDDDDDDDDDDDDDDDD']);
    expect(plan.remove).toEqual([{ ulid: C, bytes: 1609 }]);
    expect(plan.unreadable).toEqual([
      { ulid: A, earlier_copy_kept: true },
      { ulid: '01HDDDDDDDDDDDDDDDDDDDDDDD', earlier_copy_kept: false },
    ]);
  });

  it('refuses a listing that names a block by anything but a ULID, or twice: the names become paths in DIR', () => {
    for (const ulid of ['..', '../../x', '.', '/tmp', A.toLowerCase(), `${A}/..`]) {
      expect(() => planSync([remote(A), remote(ulid)], new Map())).toThrow(/not a block ULID/);
    }
    expect(() => planSync([remote(A), remote(A)], new Map())).toThrow(/twice/);
  });
});
