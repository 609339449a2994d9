import { constants, type Dirent, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Injectable } from '@nestjs/common';
import { isSnapshotName } from '@prombackup/contract';
import { ServerConfig } from '../config/server-config';

export type TreeEntry =
  | { kind: 'directory'; relativePath: string; stats: Stats }
  | { kind: 'file'; relativePath: string; absolutePath: string; stats: Stats }
  | { kind: 'other'; relativePath: string; stats: Stats };

export interface SnapshotFolder {
  name: string;
  absolutePath: string;
  stats: Stats;
}

/** Thrown when a name does not lead to a snapshot folder under snapshot_dir. */
export class SnapshotNotFoundError extends Error {}

/** Thrown when snapshot_dir itself cannot be read. */
export class SnapshotDirError extends Error {}

/** Thrown when a path inside a snapshot is something we must not archive (a link, a FIFO, …). */
export class UnsupportedEntryError extends Error {}

// Some Prometheus builds wrote a numeric zone ("20221109T202035+0000-…"). Such folders cannot be
// downloaded (the API's name rule has no "+"), but pruning must still see them.
const ZONED_SNAPSHOT_NAME = /^\d{8}T\d{6}[+-]\d{4}-[A-Za-z0-9]+$/;

// O_NOFOLLOW: a file swapped for a link after we looked at it is refused, not followed.
// O_NONBLOCK: a file swapped for a FIFO cannot block the open.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * All filesystem access below snapshot_dir. Names are checked before they become paths and
 * nothing here follows a symbolic link.
 */
@Injectable()
export class SnapshotStore {
  constructor(private readonly config: ServerConfig) {}

  get root(): string {
    return this.config.snapshotDir;
  }

  /** The snapshot folder called `name`; refuses links and anything that is not a folder. */
  async folder(name: string): Promise<SnapshotFolder> {
    if (!isSnapshotName(name)) throw new SnapshotNotFoundError(`${JSON.stringify(name)} is not a snapshot name`);
    return this.plainFolder(name);
  }

  private async plainFolder(name: string): Promise<SnapshotFolder> {
    const absolutePath = path.join(this.root, name);
    let stats: Stats;
    try {
      stats = await fs.lstat(absolutePath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SnapshotNotFoundError(`no snapshot named ${name}`);
      throw err;
    }
    if (stats.isSymbolicLink()) throw new SnapshotNotFoundError(`snapshot ${name} is a symbolic link, which is never followed`);
    if (!stats.isDirectory()) throw new SnapshotNotFoundError(`no snapshot named ${name}`);
    return { name, absolutePath, stats };
  }

  /**
   * Every snapshot folder (plain folder, snapshot-shaped name), sorted by name. `zonedNames` adds
   * the folders named with a numeric zone, which only pruning handles.
   */
  async folders(options: { zonedNames?: boolean } = {}): Promise<SnapshotFolder[]> {
    const wanted = (name: string) => isSnapshotName(name) || (options.zonedNames === true && ZONED_SNAPSHOT_NAME.test(name));
    let entries: Dirent[];
    try {
      entries = await fs.readdir(this.root, { withFileTypes: true });
    } catch (err) {
      // Prometheus makes <data>/snapshots on its first snapshot: a missing folder in an existing
      // data folder just means there are none yet.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await isDirectory(path.dirname(this.root)))) return [];
      throw new SnapshotDirError(`cannot read snapshot_dir (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const result: SnapshotFolder[] = [];
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!entry.isDirectory() || !wanted(entry.name)) continue;
      try {
        result.push(await this.plainFolder(entry.name));
      } catch (err) {
        if (!(err instanceof SnapshotNotFoundError)) throw err;
        // removed or replaced since readdir: not a snapshot any more
      }
    }
    return result;
  }

  /**
   * Walks a snapshot folder depth first in name order, yielding the folder itself first.
   * Entries are described by lstat, so links show up as 'other' and are never entered.
   */
  async *walk(folder: SnapshotFolder): AsyncGenerator<TreeEntry> {
    yield* this.walkDir(folder.absolutePath, folder.name, folder.stats);
  }

  private async *walkDir(absolutePath: string, relativePath: string, stats: Stats): AsyncGenerator<TreeEntry> {
    yield { kind: 'directory', relativePath, stats };
    const names = (await fs.readdir(absolutePath)).sort();
    for (const name of names) {
      const childAbsolute = path.join(absolutePath, name);
      const childRelative = `${relativePath}/${name}`;
      const childStats = await fs.lstat(childAbsolute);
      if (childStats.isDirectory()) {
        yield* this.walkDir(childAbsolute, childRelative, childStats);
      } else if (childStats.isFile()) {
        yield { kind: 'file', relativePath: childRelative, absolutePath: childAbsolute, stats: childStats };
      } else {
        yield { kind: 'other', relativePath: childRelative, stats: childStats };
      }
    }
  }

  /** Opens a regular file for reading without following links; checks it is still a regular file. */
  async openFile(absolutePath: string): Promise<{ handle: fs.FileHandle; stats: Stats }> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(absolutePath, OPEN_FLAGS);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
        throw new UnsupportedEntryError(`${path.basename(absolutePath)} became a symbolic link while being archived`);
      }
      throw err;
    }
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      throw new UnsupportedEntryError(`${path.basename(absolutePath)} is no longer a regular file`);
    }
    return { handle, stats };
  }

  /** Total bytes of the regular files in a snapshot folder. */
  async size(folder: SnapshotFolder): Promise<number> {
    let total = 0;
    for await (const entry of this.walk(folder)) {
      if (entry.kind === 'file') total += entry.stats.size;
    }
    return total;
  }

  /** Removes a snapshot folder. fs.rm removes links themselves, never what they point to. */
  async remove(folder: SnapshotFolder): Promise<void> {
    await fs.rm(folder.absolutePath, { recursive: true });
  }

  /** Whether snapshot_dir exists and this process may read and write it. */
  async usable(): Promise<{ ok: boolean; error?: string }> {
    try {
      const stats = await fs.stat(this.root);
      if (!stats.isDirectory()) return { ok: false, error: 'snapshot_dir is not a folder' };
      await fs.access(this.root, constants.R_OK | constants.W_OK | constants.X_OK);
      return { ok: true };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Prometheus creates the folder with its first snapshot; a writable data folder will do.
      if (code === 'ENOENT' && (await isWritableDirectory(path.dirname(this.root)))) return { ok: true };
      return { ok: false, error: `snapshot_dir is not usable (${code ?? 'error'})` };
    }
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function isWritableDirectory(p: string): Promise<boolean> {
  try {
    await fs.access(p, constants.W_OK | constants.X_OK);
    return await isDirectory(p);
  } catch {
    return false;
  }
}
