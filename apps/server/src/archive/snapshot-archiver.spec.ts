import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  constants,
  createWriteStream,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { TarArchive } from 'archiver';
import { extract, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServerConfig } from '../config/server-config';
import { parseSettings } from '../config/settings';
import { SnapshotStore } from '../snapshots/snapshot-store';
import { type OpenedFile, SnapshotTree, type TreeEntry } from '../snapshots/snapshot-tree';
import { FileBoundaries, RESET_BEFORE_FILES_OVER } from './file-boundaries';
import { ReadSlots, SLOT_BYTES } from './read-slots';
import { paxTime } from './tar-entry';
import { SnapshotArchiver } from './snapshot-archiver';

const NAME = '20240101T000000Z-abcdef';

/** The tree's private file opener, which the tests below watch. */
interface TreeInternals {
  openFile(parent: unknown, entry: TreeEntry): Promise<OpenedFile>;
}
const BLOCK = '01HAAAAAAAAAAAAAAAAAAAAAAA';

function config(snapshotDir: string): ServerConfig {
  return new ServerConfig(parseSettings(['-snapshot_dir', snapshotDir]));
}

/** Fails instead of hanging when a promise does not settle in time. */
function settlesWithin<T>(promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Reads a tar stream with tar-stream, a reader independent of the writer under test. */
async function readTar(tar: Readable): Promise<{ header: Header; content: Buffer }[]> {
  const reader = extract();
  const entries: { header: Header; content: Buffer }[] = [];
  const read = (async () => {
    for await (const entry of reader) entries.push({ header: entry.header, content: await buffer(entry) });
  })();
  await Promise.all([pipeline(tar, reader), read]);
  return entries;
}

/** Consumes a tar stream that must fail; returns the error and every byte sent before it. */
async function failingTar(tar: Readable): Promise<{ error: Error; sent: Buffer }> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const error = await settlesWithin(pipeline(tar, sink)).then(
    () => {
      throw new Error('the archive finished, but it should have failed');
    },
    (err: Error) => err,
  );
  return { error, sent: Buffer.concat(chunks) };
}

