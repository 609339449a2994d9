import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type TarEntry, compressedAs as compressed, tarOf } from '../../../../test/support/tar-entries';
import { type Compression, detectCompression } from './archive-compression';
import { ArchiveError, type FileVisit, readBlockArchive } from './archive-reader';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';
const SNAP = '20261207T193000Z-0123456789abcdef';

type Entry = TarEntry;

const meta = (ulid: string, minTime = 1_000, maxTime = 2_000) => JSON.stringify({ ulid, minTime, maxTime, stats: { numSeries: 3, numSamples: 300 }, compaction: { level: 1 }, version: 1 });

/** The entries of a complete block, as the server writes them. */
function block(ulid: string, top = `${SNAP}/`): Entry[] {
  return [
    { name: `${top}${ulid}`, type: 'directory' },
    { name: `${top}${ulid}/chunks`, type: 'directory' },
    { name: `${top}${ulid}/chunks/000001`, body: 'chunk data' },
    { name: `${top}${ulid}/index`, body: 'index data' },
    { name: `${top}${ulid}/meta.json`, body: meta(ulid) },
    { name: `${top}${ulid}/tombstones`, body: 'tomb' },
  ];
}

async function read(data: Buffer, compression: Compression = 'none', onFile?: (f: FileVisit, body: Readable) => Promise<void>) {
  return readBlockArchive(Readable.from([data]), { compression, onFile });
}

async function refusal(entries: Entry[]): Promise<string> {
  const err = await read(await tarOf(entries)).then(() => undefined, (e: Error) => e);
  expect(err).toBeInstanceOf(ArchiveError);
  return (err as Error).message;
}

