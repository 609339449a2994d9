import type { BigIntStats, Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { TarArchive } from 'archiver';
import { type SnapshotFolder, SnapshotReadError, SnapshotStore, UnsupportedEntryError } from '../snapshots/snapshot-store';
import { describeCode } from '../snapshots/snapshot-errors';
import type { FileBoundaries } from './file-boundaries';
import { ReadSlots, SLOT_BYTES } from './read-slots';
import { entryName, entryTimes } from './tar-entry';

interface Feeding {
  archive: TarArchive;
  output: Readable;
  slots: ReadSlots;
  boundaries?: FileBoundaries;
  blocks?: ReadonlySet<string>;
}

/**
 * Feeds a snapshot folder into an archiver tar stream one entry at a time, so at most one file
 * is open and nothing is buffered beyond the streams' own high-water marks.
 */
@Injectable()
export class SnapshotArchiver {
  constructor(private readonly store: SnapshotStore) {}

  /**
   * The folder as a tar stream. File bytes are read into `slots` and pass through archiver
   * unchanged, so whoever consumes the stream must release() each chunk once done with it;
   * `boundaries` learns which chunks begin and end a large file. With `blocks`, the archive holds
   * only those top-level folders (checked to be blocks by the caller), and fails unless each is
   * still there, a folder, when it is read.
   *
   * archiver itself is never destroyed mid-archive: destroying it mid-file throws from inside
   * tar-stream, out of reach of any handler. When this stream fails instead (a client gone, a
   * read error), archiver is left where it stands, only the file being read is closed, and the
   * garbage collector takes the rest.
   */
  tar(folder: SnapshotFolder, slots = new ReadSlots(), blocks?: readonly string[], boundaries?: FileBoundaries): Readable {
    const archive = new TarArchive({ highWaterMark: SLOT_BYTES });
    const output = new Readable({ highWaterMark: SLOT_BYTES, read: () => archive.resume() });
    archive.on('data', (chunk: Buffer) => {
      if (output.destroyed || !output.push(chunk)) archive.pause();
    });
    archive.once('end', () => output.push(null));
    archive.on('error', (err: Error) => output.destroy(err));
    const feeding = { archive, output, slots, boundaries, blocks: blocks && new Set(blocks) };
    this.feed(folder, feeding).catch((err: Error) => output.destroy(err));
    return output;
  }

  private async feed(folder: SnapshotFolder, { archive, output, slots, boundaries, blocks }: Feeding): Promise<void> {
    const tree = await this.store.openTree(folder, blocks);
    const blocksSent = new Set<string>();
    try {
      for await (const { entry, open } of tree.entries()) {
        if (output.destroyed) return;
        if (entry.kind === 'other') {
          throw new UnsupportedEntryError(`${entry.relativePath} is ${describe(entry.stats)}: unsupported, ${why(entry.stats)}`);
        }
        if (entry.problem) throw new UnsupportedEntryError(entry.problem);
        if (blocks && entry.depth === 1) {
          if (entry.kind !== 'directory') throw new SnapshotReadError(`${entry.relativePath} is no longer a block folder`);
          blocksSent.add(entry.name.toString('latin1'));
        }
        const name = entryName(entry.relativePath);
        if (!open) {
          await appendEntry(archive, output, Buffer.alloc(0), { name: `${name}/`, type: 'directory', mode: 0o755, ...entryTimes(entry.stats) });
          continue;
        }
        const { handle, stats } = await open();
        const size = Number(stats.size);
        const source = new SnapshotFileReader(handle, entry.relativePath, size, slots, boundaries);
        // archiver pipes the source through a PassThrough that does not see the source's errors.
        source.on('error', (err) => output.destroy(err instanceof SnapshotReadError ? err : readError(entry.relativePath, err)));
        try {
          await appendEntry(archive, output, source, { name, mode: 0o644, ...entryTimes(stats), stats: { size } as Stats });
        } finally {
          source.destroy();
        }
      }
      const missing = [...(blocks ?? [])].filter((ulid) => !blocksSent.has(ulid));
      if (missing.length > 0) throw new SnapshotReadError(`${folder.name}/${missing[0]} was removed before it could be streamed`, 'ENOENT');
      // Only now is the archive known to equal the folder: the end-of-archive blocks come after this.
      await tree.verifyUnchanged();
    } finally {
      await tree.close();
    }
    // finalize()'s promise rejects when archiver fails after this; that error already fails the
    // stream, and left unhandled it would end the process.
    archive.finalize().catch(() => undefined);
  }
}

/**
 * One file's bytes, read 1 MiB at a time into the download's slots. The tar header promises
 * `size` bytes, so a file truncated or grown while it is read fails here, naming the file,
 * rather than as tar-stream's bare "Size mismatch". Closes the file when it ends or fails.
 */
class SnapshotFileReader extends Readable {
  private position = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly relativePath: string,
    private readonly size: number,
    private readonly slots: ReadSlots,
    private readonly boundaries?: FileBoundaries,
  ) {
    // One chunk read ahead: the stages after it hold the rest.
    super({ highWaterMark: SLOT_BYTES });
  }

  override _read(): void {
    const buffer = this.slots.take();
    this.handle.read(buffer, 0, buffer.length, this.position).then(
      ({ bytesRead }) => {
        if (bytesRead === 0 || this.destroyed) this.slots.release(buffer);
        if (this.destroyed) return;
        if (bytesRead === 0) {
          if (this.position < this.size) this.destroy(this.changed('was truncated', `${this.position} of ${this.size} bytes could be read`));
          else this.push(null);
          return;
        }
        const chunk = buffer.subarray(0, bytesRead);
        this.boundaries?.mark(chunk, this.position, this.size);
        this.position += bytesRead;
        if (this.position > this.size) {
          this.slots.release(buffer);
          this.destroy(this.changed('grew', `it had ${this.size} bytes when opened`));
          return;
        }
        this.push(chunk);
      },
      (err: Error) => {
        this.slots.release(buffer);
        this.destroy(err);
      },
    )
      // Whatever the handlers above throw fails this file's stream, not the process.
      .catch((err: Error) => this.destroy(err));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.handle.close().then(
      () => callback(err),
      () => callback(err),
    );
  }

  private changed(what: string, detail: string): SnapshotReadError {
    return new SnapshotReadError(`${this.relativePath} ${what} while it was being streamed (${detail})`);
  }
}

