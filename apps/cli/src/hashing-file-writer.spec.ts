import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HashingFileWriter } from './hashing-file-writer';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const MiB = 1024 * 1024;

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-writer-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** `data` as a stream of chunks of the given sizes, repeated. */
function chunked(data: Buffer, sizes: number[]): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length];
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  return Readable.from(chunks, { objectMode: false });
}

describe('HashingFileWriter', () => {
  it.each([
    ['empty', 0, [1]],
    ['1 byte', 1, [1]],
    ['64 KiB', 64 * 1024, [64 * 1024]],
    ['3 MiB + 7 in odd chunks', 3 * MiB + 7, [1, 65_536, 1_000_003, 7, MiB]],
    ['several rings full', 20 * MiB + 4095, [3 * MiB + 1, 65_536]],
  ])('writes and hashes %s exactly', async (_name, size, sizes) => {
    const data = randomBytes(size);
    const file = path.join(dir, 'out');
    const writer = new HashingFileWriter(file, { slotBytes: MiB, slots: 4 });
    await pipeline(chunked(data, sizes), writer);
    expect(writer.bytes).toBe(size);
    expect(writer.sha256).toBe(sha(data));
    expect((await fs.readFile(file)).equals(data)).toBe(true);
  });

  it('fails with the reason when the disk takes no more', async () => {
    // /dev/full refuses every write with ENOSPC, as a full disk does.
    const writer = new HashingFileWriter('/dev/full', { exclusive: false, slotBytes: MiB, slots: 2 });
    await expect(pipeline(chunked(randomBytes(4 * MiB), [65_536]), writer)).rejects.toThrow(/cannot write \/dev\/full: ENOSPC/);
    expect(writer.sha256).toBeUndefined();
  });

  it('refuses to replace an existing file', async () => {
    const file = path.join(dir, 'exists');
    await fs.writeFile(file, 'precious');
    const writer = new HashingFileWriter(file);
    await expect(pipeline(Readable.from([Buffer.from('new')]), writer)).rejects.toThrow(/cannot create .*exists: EEXIST/);
    expect(await fs.readFile(file, 'utf8')).toBe('precious');
  });

  it('stops cleanly when the source fails halfway', async () => {
    const file = path.join(dir, 'out');
    const writer = new HashingFileWriter(file, { slotBytes: MiB, slots: 2 });
    async function* cut() {
      yield randomBytes(3 * MiB);
      throw new Error('connection reset');
    }
    await expect(pipeline(Readable.from(cut()), writer)).rejects.toThrow('connection reset');
    expect(writer.destroyed).toBe(true);
    expect(writer.sha256).toBeUndefined();
  });

  describe('sequential, into a device or a named pipe', () => {
    const mkfifo = async (name: string) => {
      const fifo = path.join(dir, name);
      await promisify(execFile)('mkfifo', [fifo]);
      return fifo;
    };

    it('writes into /dev/null and leaves it a device', async () => {
      const data = randomBytes(5 * MiB + 17);
      const writer = new HashingFileWriter('/dev/null', { sequential: true, slotBytes: MiB, slots: 2 });
      await pipeline(chunked(data, [700_001]), writer);
      expect(writer.bytes).toBe(data.length);
      expect(writer.sha256).toBe(sha(data));
      expect((await fs.stat('/dev/null')).isCharacterDevice()).toBe(true);
    });

    it('writes into a named pipe in order', async () => {
      // Slots smaller than the pipe's buffer turnover: writes issued together would interleave.
      const fifo = await mkfifo('pipe');
      const data = randomBytes(6 * MiB + 4097);
      // Read by another process: this one's thread pool is busy with the writes.
      const read = promisify(execFile)('cat', [fifo], { encoding: 'buffer', maxBuffer: 16 * MiB }).then((r) => r.stdout);
      const writer = new HashingFileWriter(fifo, { sequential: true, slotBytes: 64 * 1024, slots: 8 });
      await pipeline(chunked(data, [100_003, 1, 65_536]), writer);
      expect((await read).equals(data)).toBe(true);
      expect(writer.sha256).toBe(sha(data));
      expect((await fs.stat(fifo)).isFIFO()).toBe(true);
    });

    it('fails with the reason when the reader goes away', async () => {
      const fifo = await mkfifo('pipe');
      const reader = await fs.open(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const writer = new HashingFileWriter(fifo, { sequential: true, slotBytes: MiB, slots: 2 });
      const source = chunked(randomBytes(8 * MiB), [MiB]);
      // The reader goes away once bytes arrive: before that the writer's worker may not have
      // opened the pipe yet, and its open would then wait for a reader forever.
      const goAway = (async () => {
        const first = Buffer.alloc(1);
        for (;;) {
          const got = await reader.read(first, 0, 1, null).then((r) => r.bytesRead, () => 0);
          if (got > 0) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        await reader.close();
      })();
      await expect(pipeline(source, writer)).rejects.toThrow(/cannot write .*pipe: EPIPE/);
      await goAway;
      expect(writer.sha256).toBeUndefined();
    });

    it('fails within its bound when the pipe\'s reader left before the writer opened it', async () => {
      const fifo = await mkfifo('pipe');
      await (await fs.open(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)).close();
      const writer = new HashingFileWriter(fifo, { sequential: true, slotBytes: MiB, slots: 2, readerWaitMs: 300 });
      const started = Date.now();
      await expect(pipeline(chunked(randomBytes(5 * MiB), [MiB]), writer)).rejects.toThrow(/cannot write .*pipe: no program opened it for reading within 300ms/);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(writer.sha256).toBeUndefined();
      expect((await fs.stat(fifo)).isFIFO()).toBe(true);
    });

    it('fails a short write the same way, once its reader wait is over', async () => {
      const fifo = await mkfifo('pipe');
      const writer = new HashingFileWriter(fifo, { sequential: true, slotBytes: MiB, slots: 2, readerWaitMs: 300 });
      await expect(pipeline(Readable.from([Buffer.from('x')]), writer)).rejects.toThrow(/no program opened it for reading/);
    });

    it('writes for a reader that comes late but within the bound', async () => {
      const fifo = await mkfifo('pipe');
      const data = randomBytes(3 * MiB + 5);
      const writer = new HashingFileWriter(fifo, { sequential: true, slotBytes: 64 * 1024, slots: 4, readerWaitMs: 20_000 });
      const written = pipeline(chunked(data, [65_536]), writer);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const read = promisify(execFile)('cat', [fifo], { encoding: 'buffer', maxBuffer: 16 * MiB }).then((r) => r.stdout);
      await written;
      expect((await read).equals(data)).toBe(true);
      expect(writer.sha256).toBe(sha(data));
    });

    it('gives up at once when aborted while waiting for a reader', async () => {
      const fifo = await mkfifo('pipe');
      const writer = new HashingFileWriter(fifo, { sequential: true, readerWaitMs: 60_000 });
      writer.on('error', () => {});
      writer.write(Buffer.alloc(10));
      const started = Date.now();
      await writer.abort();
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('never creates what is not there', async () => {
      const missing = path.join(dir, 'missing');
      const writer = new HashingFileWriter(missing, { sequential: true });
      await expect(pipeline(Readable.from([Buffer.from('x')]), writer)).rejects.toThrow(/cannot open .*missing: ENOENT/);
      await expect(fs.access(missing)).rejects.toThrow();
    });
  });

  it('lets the process exit once the file is written', async () => {
    // Runs the built module (npm run build) in a fresh process, which must end on its own.
    const script = `
      const { HashingFileWriter } = require(${JSON.stringify(path.join(import.meta.dirname, '../dist/hashing-file-writer.js'))});
      const w = new HashingFileWriter(${JSON.stringify(path.join(dir, 'out'))});
      w.end(Buffer.alloc(3_000_000, 1), () => console.log(w.sha256));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 10_000 });
    expect(stdout.trim()).toBe(sha(Buffer.alloc(3_000_000, 1)));
  });
});
