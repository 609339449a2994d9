import { constants, type Dirent, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
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

/**
 * Thrown when a snapshot's content cannot be read, or changes while it is read (a file removed,
 * truncated or grown, the folder removed). The message names the entry by its snapshot-relative
 * path, never an absolute one; `code` keeps the errno code when there was one.
 */
export class SnapshotReadError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

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
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const problem = await this.dirProblem();
        if (problem && !problem.normal) throw new SnapshotDirError(problem.message);
        throw new SnapshotNotFoundError(`no snapshot named ${name}`);
      }
      throw new SnapshotDirError(`cannot read snapshot_dir: ${describeCode(code)}`);
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
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && (await isDirectory(path.dirname(this.root)))) return [];
      const problem = await this.dirProblem();
      throw new SnapshotDirError(problem?.message ?? `cannot read snapshot_dir: ${describeCode(code)}`);
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
   *
   * The whole tree is listed before the first entry is yielded: a file removed later (while the
   * archive is being streamed) then shows up as missing instead of silently missing from the
   * archive. Errors name the entry by its snapshot-relative path.
   */
  async *walk(folder: SnapshotFolder): AsyncGenerator<TreeEntry> {
    // The folder itself first, before listing: a download then has sent its first bytes (and
    // its headers, with the download id) by the time a listing error can end it.
    yield { kind: 'directory', relativePath: folder.name, stats: folder.stats };
    const entries: TreeEntry[] = [];
    await this.listDir(folder, folder.absolutePath, folder.name, entries, false);
    yield* entries;
  }

  private async listDir(folder: SnapshotFolder, absolutePath: string, relativePath: string, into: TreeEntry[], skipUnreadable: boolean): Promise<void> {
    const unreadable = (err: unknown) => skipUnreadable && ['EACCES', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '');
    let names: string[];
    try {
      names = (await fs.readdir(absolutePath)).sort();
    } catch (err) {
      if (unreadable(err)) return;
      throw await this.readError(folder, relativePath, err);
    }
    for (const name of names) {
      const childAbsolute = path.join(absolutePath, name);
      const childRelative = `${relativePath}/${name}`;
      let childStats: Stats;
      try {
        childStats = await fs.lstat(childAbsolute);
      } catch (err) {
        if (unreadable(err)) continue;
        throw await this.readError(folder, childRelative, err);
      }
      if (childStats.isDirectory()) {
        into.push({ kind: 'directory', relativePath: childRelative, stats: childStats });
        await this.listDir(folder, childAbsolute, childRelative, into, skipUnreadable);
      } else if (childStats.isFile()) {
        into.push({ kind: 'file', relativePath: childRelative, absolutePath: childAbsolute, stats: childStats });
      } else {
        into.push({ kind: 'other', relativePath: childRelative, stats: childStats });
      }
    }
  }

  /**
   * Describes a failure to read `relativePath` of `folder` in words for a download's status:
   * removed (the entry or the whole snapshot folder), unreadable, or some other errno.
   */
  async readError(folder: SnapshotFolder, relativePath: string, err: unknown): Promise<Error> {
    if (err instanceof SnapshotReadError || err instanceof UnsupportedEntryError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (!(await this.stillThere(folder))) return this.folderRemovedError(folder);
      return new SnapshotReadError(`${relativePath} was removed while the snapshot was being streamed`, code);
    }
    if (code === 'EACCES' || code === 'EPERM') return new SnapshotReadError(`cannot read ${relativePath}: permission denied`, code);
    if (code) return new SnapshotReadError(`cannot read ${relativePath}: ${describeCode(code)}`, code);
    return new SnapshotReadError(`cannot read ${relativePath}: ${scrubPaths((err as Error).message ?? String(err))}`);
  }

  /** Whether the snapshot folder is still the folder that was opened (not removed, not replaced). */
  async stillThere(folder: SnapshotFolder): Promise<boolean> {
    try {
      const now = await fs.lstat(folder.absolutePath);
      return now.isDirectory() && now.ino === folder.stats.ino && now.dev === folder.stats.dev;
    } catch {
      return false;
    }
  }

  folderRemovedError(folder: SnapshotFolder): SnapshotReadError {
    return new SnapshotReadError(`the snapshot folder ${folder.name} was removed while it was being streamed`, 'ENOENT');
  }

  /**
   * Checks, after a file was archived, that it is still the file that was read: same inode,
   * same size. A file removed, replaced, truncated or grown meanwhile fails the archive.
   */
  async checkUnchanged(folder: SnapshotFolder, entry: { relativePath: string; absolutePath: string }, read: Stats): Promise<void> {
    let now: Stats;
    try {
      now = await fs.lstat(entry.absolutePath);
    } catch (err) {
      throw await this.readError(folder, entry.relativePath, err);
    }
    if (now.ino !== read.ino || now.dev !== read.dev) {
      throw new SnapshotReadError(`${entry.relativePath} was replaced while it was being streamed`);
    }
    if (now.size !== read.size) {
      throw new SnapshotReadError(
        `${entry.relativePath} changed size while it was being streamed (${read.size} bytes when opened, ${now.size} now)`,
      );
    }
  }

  /**
   * Opens a regular file for reading without following links; checks it is still a regular file.
   * `relativePath` names the file in errors (default: its base name, never the absolute path).
   */
  async openFile(absolutePath: string, relativePath = path.basename(absolutePath)): Promise<{ handle: fs.FileHandle; stats: Stats }> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(absolutePath, OPEN_FLAGS);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
        throw new UnsupportedEntryError(`${relativePath} became a symbolic link while being archived: unsupported, links are never followed`);
      }
      throw err;
    }
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      throw new UnsupportedEntryError(`${relativePath} is no longer a regular file: unsupported, it is not archived`);
    }
    return { handle, stats };
  }

  /**
   * Total bytes of the regular files in a snapshot folder. Parts this process may not read are
   * left out rather than failing the whole listing; downloading such a snapshot reports them.
   */
  async size(folder: SnapshotFolder): Promise<number> {
    const entries: TreeEntry[] = [];
    await this.listDir(folder, folder.absolutePath, folder.name, entries, true);
    let total = 0;
    for (const entry of entries) if (entry.kind === 'file') total += entry.stats.size;
    return total;
  }

  /** Removes a snapshot folder. fs.rm removes links themselves, never what they point to. */
  async remove(folder: SnapshotFolder): Promise<void> {
    try {
      await fs.rm(folder.absolutePath, { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return; // removed by someone else meanwhile: gone either way
      const hint = code === 'EACCES' || code === 'EPERM' ? '; pruning needs write access to snapshot_dir and the snapshot folders' : '';
      throw new SnapshotDirError(`cannot remove snapshot ${folder.name}: ${describeCode(code)}${hint}`);
    }
  }

  /**
   * What is wrong with snapshot_dir, if anything, in one line without its path. `normal` marks
   * the one harmless case: the folder is missing but its parent exists (Prometheus makes
   * <data>/snapshots with its first snapshot).
   */
  async dirProblem(): Promise<{ message: string; normal: boolean } | undefined> {
    let stats: Stats;
    try {
      stats = await fs.stat(this.root);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        if (await isDirectory(path.dirname(this.root))) {
          return { message: 'snapshot_dir does not exist yet (Prometheus creates it with its first snapshot)', normal: true };
        }
        return { message: 'snapshot_dir does not exist, nor does the folder it should be in; check -snapshot_dir', normal: false };
      }
      return { message: `cannot read snapshot_dir: ${describeCode(code)}`, normal: false };
    }
    if (!stats.isDirectory()) return { message: 'snapshot_dir is not a folder; check -snapshot_dir', normal: false };
    try {
      await fs.access(this.root, constants.R_OK | constants.X_OK);
    } catch (err) {
      return { message: `cannot read snapshot_dir: ${describeCode((err as NodeJS.ErrnoException).code)}`, normal: false };
    }
    return undefined;
  }

  /** Logs one line at start when snapshot_dir is missing or unreadable; requests fail with 503 until it is fixed. */
  async onApplicationBootstrap(): Promise<void> {
    const problem = await this.dirProblem();
    if (!problem) return;
    const logger = new Logger('SnapshotStore');
    if (problem.normal) logger.log(`${problem.message}: ${this.root}`);
    else logger.warn(`${problem.message}: ${this.root}; listing, downloads and pruning answer 503 until that is fixed`);
  }

  /** Whether snapshot_dir exists and this process may read and write it. */
  async usable(): Promise<{ ok: boolean; error?: string }> {
    const problem = await this.dirProblem();
    if (problem && !problem.normal) return { ok: false, error: problem.message };
    // Prometheus creates the folder with its first snapshot; a writable data folder will do.
    const writable = problem ? path.dirname(this.root) : this.root;
    try {
      await fs.access(writable, constants.W_OK | constants.X_OK);
      return { ok: true };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        ok: false,
        error: problem
          ? `snapshot_dir does not exist yet and its parent folder is not writable: ${describeCode(code)}`
          : `snapshot_dir is not writable (pruning needs it): ${describeCode(code)}`,
      };
    }
  }
}

/** An errno code in words, e.g. "permission denied (EACCES)". */
function describeCode(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'ENOENT':
      return 'it does not exist (ENOENT)';
    case 'ENOTDIR':
      return 'a part of its path is not a folder (ENOTDIR)';
    case 'EIO':
      return 'input/output error (EIO)';
    case 'ELOOP':
      return 'too many symbolic links (ELOOP)';
    default:
      return code ?? 'unknown error';
  }
}

/** Node's errno messages quote the path: 'ENOENT: …, open '/x/y''. Drop the path. */
function scrubPaths(message: string): string {
  return message.replace(/'\/[^']*'/g, "'…'").replace(/"\/[^"]*"/g, '"…"');
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
