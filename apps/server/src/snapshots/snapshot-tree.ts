import { type BigIntStats, constants } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { DIR_FLAGS, fdPath, inside } from './descriptors';
import { SnapshotReadError, UnsupportedEntryError, describeCode, scrubPaths } from './snapshot-errors';
import { type TreeEntry, differs, displayName, nameProblem, sameNode } from './tree-entry';

export type { TreeEntry } from './tree-entry';

// O_NOFOLLOW: a file swapped for a link is refused, not followed. O_NONBLOCK: one swapped for a
// FIFO cannot block the open.
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface OpenedFile {
  handle: FileHandle;
  stats: BigIntStats;
}

export interface WalkStep {
  entry: TreeEntry;
  /** For a file: opens it in the folder it was listed in. */
  open?: () => Promise<OpenedFile>;
}

/**
 * A snapshot folder read through descriptors, never through paths whose folders could change
 * underneath: every folder is opened inside its already opened parent with O_NOFOLLOW and
 * checked to be the folder the listing saw (device and inode), and every name is looked up in
 * the folder open as /proc/self/fd/N. A folder swapped for a link mid-download therefore cannot
 * lead outside the snapshot, and verifyUnchanged() then reports the swap.
 */
export class SnapshotTree {
  private readonly sent: TreeEntry[] = [];

  private constructor(
    private readonly absolutePath: string,
    private readonly root: FileHandle,
    private readonly rootEntry: TreeEntry,
    private readonly topLevel?: ReadonlySet<string>,
  ) {}

  /**
   * Opens the folder at `absolutePath`, which must still be the folder `expected` describes.
   * With `topLevel`, the tree is only those entries of the folder (by exact name) and what is
   * below them; the rest of the folder is neither listed, read nor checked.
   */
  static async open(
    absolutePath: string,
    name: string,
    expected: { dev: number; ino: number },
    topLevel?: ReadonlySet<string>,
  ): Promise<SnapshotTree> {
    const root = await fs.open(absolutePath, DIR_FLAGS);
    try {
      const stats = await root.stat({ bigint: true });
      if (Number(stats.dev) !== expected.dev || Number(stats.ino) !== expected.ino) {
        throw new SnapshotReadError(`the snapshot folder ${name} was replaced while it was being opened`);
      }
      const entry: TreeEntry = { kind: 'directory', relativePath: name, depth: 0, name: Buffer.from(name), key: name, stats };
      return new SnapshotTree(absolutePath, root, entry, topLevel);
    } catch (err) {
      await root.close();
      throw err;
    }
  }

  close(): Promise<void> {
    return this.root.close();
  }

  /** Every entry below the folder, depth first, names in byte order. `tolerant` leaves out what cannot be read. */
  async list(tolerant = false): Promise<TreeEntry[]> {
    const into: TreeEntry[] = [];
    await this.listChildren(this.root, this.rootEntry, into, tolerant);
    return into;
  }

  /**
   * The folder itself, then (once listed) every entry in order. Folders are entered as they come
   * and left when the walk passes them; what is handed out is remembered for verifyUnchanged().
   */
  async *entries(): AsyncGenerator<WalkStep> {
    // The folder first, before listing: its header (and the download id) is out before a listing error.
    this.sent.push(this.rootEntry);
    yield { entry: this.rootEntry };
    const listed = await this.list();
    const open: { depth: number; handle: FileHandle }[] = [{ depth: 0, handle: this.root }];
    try {
      for (const entry of listed) {
        while (open[open.length - 1].depth >= entry.depth) await open.pop()!.handle.close();
        const parent = open[open.length - 1].handle;
        if (entry.kind === 'directory') {
          open.push({ depth: entry.depth, handle: await this.openDir(parent, entry) });
          this.sent.push(entry);
          yield { entry };
        } else if (entry.kind === 'file') {
          yield { entry, open: () => this.openFile(parent, entry) };
        } else {
          yield { entry };
        }
      }
    } finally {
      for (const { handle } of open.slice(1)) await handle.close();
    }
  }

  /**
   * Checks that the tree still is what was handed out: the same names, and for each the same
   * inode, size and modification time, and for a file with no other hard link the same change
   * time. Throws naming the first difference.
   */
  async verifyUnchanged(): Promise<void> {
    if (!(await this.stillThere())) throw this.folderRemoved();
    const now = await this.list();
    const current = new Map(now.map((entry) => [entry.key, entry]));
    for (const sent of this.sent.slice(1)) {
      const difference = differs(sent, current.get(sent.key));
      if (difference) throw new SnapshotReadError(`${sent.relativePath} ${difference} while the snapshot was being streamed`);
    }
    const sentKeys = new Set(this.sent.map((entry) => entry.key));
    const added = now.find((entry) => !sentKeys.has(entry.key));
    if (added) throw new SnapshotReadError(`${added.relativePath} appeared while the snapshot was being streamed`);
    // Folder times last: a name added or removed moves its folder's time, and is named better above.
    current.set(this.rootEntry.key, { ...this.rootEntry, stats: await this.root.stat({ bigint: true }) });
    for (const sent of this.sent) {
      if (sent.kind !== 'directory' || current.get(sent.key)!.stats.mtimeNs === sent.stats.mtimeNs) continue;
      throw new SnapshotReadError(`${sent.relativePath} was modified (its modification time changed) while the snapshot was being streamed`);
    }
  }