describe('SnapshotArchiver', () => {
  let tmp: string;
  let root: string;
  let dir: string;
  let outside: string;
  let store: SnapshotStore;
  let archiver: SnapshotArchiver;

  const tar = async () => archiver.tar(await store.folder(NAME));

  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'prombackup-archiver-'));
    root = path.join(tmp, 'snapshots');
    dir = path.join(root, NAME);
    outside = path.join(tmp, 'outside');
    mkdirSync(path.join(dir, BLOCK, 'chunks'), { recursive: true });
    writeFileSync(path.join(dir, BLOCK, 'meta.json'), '{"ulid":"x"}');
    writeFileSync(path.join(dir, BLOCK, 'index'), 'index');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret'), 'SECRET-OUTSIDE-THE-SNAPSHOT');
    store = new SnapshotStore(config(root));
    archiver = new SnapshotArchiver(store);
  });

  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  describe('read slots', () => {
    it('reuses a few slots for a file many times their size when the consumer releases chunks, bytes intact', async () => {
      const big = randomBytes(10 * SLOT_BYTES + 12_345);
      writeFileSync(path.join(dir, BLOCK, 'chunks', '000001'), big);
      // Four: the reader's read-ahead, archiver's and tar-stream's buffers (which a PAX header can
      // tip over by a chunk) and the consumer each may hold one.
      const slots = new ReadSlots(4);
      const seen = new Set<number>();
      let fromSlots = 0;
      const copies: Buffer[] = [];
      const releasing = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (slots.owns(chunk)) {
            fromSlots++;
            seen.add(chunk.byteOffset);
          }
          copies.push(Buffer.from(chunk));
          // Give the reader a chance to fill a released slot again before the copy is checked.
          setImmediate(() => {
            slots.release(chunk);
            callback();
          });
        },
      });
      await settlesWithin(pipeline(archiver.tar(await store.folder(NAME), slots), releasing));
      const entries = await readTar(Readable.from(copies));
      const file = entries.find((e) => e.header.name.endsWith('chunks/000001'));
      expect(file?.content.equals(big)).toBe(true);
      expect(fromSlots).toBeGreaterThanOrEqual(11);
      expect(seen.size).toBeLessThanOrEqual(4);
      expect(slots.freeCount).toBe(4);
    });
  });

  describe('large files', () => {
    it("marks a large file's first and last chunk, which reach the consumer as they were marked, and nothing else", async () => {
      const big = randomBytes(3 * SLOT_BYTES + 5);
      writeFileSync(path.join(dir, BLOCK, 'chunks', '000001'), big);
      writeFileSync(path.join(dir, BLOCK, 'chunks', '000002'), randomBytes(RESET_BEFORE_FILES_OVER));
      const boundaries = new FileBoundaries();
      const received: Buffer[] = [];
      const starts: number[] = [];
      const ends: number[] = [];
      const consumer = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (boundaries.startsFile(chunk)) starts.push(received.length);
          if (boundaries.endsFile(chunk)) ends.push(received.length);
          received.push(Buffer.from(chunk));
          callback();
        },
      });
      await settlesWithin(pipeline(archiver.tar(await store.folder(NAME), new ReadSlots(), undefined, boundaries), consumer));
      expect(starts).toHaveLength(1);
      expect(ends).toHaveLength(1);
      expect(Buffer.concat(received.slice(starts[0], ends[0] + 1)).equals(big)).toBe(true);
    });

    it('closes the file being read when the stream is destroyed mid-file, and the process lives on', async () => {
      writeFileSync(path.join(dir, BLOCK, 'chunks', '000001'), randomBytes(16 * SLOT_BYTES));
      const open = (SnapshotTree.prototype as unknown as TreeInternals).openFile;
      const closed: string[] = [];
      const spy = vi.spyOn(SnapshotTree.prototype as unknown as TreeInternals, 'openFile').mockImplementation(async function (this: SnapshotTree, parent, entry) {
        const opened = await open.call(this, parent, entry);
        const close = opened.handle.close.bind(opened.handle);
        opened.handle.close = () => {
          closed.push(path.basename(entry.relativePath));
          return close();
        };
        return opened;
      });
      const stream = archiver.tar(await store.folder(NAME));
      stream.on('error', () => undefined);
      let seen = 0;
      stream.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        // As pipeline() destroys it when the client goes away, with the file half sent.
        if (seen > 3 * SLOT_BYTES && !stream.destroyed) stream.destroy(Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
      });
      try {
        await vi.waitFor(() => expect(closed).toContain('000001'));
        // An error thrown from archiver or tar-stream now would fail this test run as an uncaught exception.
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(closed.filter((name) => name === '000001')).toHaveLength(1);
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe('a normal snapshot', () => {
    const big = randomBytes(3 * 1024 * 1024 + 123); // more than one read chunk

    beforeEach(() => {
      writeFileSync(path.join(dir, BLOCK, 'chunks', '000001'), big);
      writeFileSync(path.join(dir, BLOCK, 'tombstones'), '');
      mkdirSync(path.join(dir, '01HBBBBBBBBBBBBBBBBBBBBBBB'));
      // Modes the archive must not copy.
      chmodSync(path.join(dir, BLOCK, 'meta.json'), 0o600);
      chmodSync(path.join(dir, BLOCK, 'index'), 0o755);
      chmodSync(path.join(dir, BLOCK), 0o700);
      chmodSync(path.join(dir, '01HBBBBBBBBBBBBBBBBBBBBBBB'), 0o750);
      // Distinct times, children before their folders (writing into a folder changes its time).
      const times: [string, number][] = [
        [`${BLOCK}/chunks/000001`, 1_600_000_001.5],
        // Stats.mtime rounds this one up into the next second; tar must keep the second it is in.
        [`${BLOCK}/index`, 1_600_000_002.9997],
        [`${BLOCK}/meta.json`, 1_600_000_003],
        [`${BLOCK}/tombstones`, 1_600_000_004],
        [`${BLOCK}/chunks`, 1_600_000_005],
        [BLOCK, 1_600_000_006],
        ['01HBBBBBBBBBBBBBBBBBBBBBBB', 1_600_000_007],
        ['', 1_600_000_008],
      ];
      for (const [rel, seconds] of times) utimesSync(path.join(dir, rel), seconds, seconds);
    });

    it('holds every entry under the snapshot name, depth first in name order', async () => {
      const entries = await settlesWithin(readTar(await tar()));
      expect(entries.map((e) => [e.header.type, e.header.name.replace(/\/$/, '')])).toEqual([
        ['directory', NAME],
        ['directory', `${NAME}/${BLOCK}`],
        ['directory', `${NAME}/${BLOCK}/chunks`],
        ['file', `${NAME}/${BLOCK}/chunks/000001`],
        ['file', `${NAME}/${BLOCK}/index`],
        ['file', `${NAME}/${BLOCK}/meta.json`],
        ['file', `${NAME}/${BLOCK}/tombstones`],
        ['directory', `${NAME}/01HBBBBBBBBBBBBBBBBBBBBBBB`],
      ]);
    });

    it('gives folders mode 0755 and files 0644, whatever they have on disk', async () => {
      for (const { header } of await settlesWithin(readTar(await tar()))) {
        expect([header.name, header.mode]).toEqual([header.name, header.type === 'directory' ? 0o755 : 0o644]);
      }
    });

    it('keeps modification times to the second in the header, and to the nanosecond in PAX records', async () => {
      for (const { header } of await settlesWithin(readTar(await tar()))) {
        const onDisk = lstatSync(path.join(root, header.name), { bigint: true });
        expect([header.name, header.mtime?.getTime()]).toEqual([header.name, Number(onDisk.mtimeNs / 1_000_000_000n) * 1000]);
        const exact = onDisk.mtimeNs % 1_000_000_000n === 0n ? undefined : paxTime(onDisk.mtimeNs);
        expect([header.name, (header.pax as Record<string, string> | undefined)?.mtime]).toEqual([header.name, exact]);
      }
    });

    it('holds the exact content of every file', async () => {
      const entries = await settlesWithin(readTar(await tar()));
      const content = (name: string) => entries.find((e) => e.header.name === `${NAME}/${name}`)?.content;
      expect(content(`${BLOCK}/chunks/000001`)?.equals(big)).toBe(true);
      expect(content(`${BLOCK}/meta.json`)?.toString()).toBe('{"ulid":"x"}');
      expect(content(`${BLOCK}/tombstones`)?.length).toBe(0);
    });

    it('is read by the system tar as well', async () => {
      const file = path.join(tmp, 'out.tar');
      await pipeline(await tar(), createWriteStream(file));
      const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
      expect(listing).toContain(`${NAME}/${BLOCK}/chunks/000001`);
      expect(listing).toMatch(/^-rw-r--r-- .* 3145851 /m);
    });
  });

  describe('a stream destroyed mid-archive (a client that went away)', () => {
    it('closes a file that finished opening just after, and archives nothing more', async () => {
      // Larger than the streams' buffers: the file cannot be read to its end, which would close it.
      writeFileSync(path.join(dir, BLOCK, 'chunks', '000001'), randomBytes(8 * SLOT_BYTES));
      const open = (SnapshotTree.prototype as unknown as TreeInternals).openFile;
      const closed: string[] = [];
      let letOpen!: () => void;
      const gate = new Promise<void>((resolve) => (letOpen = resolve));
      const openFile = vi.spyOn(SnapshotTree.prototype as unknown as TreeInternals, 'openFile').mockImplementation(async function (
        this: SnapshotTree,
        parent,
        entry,
      ) {
        const opened = await open.call(this, parent, entry);
        const close = opened.handle.close.bind(opened.handle);
        opened.handle.close = () => {
          closed.push(path.basename(entry.relativePath));
          return close();
        };
        await gate;
        return opened;
      });
      const stream = archiver.tar(await store.folder(NAME));
      stream.on('error', () => undefined).resume();
      await vi.waitFor(() => expect(openFile).toHaveBeenCalledTimes(1));
      // As pipeline() destroys it when the client goes away.
      stream.destroy(Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
      await new Promise((resolve) => stream.once('close', resolve));
      letOpen();
      // Left to the garbage collector, the descriptor would stay open for an unknown time.
      await vi.waitFor(() => expect(closed).toEqual(['000001']));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(openFile).toHaveBeenCalledTimes(1);
    });
  });

  describe('times the tar header cannot hold', () => {
    // GNU touch sets times to the nanosecond; GNU tar restores PAX times to the nanosecond.
    const times: [string, string, bigint][] = [
      ['before 1970', '1960-01-01 00:00:00.25 UTC', -315_619_199_750_000_000n],
      ['after 2038', '@2200000000', 2_200_000_000_000_000_000n],
      ['after 2242', '@10000000000', 10_000_000_000_000_000_000n],
      ['with a fraction of a second', '@1700000000.123456789', 1_700_000_000_123_456_789n],
    ];

    it.each(times)('are kept exactly: %s, as GNU tar restores them', async (_, touch, ns) => {
      const file = path.join(dir, BLOCK, 'index');
      execFileSync('touch', ['-d', touch, file]);
      expect(lstatSync(file, { bigint: true }).mtimeNs).toBe(ns);
      const archive = path.join(tmp, 'times.tar');
      await settlesWithin(pipeline(await tar(), createWriteStream(archive)));
      const out = path.join(tmp, 'extracted');
      mkdirSync(out);
      execFileSync('tar', ['-xf', archive, '-C', out]);
      expect(lstatSync(path.join(out, NAME, BLOCK, 'index'), { bigint: true }).mtimeNs).toBe(ns);
    });
  });

  describe('names that cannot be archived exactly', () => {
    it.each(['..\\..\\escape.txt', 'a\\b'])('fail the stream on a backslash, naming the file, with no entry outside the snapshot: %s', async (name) => {
      writeFileSync(path.join(dir, BLOCK, name), 'x');
      const { error, sent } = await failingTar(await tar());
      expect(error.message).toBe(
        `${NAME}/${BLOCK}/${name} has a backslash in its name, which the archive writer would turn into a folder separator: it is not archived`,
      );
      // Everything sent before the failure: no entry escapes or is split at the backslash.
      const names = (await readTar(Readable.from([sent, Buffer.alloc(1024)]))).map((e) => e.header.name);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) {
        expect(n.startsWith(`${NAME}/`) || n === `${NAME}/`).toBe(true);
        expect(n.split('/')).not.toContain('..');
      }
    });

    it('fail the stream on a name that is not UTF-8, showing its bytes', async () => {
      writeFileSync(Buffer.from(`${dir}/${BLOCK}/bad-\xe9`, 'latin1'), 'x');
      const { error } = await failingTar(await tar());
      expect(error.message).toBe(`${NAME}/${BLOCK}/bad-\\xe9 has a name that is not valid UTF-8, which a tar entry cannot keep exactly: it is not archived`);
    });

    it('keep UTF-8 names beyond ASCII byte for byte', async () => {
      const name = 'zürich 東京 🙂 \'quoted\' $x';
      writeFileSync(path.join(dir, BLOCK, name), 'x');
      const names = (await settlesWithin(readTar(await tar()))).map((e) => e.header.name);
      expect(names).toContain(`${NAME}/${BLOCK}/${name}`);
    });
  });

  describe('the folder checked after the last entry', () => {
    it('fails the stream, without the end-of-archive blocks, when a file sent earlier changed', async () => {
      writeFileSync(path.join(dir, 'zz-last'), 'x'.repeat(4 * SLOT_BYTES));
      // The block's index (sent earlier) is rewritten once the last file's header is out.
      const sent: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (chunk.includes(Buffer.from('zz-last'))) writeFileSync(path.join(dir, BLOCK, 'index'), 'index, and more');
          sent.push(Buffer.from(chunk));
          callback();
        },
      });
      const error = await settlesWithin(pipeline(await tar(), sink)).then(
        () => new Error('the archive finished, but it should have failed'),
        (err: Error) => err,
      );
      expect(error.message).toMatch(new RegExp(`^${NAME}/${BLOCK}/index changed size \\(5 bytes were sent, it has 15 now\\) while the snapshot was being streamed$`));
      expect(Buffer.concat(sent).subarray(-1024).equals(Buffer.alloc(1024))).toBe(false);
    });
  });

  describe('a stream destroyed right after the last entry', () => {
    it('fails the stream without an unhandled rejection from finalize()', async () => {
      const finalize = TarArchive.prototype.finalize;
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown) => rejections.push(reason);
      process.on('unhandledRejection', onRejection);
      let calls = 0;
      // Replaced by hand, not with vi.spyOn: a spy handles the promises it sees returned.
      TarArchive.prototype.finalize = function (this: TarArchive) {
        calls++;
        const done = finalize.call(this);
        // As when the client goes away just then: the error reaches the tar engine, whose errors
        // settle finalize()'s promise, and the stream.
        const gone = Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
        (this as unknown as { _module: { engine: Readable } })._module.engine.emit('error', gone);
        this.destroy(gone);
        return done;
      };
      try {
        const { error } = await failingTar(await tar());
        expect(error.message).toBe('premature close');
        expect(calls).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(rejections).toEqual([]);
      } finally {
        // The method lives on archiver's base class: removing this one brings it back.
        delete (TarArchive.prototype as Partial<TarArchive>).finalize;
        expect(TarArchive.prototype.finalize).toBe(finalize);
        process.off('unhandledRejection', onRejection);
      }
    });
  });

  describe('entries that are not files or folders', () => {
    it('fail the stream on a symbolic link, naming it, and never send what it points to', async () => {
      symlinkSync(path.join(outside, 'secret'), path.join(dir, BLOCK, 'index.link'));
      const { error, sent } = await failingTar(await tar());
      expect(error.message).toContain(`${NAME}/${BLOCK}/index.link`);
      expect(error.message).toContain('symbolic link');
      expect(sent.includes('SECRET-OUTSIDE-THE-SNAPSHOT')).toBe(false);
    });

    it('fail the stream on a link to a folder without entering it', async () => {
      symlinkSync(outside, path.join(dir, 'escape'));
      const { error, sent } = await failingTar(await tar());
      expect(error.message).toContain(`${NAME}/escape`);
      expect(sent.includes('SECRET-OUTSIDE-THE-SNAPSHOT')).toBe(false);
    });

    it('fail the stream on a named pipe, naming it, without ever opening it', async () => {
      const fifo = path.join(dir, BLOCK, 'index.fifo');
      execFileSync('mkfifo', [fifo]);
      const openFile = vi.spyOn(SnapshotTree.prototype as unknown as TreeInternals, 'openFile');
      const { error } = await failingTar(await tar());
      expect(error.message).toContain(`${NAME}/${BLOCK}/index.fifo`);
      expect(error.message).toContain('named pipe');
      expect(openFile.mock.calls.map(([, entry]) => entry.relativePath)).not.toContain(`${NAME}/${BLOCK}/index.fifo`);
      // Opening a pipe for writing without blocking fails with ENXIO while nobody has it open to read.
      expect(() => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    });

    it('fail the stream on a socket, naming it', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(path.join(dir, 'sock'), resolve));
      try {
        const { error } = await failingTar(await tar());
        expect(error.message).toContain(`${NAME}/sock`);
        expect(error.message).toContain('socket');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  describe('an archive of some blocks', () => {
    const OTHER = '01HBBBBBBBBBBBBBBBBBBBBBBB';
    const LAST = '01HCCCCCCCCCCCCCCCCCCCCCCC';

    beforeEach(() => {
      for (const block of [OTHER, LAST]) {
        mkdirSync(path.join(dir, block, 'chunks'), { recursive: true });
        writeFileSync(path.join(dir, block, 'chunks', '000001'), randomBytes(1000));
        writeFileSync(path.join(dir, block, 'meta.json'), `{"ulid":"${block}"}`);
      }
      mkdirSync(path.join(dir, 'chunks_head'));
      writeFileSync(path.join(dir, 'lock'), '');
      symlinkSync(outside, path.join(dir, 'link'));
    });

    it('holds the snapshot folder and those blocks only, whatever else is beside them (a link included)', async () => {
      const entries = await readTar(archiver.tar(await store.folder(NAME), undefined, [LAST, BLOCK]));
      expect(entries.map((e) => e.header.name)).toEqual([
        `${NAME}/`,
        `${NAME}/${BLOCK}/`,
        `${NAME}/${BLOCK}/chunks/`,
        `${NAME}/${BLOCK}/index`,
        `${NAME}/${BLOCK}/meta.json`,
        `${NAME}/${LAST}/`,
        `${NAME}/${LAST}/chunks/`,
        `${NAME}/${LAST}/chunks/000001`,
        `${NAME}/${LAST}/meta.json`,
      ]);
    });

    it('fails when an asked block is gone by the time it is read', async () => {
      rmSync(path.join(dir, OTHER), { recursive: true });
      const { error } = await failingTar(archiver.tar(await store.folder(NAME), undefined, [BLOCK, OTHER]));
      expect(error.message).toBe(`${NAME}/${OTHER} was removed before it could be streamed`);
    });

    it('fails when an asked block has become a file or a link to the outside, and sends no outside byte', async () => {
      rmSync(path.join(dir, OTHER), { recursive: true });
      writeFileSync(path.join(dir, OTHER), 'a file now');
      expect((await failingTar(archiver.tar(await store.folder(NAME), undefined, [OTHER]))).error.message).toBe(`${NAME}/${OTHER} is no longer a block folder`);
      rmSync(path.join(dir, OTHER));
      symlinkSync(outside, path.join(dir, OTHER));
      const { error, sent } = await failingTar(archiver.tar(await store.folder(NAME), undefined, [OTHER]));
      expect(error.message).toContain(`${NAME}/${OTHER} is a symbolic link`);
      expect(sent.includes('SECRET-OUTSIDE')).toBe(false);
    });
  });
});