describe('readBlockArchive', () => {
  it.each(['none', 'gzip', 'zstd'] as const)('lists the complete blocks of a %s archive and hands on every file', async (compression) => {
    const data = compressed(await tarOf([{ name: `${SNAP}/`, type: 'directory' }, ...block(A), ...block(B)]), compression);
    expect(detectCompression(data)).toBe(compression);
    const seen: string[] = [];
    const listing = await read(data, compression, async (f, body) => {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      const content = Buffer.concat(chunks);
      seen.push(`${f.ulid}/${f.path}:${content.length}`);
    });
    expect(listing.prefix).toBe(SNAP);
    expect(listing.blocks.map((b) => b.ulid)).toEqual([A, B]);
    expect(listing.blocks[0].meta).toMatchObject({ ulid: A, minTime: 1000, maxTime: 2000, numSeries: 3, compactionLevel: 1 });
    expect(listing.blocks[0].files.map((f) => f.path)).toEqual(['chunks/000001', 'index', 'meta.json', 'tombstones']);
    expect(listing.blocks[0].bytes).toBe(10 + 10 + meta(A).length + 4);
    expect(seen).toContain(`${A}/meta.json:${meta(A).length}`);
    expect(seen).toHaveLength(8);
    expect(listing.archiveBytes).toBe(data.length);
  });

  it('accepts blocks at the top, with or without ./, and skips what Prometheus keeps beside them', async () => {
    const listing = await read(await tarOf([{ name: './', type: 'directory' }, ...block(A, './'), { name: './wal/00000001', body: 'w' }, { name: './lock', body: '' }, { name: 'chunks_head/', type: 'directory' }, ...block(B, '')]));
    expect(listing.prefix).toBeNull();
    expect(listing.blocks.map((b) => b.ulid)).toEqual([A, B]);
    expect(listing.skipped).toEqual(['chunks_head', 'lock', 'wal']);
  });

  it('accepts a long top-level name carried in a PAX header', async () => {
    const long = 'x'.repeat(200);
    const listing = await read(await tarOf(block(A, `${long}/`)));
    expect(listing.prefix).toBe(long);
  });

  it.each([
    ['a symbolic link', { name: `${SNAP}/${A}/index`, type: 'symlink', linkname: '/etc/passwd' }, /symlink to "\/etc\/passwd"/],
    ['a hard link', { name: `${SNAP}/${A}/index`, type: 'link', linkname: `${SNAP}/${B}/index` }, /a link to/],
    ['a character device', { name: `${SNAP}/${A}/index`, type: 'character-device', devmajor: 1, devminor: 3 }, /character-device/],
    ['a block device', { name: `${SNAP}/${A}/chunks/000002`, type: 'block-device', devmajor: 8, devminor: 0 }, /block-device/],
    ['a fifo', { name: `${SNAP}/${A}/tombstones`, type: 'fifo' }, /a fifo/],
    ['a ".." component', { name: `${SNAP}/../${A}/index`, body: 'x' }, /"\.\." component/],
    ['a long PAX name with ".."', { name: `${SNAP}/${'y'.repeat(150)}/../../../etc/cron.d/x`, body: 'x' }, /"\.\." component/],
    ['an absolute name', { name: `/${SNAP}/${A}/index`, body: 'x' }, /absolute name/],
    ['another name in a block', { name: `${SNAP}/${A}/run.sh`, body: 'x' }, /not a file a block holds/],
    ['a non-digit chunk segment', { name: `${SNAP}/${A}/chunks/000001.tmp`, body: 'x' }, /not a file a block holds/],
    ['a folder that is no block', { name: `${SNAP}/notablock/index`, body: 'x' }, /neither a block folder/],
    ['a second top-level folder', { name: `other/${A}/index`, body: 'x' }, /outside 20261207T193000Z-0123456789abcdef\//],
    ['a file where a block folder goes', { name: `${SNAP}/${B}`, body: 'x' }, /a file where a block folder should be/],
  ] as [string, Entry, RegExp][])('refuses %s, naming the entry', async (_what, entry, message) => {
    const text = await refusal([...block(A), entry]);
    expect(text).toMatch(message);
    expect(text).toContain(JSON.stringify(entry.name));
  });

  it('refuses a duplicate entry', async () => {
    expect(await refusal([...block(A), { name: `${SNAP}/${A}/index`, body: 'again' }])).toMatch(/in the archive twice/);
  });

  it('refuses a meta.json that names another block, or is no JSON', async () => {
    const [dir, chunks, seg, index, , tomb] = block(A);
    expect(await refusal([dir, chunks, seg, index, tomb, { name: `${SNAP}/${A}/meta.json`, body: meta(B) }])).toMatch(/names block "01HBB.*not its folder/);
    expect(await refusal([dir, chunks, seg, index, tomb, { name: `${SNAP}/${A}/meta.json`, body: '{"ulid":' }])).toMatch(/meta.json is not JSON/);
  });

  it('refuses an incomplete block, saying what it lacks', async () => {
    const [dir, chunks, seg, index, metaFile] = block(A);
    expect(await refusal([dir, chunks, seg, index])).toMatch(`block ${A} is incomplete: no meta.json`);
    expect(await refusal([dir, chunks, index, metaFile])).toMatch(`block ${A} is incomplete: no chunks/ with a segment`);
  });

  it.each(['none', 'gzip', 'zstd'] as const)('refuses a %s archive cut anywhere, also at an entry boundary', async (compression) => {
    const tar = await tarOf(block(A));
    // Cut after the last entry's data (before the end marker), and in the middle of the data.
    for (const cutTar of [tar.subarray(0, tar.length - 1024), tar.subarray(0, 1500)]) {
      const data = compression === 'none' ? cutTar : compressed(cutTar, compression);
      await expect(read(data, compression)).rejects.toThrow(/cut/);
    }
    const whole = compressed(tar, compression);
    if (compression !== 'none') await expect(read(whole.subarray(0, whole.length - 20), compression)).rejects.toThrow(/damaged or cut|cut: tar's end marker is missing/);
  });

  it('refuses an archive cut right after a PAX header, before the entry it describes', async () => {
    const tar = await tarOf(block(A, `${'p'.repeat(120)}/`));
    // The end: PAX header and its data, the tombstones header and data, then the end marker.
    await expect(read(tar.subarray(0, tar.length - 2048))).rejects.toThrow(/cut: tar's end marker is missing \(the file ends after \d+ bytes/);
    expect((await read(tar)).blocks).toHaveLength(1);
  });

  it('names where a flipped byte in a compressed archive was found', async () => {
    const data = zlib.gzipSync(await tarOf(block(A)));
    data[data.length - 6] ^= 0xff; // inside the CRC
    await expect(read(data, 'gzip')).rejects.toThrow(/damaged or cut: .*after \d+ bytes of the archive/);
    const header = await tarOf(block(A));
    header[520] ^= 0x01; // a name byte of the second header: its checksum no longer fits
    await expect(read(header)).rejects.toThrow(/Invalid tar header.*at entry/);
  });

  it('tells compressions apart by content and names the ones it does not read', () => {
    expect(() => detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toThrow(/xz-compressed/);
    expect(() => detectCompression(Buffer.from('hello world'))).toThrow(/not a tar/);
    expect(() => detectCompression(Buffer.alloc(0))).toThrow(/empty/);
  });
});