  /** Whether the folder's path still leads to the folder opened, and it was not removed. */
  async stillThere(): Promise<boolean> {
    try {
      const [byPath, opened] = await Promise.all([fs.lstat(this.absolutePath, { bigint: true }), this.root.stat({ bigint: true })]);
      return opened.nlink > 0n && sameNode(byPath, opened);
    } catch {
      return false;
    }
  }

  private folderRemoved(): SnapshotReadError {
    return new SnapshotReadError(`the snapshot folder ${this.rootEntry.relativePath} was removed while it was being streamed`, 'ENOENT');
  }

  private async listChildren(dir: FileHandle, parent: TreeEntry, into: TreeEntry[], tolerant: boolean): Promise<void> {
    let names: Buffer[];
    try {
      names = await fs.readdir(fdPath(dir), { encoding: 'buffer' });
    } catch (err) {
      if (tolerant) return;
      throw await this.problem(parent.relativePath, err);
    }
    for (const name of names.sort(Buffer.compare)) {
      if (parent.depth === 0 && this.topLevel && !this.topLevel.has(name.toString('latin1'))) continue;
      const relativePath = `${parent.relativePath}/${displayName(name)}`;
      let stats: BigIntStats;
      try {
        stats = await fs.lstat(inside(dir, name), { bigint: true });
      } catch (err) {
        if (tolerant) continue;
        throw await this.problem(relativePath, err);
      }
      const kind = stats.isDirectory() ? 'directory' : stats.isFile() ? 'file' : 'other';
      const key = `${parent.key}/${name.toString('latin1')}`;
      // Block files are hard links into Prometheus' data folder, so a snapshot lies on one file
      // system; anything on another was mounted into it and is not the snapshot's.
      const mounted = stats.dev !== this.rootEntry.stats.dev;
      const problem = mounted
        ? `${relativePath} is on another file system (something is mounted inside the snapshot): it is not archived`
        : nameProblem(name, relativePath);
      const entry: TreeEntry = { kind, relativePath, problem, depth: parent.depth + 1, name, key, stats };
      into.push(entry);
      if (kind !== 'directory' || mounted || (problem && !tolerant)) continue;
      let child: FileHandle;
      try {
        child = await this.openDir(dir, entry);
      } catch (err) {
        if (tolerant) continue;
        throw err;
      }
      try {
        await this.listChildren(child, entry, into, tolerant);
      } finally {
        await child.close();
      }
    }
  }

  private async openDir(parent: FileHandle, entry: TreeEntry): Promise<FileHandle> {
    let handle: FileHandle;
    try {
      handle = await fs.open(inside(parent, entry.name), DIR_FLAGS);
    } catch (err) {
      // O_DIRECTORY answers a link with ENOTDIR: say what it has become.
      const now = await fs.lstat(inside(parent, entry.name)).catch(() => undefined);
      throw await this.problem(entry.relativePath, now?.isSymbolicLink() ? Object.assign(new Error(), { code: 'ELOOP' }) : err);
    }
    await this.checked(handle, entry);
    return handle;
  }

  private async openFile(parent: FileHandle, entry: TreeEntry): Promise<OpenedFile> {
    let handle: FileHandle;
    try {
      handle = await fs.open(inside(parent, entry.name), FILE_FLAGS);
    } catch (err) {
      throw await this.problem(entry.relativePath, err);
    }
    const stats = await this.checked(handle, entry);
    this.sent.push({ ...entry, stats });
    return { handle, stats };
  }

  /** The handle's stats, once it is known to be what the listing saw; closed and refused otherwise. */
  private async checked(handle: FileHandle, entry: TreeEntry): Promise<BigIntStats> {
    try {
      const stats = await handle.stat({ bigint: true });
      if (entry.kind === 'file' && !stats.isFile()) {
        throw new UnsupportedEntryError(`${entry.relativePath} is no longer a regular file: unsupported, it is not archived`);
      }
      if (!sameNode(stats, entry.stats)) throw new SnapshotReadError(`${entry.relativePath} was replaced while the snapshot was being streamed`);
      return stats;
    } catch (err) {
      await handle.close();
      throw await this.problem(entry.relativePath, err);
    }
  }

  /** A failure to read `relativePath` in words for a download's status. */
  private async problem(relativePath: string, err: unknown): Promise<Error> {
    if (err instanceof SnapshotReadError || err instanceof UnsupportedEntryError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      return new UnsupportedEntryError(`${relativePath} became a symbolic link while the snapshot was being streamed: unsupported, links are never followed`);
    }
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (!(await this.stillThere())) return this.folderRemoved();
      const what = code === 'ENOENT' ? 'was removed' : 'was replaced by something that is not a folder';
      return new SnapshotReadError(`${relativePath} ${what} while the snapshot was being streamed`, code);
    }
    if (code === 'EACCES' || code === 'EPERM') return new SnapshotReadError(`cannot read ${relativePath}: ${describeCode(code)}`, code);
    if (code) return new SnapshotReadError(`cannot read ${relativePath}: ${describeCode(code)}`, code);
    return new SnapshotReadError(`cannot read ${relativePath}: ${scrubPaths((err as Error).message ?? String(err))}`);
  }
}
