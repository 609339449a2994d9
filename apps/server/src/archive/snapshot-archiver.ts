import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { TarArchive } from 'archiver';
import { type SnapshotFolder, SnapshotStore, UnsupportedEntryError } from '../snapshots/snapshot-store';

const READ_CHUNK = 1024 * 1024;

type ModuleAppend = (source: unknown, data: unknown, callback: () => void) => void;
const moduleAppend = (TarArchive.prototype as unknown as { _moduleAppend: ModuleAppend })._moduleAppend;

type EntrySink = NodeJS.EventEmitter;
type TarModule = { engine: { entry: (...args: unknown[]) => EntrySink } };

/**
 * Two ways archiver can crash the process when its stream is destroyed mid-archive (a client
 * that went away), both outside any callback we could catch:
 * - it hands an already queued entry to tar-stream, which throws once destroyed;
 * - the tar-stream sink of the file being streamed is destroyed with an error that the pipe
 *   feeding it re-emits with no listener.
 * The entry's error still reaches archiver through the entry callback and fails the stream.
 */
class GuardedTarArchive extends TarArchive {
  constructor(options: ConstructorParameters<typeof TarArchive>[0]) {
    super(options);
    const engine = (this as unknown as { _module: TarModule })._module.engine;
    const entry = engine.entry.bind(engine);
    engine.entry = (...args: unknown[]) => entry(...args).on('error', () => undefined);
  }

  _moduleAppend(source: unknown, data: unknown, callback: () => void): void {
    if (this.destroyed) callback();
    else moduleAppend.call(this, source, data, callback);
  }
}

/**
 * Feeds a snapshot folder into an archiver tar stream one entry at a time, so at most one file
 * is open and nothing is buffered beyond the streams' own high-water marks.
 */
@Injectable()
export class SnapshotArchiver {
  constructor(private readonly store: SnapshotStore) {}

  tar(folder: SnapshotFolder): Readable {
    const archive = new GuardedTarArchive({ highWaterMark: READ_CHUNK });
    this.feed(archive, folder).catch((err: Error) => archive.destroy(err));
    return archive;
  }

  private async feed(archive: TarArchive, folder: SnapshotFolder): Promise<void> {
    for await (const entry of this.store.walk(folder)) {
      if (archive.destroyed) return;
      const date = entry.stats.mtime;
      if (entry.kind === 'directory') {
        archive.append(Buffer.alloc(0), { name: `${entry.relativePath}/`, type: 'directory', mode: 0o755, date });
        await entryWritten(archive);
      } else if (entry.kind === 'file') {
        const { handle, stats } = await this.store.openFile(entry.absolutePath);
        const source = handle.createReadStream({ highWaterMark: READ_CHUNK });
        // archiver pipes the source through a PassThrough that does not see the source's errors.
        source.on('error', (err) => archive.destroy(new Error(`reading ${entry.relativePath}: ${err.message}`)));
        try {
          archive.append(source, { name: entry.relativePath, mode: 0o644, date: stats.mtime, stats });
          await entryWritten(archive);
        } finally {
          source.destroy();
        }
      } else {
        throw new UnsupportedEntryError(`${entry.relativePath} is ${describe(entry.stats)}, which is not archived`);
      }
    }
    archive.finalize();
  }
}

function entryWritten(archive: TarArchive): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      archive.off('entry', onEntry).off('error', onError).off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onEntry = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error('archive stream closed'));
    archive.on('entry', onEntry).on('error', onError).on('close', onClose);
  });
}

function describe(stats: import('node:fs').Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'a device';
  return 'not a regular file or folder';
}
