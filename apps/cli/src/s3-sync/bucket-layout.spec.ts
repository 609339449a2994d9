import { describe, expect, it } from 'vitest';
import { blockKeyOwner, fileKey, manifestSnapshotName, markerKey, parseManifest, parseMarker, serializeManifest, serializeMarker, type StoredBlock } from './bucket-layout';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const file = (path: string, size = 3) => ({ path, size, mtime_ms: 1_700_000_000_123, sha256: 'a'.repeat(64), key: fileKey(A, { path, size, mtime_ms: 1_700_000_000_123 }) });
const block = (files = [file('meta.json'), file('index'), file('chunks/000001')]): StoredBlock => ({
  ulid: A, min_time: 0, max_time: 10, num_series: 1, num_samples: 2, num_chunks: 1, compaction_level: 1, bytes: 9, files,
});
const NAME = '20240101T000000Z-0123456789abcdef';

describe('sync manifests and markers', () => {
  it('round-trip, with keys that carry each file\'s time and size', () => {
    expect(fileKey(A, { path: 'chunks/000001', mtime_ms: 5, size: 7 })).toBe(`blocks/${A}/chunks/000001.5-7`);
    expect(parseManifest(serializeManifest(NAME, [block()]), 'm').blocks).toEqual([block()]);
    expect(parseMarker(serializeMarker(block()), A, 'k')).toEqual(block());
    expect(markerKey(A, block().files)).toMatch(new RegExp(`^blocks/${A}/complete-[0-9a-f]{20}\\.json$`));
    expect(markerKey(A, [...block().files].reverse())).toBe(markerKey(A, block().files));
    expect(blockKeyOwner(markerKey(A, block().files))).toEqual({ ulid: A, marker: true });
    expect(blockKeyOwner(`blocks/${A}/index.1-1`)).toEqual({ ulid: A, marker: false });
    expect(blockKeyOwner('blocks/not-a-ulid/x')).toBeUndefined();
    expect(manifestSnapshotName('p/', `p/manifests/${NAME}.json`)).toBe(NAME);
    expect(manifestSnapshotName('p/', 'p/manifests/../x.json')).toBeUndefined();
  });

  it.each([
    ['a path with ..', block([file('meta.json'), file('index'), { ...file('chunks/000001'), path: '../../etc/passwd' }]), /"\.\." component/],
    ['a file a block does not hold', block([file('meta.json'), file('index'), file('wal/0001')]), /not a file a block holds/],
    ['a key of another block', block([file('meta.json'), { ...file('index'), key: 'blocks/01HBBBBBBBBBBBBBBBBBBBBBBB/index.1-3' }]), /has key/],
    ['no index', block([file('meta.json'), file('chunks/000001')]), /lists no index/],
    ['a bad hash', block([file('meta.json'), { ...file('index'), sha256: 'xyz' }]), /no valid sha256/],
    ['a file twice', block([file('meta.json'), file('index'), file('index')]), /listed twice/],
    ['chunks/1 beside chunks/000001', block([file('meta.json'), file('index'), file('chunks/000001'), file('chunks/1')]), /chunks\/1": not a file a block holds/],
    ['a gap in the chunk segments', block([file('meta.json'), file('index'), file('chunks/000001'), file('chunks/000003')]), /chunks\/000003 without chunks\/000002/],
  ])('refuses a manifest with %s', (_what, bad, message) => {
    expect(() => parseManifest(serializeManifest(NAME, [bad]), 'm')).toThrow(message);
  });

  it('refuses what is not a manifest or a marker of that block', () => {
    expect(() => parseManifest('{"format":"other"}', 'm')).toThrow(/not a prombackup sync manifest/);
    expect(() => parseManifest('[', 'm')).toThrow(/not JSON/);
    expect(() => parseMarker(serializeMarker(block()), '01HBBBBBBBBBBBBBBBBBBBBBBB', 'k')).toThrow(/names block/);
  });
});