/**
 * Appends one entry and waits until archiver has written it. Once `output` has closed (the
 * client went away while the file was being opened, say), nothing more comes: it fails at once,
 * or the wait, and the open file with it, would last forever.
 */
function appendEntry(archive: TarArchive, output: Readable, source: Buffer | Readable, data: Parameters<TarArchive['append']>[1]): Promise<void> {
  return new Promise((resolve, reject) => {
    if (output.destroyed) return reject(new Error('archive stream closed'));
    const done = (err?: Error) => {
      archive.off('entry', onEntry).off('error', onError);
      output.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onEntry = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error('archive stream closed'));
    // Listening first: archiver reports some refusals from inside append().
    archive.on('entry', onEntry).on('error', onError);
    output.on('close', onClose);
    archive.append(source, data);
  });
}

function why(stats: BigIntStats): string {
  return stats.isSymbolicLink() ? 'links are never followed' : 'it is never opened; only regular files and folders are archived';
}

function describe(stats: BigIntStats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'a device';
  return 'not a regular file or folder';
}

/** A read that failed outright (an I/O error, say), in words for the download's status. */
function readError(relativePath: string, err: NodeJS.ErrnoException): SnapshotReadError {
  return new SnapshotReadError(`cannot read ${relativePath}: ${err.code ? describeCode(err.code) : err.message}`, err.code);
}
