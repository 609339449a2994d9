import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type TarEntry, tarOf } from '../../../../test/support/tar-entries';
import { compress as zstdCompress } from 'zstd-napi';
import type { Compression } from './archive-compression';
import { ArchiveError, readBlockArchive } from './archive-reader';

// Archives an attacker or a broken disk could hand to restore and verify, beyond archive-reader.spec.ts.

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const SNAP = '20261207T193000Z-0123456789abcdef';

type Entry = TarEntry;

const meta = (ulid: string) => JSON.stringify({ ulid, minTime: 1_000, maxTime: 2_000, stats: { numSeries: 1 }, version: 1 });

function block(ulid: string, extra: Entry[] = []): Entry[] {
  return [
    { name: `${SNAP}/${ulid}`, type: 'directory' },
    { name: `${SNAP}/${ulid}/chunks`, type: 'directory' },
    { name: `${SNAP}/${ulid}/chunks/000001`, body: 'chunk data' },
    ...extra,
    { name: `${SNAP}/${ulid}/index`, body: 'index data' },
    { name: `${SNAP}/${ulid}/meta.json`, body: meta(ulid) },
  ];
}

/** A GNU long-name record ('L'): the next entry's name is this record's data. */
function gnuLongName(name: string): Buffer {
  const data = Buffer.from(`${name}\0`);
  const header = Buffer.alloc(512);
  header.write('././@LongLink', 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('L', 156);
  header.write('ustar  \0', 257);
  withChecksum(header);
  return Buffer.concat([header, data, Buffer.alloc(Math.ceil(data.length / 512) * 512 - data.length)]);
}

/** Recomputes a tar header's checksum after it was edited. */
function withChecksum(header: Buffer): Buffer {
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

async function read(data: Buffer, compression: Compression = 'none') {
  return readBlockArchive(Readable.from([data]), { compression });
}

async function refusal(data: Buffer, compression: Compression = 'none'): Promise<string> {
  const err = await read(data, compression).then(() => undefined, (e: Error) => e);
  expect(err).toBeInstanceOf(ArchiveError);
  return (err as Error).message;
}

describe('readBlockArchive against hostile archives', () => {
  it('refuses bytes after the end of a tar.zst (Node drops them silently), as it does for tar.gz', async () => {
    const tar = await tarOf(block(A));
    expect(await refusal(Buffer.concat([zlib.gzipSync(tar), Buffer.from('appended garbage')]), 'gzip')).toMatch(/damaged/);
    // Node 24+ decompresses with its own zstd, which stops quietly (our check names the bytes);
    // Node 22 with zstd-napi, which fails on them as a frame it cannot read.
    const trailing = /after the end of the compressed data|Unknown frame descriptor/;
    expect(await refusal(Buffer.concat([zstdCompress(tar), Buffer.from('appended garbage')]), 'zstd')).toMatch(trailing);
    // A whole second archive appended is not the archive that was saved either.
    expect(await refusal(Buffer.concat([zstdCompress(tar), Buffer.from('junk'), zstdCompress(tar)]), 'zstd')).toMatch(trailing);
  });

  it('accepts a tar.zst made of several frames, and a tar.gz of several members', async () => {
    const tar = await tarOf(block(A));
    const cut = 1024;
    expect((await read(Buffer.concat([zstdCompress(tar.subarray(0, cut)), zstdCompress(tar.subarray(cut))]), 'zstd')).blocks).toHaveLength(1);
    expect((await read(Buffer.concat([zlib.gzipSync(tar.subarray(0, cut)), zlib.gzipSync(tar.subarray(cut))]), 'gzip')).blocks).toHaveLength(1);
  });

  it('refuses a PAX path override that climbs out, whatever the plain name says', async () => {
    const text = await refusal(await tarOf(block(A, [{ name: `${SNAP}/${A}/chunks/000002`, pax: { path: `${SNAP}/../x` }, body: 'x' }])));
    expect(text).toMatch(/"\.\." component/);
  });

  it('reads a GNU long name, and refuses one that climbs out', async () => {
    const good = await tarOf(block(A));
    const head = good.subarray(0, good.length - 1024);
    const entry = await tarOf([{ name: 'placeholder', body: 'seg' }]);
    // The placeholder's own name is replaced by the long-name record before it.
    const withLong = Buffer.concat([head, gnuLongName(`${SNAP}/${A}/chunks/000002`), entry.subarray(0, entry.length - 1024), Buffer.alloc(1024)]);
    expect((await read(withLong)).blocks[0].files.map((f) => f.path)).toContain('chunks/000002');
    const climbing = Buffer.concat([head, gnuLongName(`${SNAP}/${A}/../../../../tmp/${'z'.repeat(120)}`), entry.subarray(0, entry.length - 1024), Buffer.alloc(1024)]);
    expect(await refusal(climbing)).toMatch(/"\.\." component/);
  });

  it.each(['I', 'L', 'O', 'U'])('refuses a block folder whose ULID holds %s, not a Crockford base32 letter', async (letter) => {
    const ulid = `01H${letter}${'A'.repeat(22)}`;
    expect(await refusal(await tarOf(block(ulid)))).toMatch(/neither a block folder/);
  });

  it('refuses a block folder named by a lower-case ULID', async () => {
    expect(await refusal(await tarOf(block(A.toLowerCase())))).toMatch(/neither a block folder/);
  });

  // Prometheus writes segments as %0.6d from 000001 and reads them by their place in the sorted
  // listing (any name ParseUint takes), so `1` beside `000001`, or a gap, points the index at the wrong file.
  it.each(['1', '00001', '0000002', '000000', '+00002', '00000a', '000002.tmp'])('refuses chunks/%s, not a six-digit segment name, naming the entry', async (segment) => {
    const text = await refusal(await tarOf(block(A, [{ name: `${SNAP}/${A}/chunks/${segment}`, body: 'x' }])));
    expect(text).toContain(`"${SNAP}/${A}/chunks/${segment}": not a file a block holds`);
  });
  it('refuses segments with a gap (000001 and 000003), which Prometheus would read as 1 and 2', async () => {
    const text = await refusal(await tarOf(block(A, [{ name: `${SNAP}/${A}/chunks/000003`, body: 'x' }])));
    expect(text).toMatch(new RegExp(`block ${A}: chunks/000003 without chunks/000002`));
  });
  it('refuses a chunk segment that is a folder', async () => {
    expect(await refusal(await tarOf(block(A, [{ name: `${SNAP}/${A}/chunks/000002`, type: 'directory' }])))).toMatch(/a folder where a block file should be/);
  });

  it('refuses a meta.json that claims a gigabyte after reading at most its limit', async () => {
    const tar = await tarOf([{ name: `${SNAP}/${A}`, type: 'directory' }]);
    const header = Buffer.from((await tarOf([{ name: `${SNAP}/${A}/meta.json`, body: 'x' }])).subarray(0, 512));
    withChecksum(header.fill(0, 124, 136).fill('10000000000', 124, 135));
    let offered = 0;
    // Offered lazily, 1 MiB at a time, up to 64 MiB: the reader must stop long before wanting them all.
    const source = Readable.from(
      (function* () {
        yield tar.subarray(0, tar.length - 1024);
        yield header;
        for (let i = 0; i < 64; i++) {
          offered += 1024 * 1024;
          yield Buffer.alloc(1024 * 1024, 0x20);
        }
      })(),
    );
    const err = await readBlockArchive(source, { compression: 'none' }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/larger than any meta.json/);
    expect(offered).toBeLessThan(32 * 1024 * 1024);
  });

  it('reads a block of 30000 tiny chunk segments in reasonable time', { timeout: 60_000 }, async () => {
    const segments: Entry[] = Array.from({ length: 30_000 }, (_, i) => ({ name: `${SNAP}/${A}/chunks/${String(i + 2).padStart(6, '0')}`, body: 'c' }));
    const listing = await read(await tarOf(block(A, segments)));
    expect(listing.blocks[0].files).toHaveLength(30_003);
  });
});
