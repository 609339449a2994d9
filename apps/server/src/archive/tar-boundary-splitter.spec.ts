import { buffer } from 'node:stream/consumers';
import { type Header, pack } from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Piece, TarBoundarySplitter } from './tar-boundary-splitter';

const MiB = 1024 * 1024;
const THRESHOLD = MiB;

interface Entry {
  header: Partial<Header> & Pick<Header, 'name'>;
  content?: Buffer;
}

/** Writes entries with tar-stream, a tar writer independent of the code under test. */
async function makeTar(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const out = buffer(p);
  for (const { header, content } of entries) {
    await new Promise<void>((resolve, reject) =>
      p.entry({ mtime: new Date(1_700_000_000_000), ...header }, content ?? Buffer.alloc(0), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  p.finalize();
  return out;
}

/**
 * Where each entry's header starts, from the sizes we chose rather than from parsing the tar:
 * a 512-byte header, then the data padded to whole blocks. Names stay short so no extended
 * headers come in between.
 */
function headerOffsets(entries: Entry[]): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (const { content } of entries) {
    offsets.push(offset);
    offset += 512 + Math.ceil((content?.length ?? 0) / 512) * 512;
  }
  return offsets;
}

function bytes(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function file(name: string, size: number, seed = size): Entry {
  return { header: { name, type: 'file', mode: 0o644 }, content: bytes(size, seed) };
}

// Small files, a file exactly at the threshold (not large), large ones of odd and block-aligned
// sizes, two large files in a row, and entry types that carry no data.
const ENTRIES: Entry[] = [
  { header: { name: 'snap/', type: 'directory', mode: 0o755 } },
  file('snap/meta.json', 300),
  file('snap/chunks/000001', THRESHOLD + 1),
  file('snap/index', 5_000),
  file('snap/exactly-threshold', THRESHOLD),
  { header: { name: 'snap/link', type: 'symlink', linkname: 'index' } },
  file('snap/chunks/000002', 2 * MiB),
  file('snap/chunks/000003', MiB + 4_321),
  file('snap/empty', 0),
  file('snap/tombstones', 9),
];
const LARGE = ENTRIES.map((e, i) => ({ e, i })).filter(({ e }) => (e.content?.length ?? 0) > THRESHOLD);

/** Runs input through a splitter in the given chunk sizes; returns the pieces with their offsets. */
function splitAll(input: Buffer, chunkSizes: Iterable<number>, threshold = THRESHOLD) {
  const splitter = new TarBoundarySplitter(threshold);
  const pieces: (Piece & { offset: number })[] = [];
  let offset = 0;
  let pos = 0;
  for (const size of chunkSizes) {
    if (pos >= input.length) break;
    for (const piece of splitter.split(input.subarray(pos, pos + size))) {
      pieces.push({ ...piece, offset });
      offset += piece.data.length;
    }
    pos += size;
  }
  expect(pos).toBeGreaterThanOrEqual(input.length);
  const rest = splitter.rest();
  return { pieces, rest, output: Buffer.concat([...pieces.map((p) => p.data), rest]) };
}

function* fixed(size: number) {
  for (;;) yield size;
}

function* randomSizes(seed: number, max: number) {
  let x = seed;
  for (;;) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    yield 1 + (x % max);
  }
}

describe('TarBoundarySplitter', () => {
  let tar: Buffer;
  let offsets: number[];

  beforeAll(async () => {
    tar = await makeTar(ENTRIES);
    offsets = headerOffsets(ENTRIES);
  });

  it('is given a tar whose headers sit where the sizes say (checks the test fixture)', () => {
    for (const [i, { header }] of ENTRIES.entries()) {
      const name = tar.subarray(offsets[i], offsets[i] + 100).toString('latin1').replace(/\0.*$/s, '');
      expect(name).toBe(header.name);
    }
    expect(LARGE.map(({ e }) => e.header.name)).toEqual(['snap/chunks/000001', 'snap/chunks/000002', 'snap/chunks/000003']);
  });

  const chunkings: [string, () => Iterable<number>][] = [
    ['the whole tar at once', () => fixed(Number.MAX_SAFE_INTEGER)],
    ['1-byte chunks', () => fixed(1)],
    ['511-byte chunks', () => fixed(511)],
    ['512-byte chunks', () => fixed(512)],
    ['513-byte chunks', () => fixed(513)],
    ['64 KiB chunks', () => fixed(64 * 1024)],
    ['random chunks up to 700 bytes', () => randomSizes(7, 700)],
    ['random chunks up to 300 KiB', () => randomSizes(42, 300 * 1024)],
  ];

  it.each(chunkings)('fed %s, passes every byte through and flags exactly the whole large-file headers', (_name, sizes) => {
    const { pieces, rest, output } = splitAll(tar, sizes());
    expect(rest.length).toBe(0);
    expect(output.equals(tar)).toBe(true);
    const flagged = pieces.filter((p) => p.startsLargeFile);
    expect(flagged.map((p) => p.offset)).toEqual(LARGE.map(({ i }) => offsets[i]));
    // The compressor resets again right after the header, so a flagged piece must hold all of it.
    for (const piece of flagged) expect(piece.data.length).toBeGreaterThanOrEqual(512);
  });

  it('cuts a single chunk into one piece before, and one per large file', () => {
    const { pieces } = splitAll(tar, [tar.length]);
    expect(pieces.map((p) => [p.offset, p.startsLargeFile])).toEqual([
      [0, false],
      ...LARGE.map(({ i }) => [offsets[i], true]),
    ]);
  });

  it('flags the very first piece when the tar opens with a large file', async () => {
    const entries = [file('big', THRESHOLD + 512), file('small', 10)];
    const { pieces, output } = splitAll(await makeTar(entries), fixed(100_000));
    expect(pieces[0]).toMatchObject({ offset: 0, startsLargeFile: true });
    expect(pieces.filter((p) => p.startsLargeFile)).toHaveLength(1);
    expect(output.length).toBe(512 + THRESHOLD + 512 + 512 + 512 + 1024);
  });

  it('honours its threshold', async () => {
    const entries = [file('a', 10), file('b', 2_000), file('c', 1_000), file('d', 1_025)];
    const tarBytes = await makeTar(entries);
    const at = headerOffsets(entries);
    const { pieces } = splitAll(tarBytes, fixed(100), 1_024);
    expect(pieces.filter((p) => p.startsLargeFile).map((p) => p.offset)).toEqual([at[1], at[3]]);
  });

  it('reads GNU base-256 sizes', async () => {
    const size = THRESHOLD + 100;
    const entries = [file('small', 10), file('big', size), file('after', 10)];
    const tarBytes = await makeTar(entries);
    const at = headerOffsets(entries);
    // Rewrite the big file's octal size field in the base-256 form GNU tar uses for huge files.
    const field = tarBytes.subarray(at[1] + 124, at[1] + 136);
    field.fill(0);
    field[0] = 0x80;
    field.writeUIntBE(size, 6, 6);
    const { pieces, output } = splitAll(tarBytes, fixed(4_096));
    expect(output.equals(tarBytes)).toBe(true);
    expect(pieces.filter((p) => p.startsLargeFile).map((p) => p.offset)).toEqual([at[1]]);
  });

  it('skips over large entries that are not regular files without flagging them', async () => {
    const entries = [file('small', 10), file('extended-header', THRESHOLD + 1), file('big', THRESHOLD + 1)];
    const tarBytes = await makeTar(entries);
    const at = headerOffsets(entries);
    // Turn the second entry into a pax extended header ('x'): data of its own, but not a file.
    tarBytes[at[1] + 156] = 'x'.charCodeAt(0);
    const { pieces, output } = splitAll(tarBytes, fixed(10_000));
    expect(output.equals(tarBytes)).toBe(true);
    expect(pieces.filter((p) => p.startsLargeFile).map((p) => p.offset)).toEqual([at[2]]);
  });

  it('holds back an incomplete trailing header and hands it out with rest()', () => {
    const cut = offsets[3] + 200; // in the middle of the header after the first large file
    const { pieces, rest } = splitAll(tar.subarray(0, cut), fixed(1_000));
    const passed = Buffer.concat(pieces.map((p) => p.data));
    expect(passed.length).toBe(offsets[3]);
    expect(Buffer.concat([passed, rest]).equals(tar.subarray(0, cut))).toBe(true);
  });

  it('empties rest() once it is taken', () => {
    const splitter = new TarBoundarySplitter(THRESHOLD);
    splitter.split(tar.subarray(0, 100));
    expect(splitter.rest().length).toBe(100);
    expect(splitter.rest().length).toBe(0);
  });
});
