import { randomBytes } from 'node:crypto';
import { createWriteStream, constants as fsConstants, readdirSync, rmSync } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Hidden temporary block folders: `.prombackup-restore-ULID-PID-RANDOM` (Prometheus reads only ULID-named folders). */
const TEMP_PREFIX = '.prombackup-restore-';
const TEMP_PATTERN = /^\.prombackup-restore-[0-9A-Z]{26}-(\d+)-[0-9a-f]+$/;

interface Staged {
  temp: string;
  expected: number;
  written: string[];
  finishing?: Promise<void>;
}

/**
 * Builds blocks in hidden temporary folders inside `root` and renames each into place once it has
 * every file it should, all synced to disk (files, then its folders, then `root`). A block whose
 * ULID appeared meanwhile is not replaced. discard() removes whatever is unfinished; nothing under
 * a ULID name is ever half written. With `durable: false` (verify's scratch space) nothing is synced.
 */
export class BlockStaging {
  private readonly staged = new Map<string, Staged>();
  /** Every block's finishing, also of those already out of `staged`: settle() waits for all. */
  private readonly finishing: Promise<void>[] = [];
  /** Blocks renamed into place, in order. */
  readonly placed: string[] = [];
  /** Set by discard(): a write still under way (a source reading in parallel) starts no new block. */
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly durable = true,
    /** Called with each block once it is in place (verify --deep checks it there). */
    private readonly onPlaced?: (ulid: string, dir: string) => Promise<void>,
  ) {}

  /** Writes one file of block `ulid`, which has `expected` files in all; the block is put in place after its last. */
  async write(ulid: string, expected: number, file: string, body: Readable, mtimeMs: number): Promise<void> {
    const block = await this.begin(ulid, expected);
    await writeNewFile(path.join(block.temp, file), body, this.durable);
    await this.written(ulid, block, file, mtimeMs);
  }

  /** write() for a file on disk (a sync folder): copied by the kernel, or cloned where the file system can. */
  async copy(ulid: string, expected: number, file: string, source: string, mtimeMs: number): Promise<void> {
    const block = await this.begin(ulid, expected);
    const target = path.join(block.temp, file);
    await fs.copyFile(source, target, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
    // copyFile gives the copy the source's mode: a setuid, world-writable or owner-only file in a
    // sync folder must not come out that way in TSDB_DIR, but as every restored file does.
    await fs.chmod(target, 0o644);
    await this.written(ulid, block, file, mtimeMs);
  }

  private async begin(ulid: string, expected: number): Promise<Staged> {
    let block = this.staged.get(ulid);
    if (this.closed) throw new Error('the restore was stopped');
    if (!block) {
      block = { temp: path.join(this.root, `${TEMP_PREFIX}${ulid}-${process.pid}-${randomBytes(4).toString('hex')}`), expected, written: [] };
      this.staged.set(ulid, block);
      // Not recursive: once root is gone (an interrupted verify --deep removed its scratch folder), nothing recreates it.
      await fs.mkdir(block.temp, { mode: 0o755 });
      // discard() may have run while the folder was being made: it goes again, and the write fails.
      if (this.closed) {
        await fs.rm(block.temp, { recursive: true, force: true });
        throw new Error('the restore was stopped');
      }
      await fs.mkdir(path.join(block.temp, 'chunks'), { mode: 0o755 });
    }
    return block;
  }

  private async written(ulid: string, block: Staged, file: string, mtimeMs: number): Promise<void> {
    const when = new Date(mtimeMs);
    await fs.utimes(path.join(block.temp, file), when, when);
    block.written.push(file);
    // Synced and renamed in the background, while the next block is written.
    if (block.written.length === block.expected) {
      block.finishing = this.finish(ulid, block);
      block.finishing.catch(() => undefined); // settle() reports it
      this.finishing.push(block.finishing);
    }
  }

  /** Waits for every block to be in place; throws the first failure. */
  async settle(): Promise<void> {
    await Promise.all(this.finishing);
    const unfinished = [...this.staged.entries()].filter(([, b]) => !b.finishing).map(([ulid]) => ulid);
    if (unfinished.length > 0) throw new Error(`blocks ${unfinished.join(', ')} did not get all their files`);
    if (this.durable) await syncPath(this.root);
  }

  private async finish(ulid: string, block: Staged): Promise<void> {
    if (this.durable) {
      await Promise.all(block.written.map((f) => syncPath(path.join(block.temp, f))));
      await syncPath(path.join(block.temp, 'chunks'));
      await syncPath(block.temp);
    }
    const target = path.join(this.root, ulid);
    // rename() would silently replace an empty folder: a block that appeared meanwhile is never replaced.
    if (await fs.lstat(target).then(() => true, () => false)) throw new Error(`${target} appeared while restoring; it was left as it is`);
    await fs.rename(block.temp, target);
    this.staged.delete(ulid);
    this.placed.push(ulid);
    await this.onPlaced?.(ulid, target);
  }

  /** Removes every temporary folder still here (after a failure or an interruption). */
  async discard(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.finishing);
    for (const block of this.staged.values()) await fs.rm(block.temp, { recursive: true, force: true });
    this.staged.clear();
  }

  /** discard() for a process about to exit. */
  discardNow(): void {
    this.closed = true;
    for (const block of this.staged.values()) rmSync(block.temp, { recursive: true, force: true });
    this.staged.clear();
  }

  /** Removes this process's temporary folders in `root`, also one whose making was under way when stopped. */
  static removeOwnNow(root: string): void {
    let names: string[] = [];
    try {
      names = readdirSync(root);
    } catch {
      return;
    }
    for (const name of names) {
      if (Number(TEMP_PATTERN.exec(name)?.[1]) === process.pid) rmSync(path.join(root, name), { recursive: true, force: true });
    }
  }

  /** Temporary folders of earlier restores into `root` whose process no longer runs (a kill -9); returns their names. */
  static async removeStale(root: string): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await fs.readdir(root).catch(() => [] as string[])) {
      const m = TEMP_PATTERN.exec(name);
      if (!m || Number(m[1]) === process.pid || isProcessRunning(Number(m[1]))) continue;
      await fs.rm(path.join(root, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }
}

/** Whether process `pid` still runs (on this host, in this PID namespace). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A file being written is flushed to disk every this many bytes (see writeNewFile). */
const FLUSH_BYTES = 32 * 1024 * 1024;

/**
 * Writes `body` into a new file with large writes: chunks gather up to 4 MiB and go out in one
 * writev (a FileHandle's stream measured three times slower here, in system time). With `durable`,
 * the file is flushed to disk in the background as it grows, so that its final fsync finds little
 * left to write and the disk works while the archive is still being unpacked.
 */
export async function writeNewFile(file: string, body: Readable, durable = true): Promise<void> {
  const out = createWriteStream(file, { flags: 'wx', mode: 0o644, highWaterMark: 4 * 1024 * 1024 });
  if (!durable) return pipeline(body, out);
  let handle: FileHandle | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let unflushed = 0;
  const flushAsItGrows = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      unflushed += chunk.length;
      if (unflushed >= FLUSH_BYTES) {
        unflushed = 0;
        flushing = flushing.then(async () => {
          handle ??= await fs.open(file, 'r');
          await handle.datasync();
        });
        flushing.catch(() => undefined); // awaited below, or the write failed anyway
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, flushAsItGrows, out);
    await flushing;
  } finally {
    await flushing.catch(() => undefined);
    await handle?.close();
  }
}

/** fsync of a file or a folder (for a folder: the names in it). */
export async function syncPath(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
