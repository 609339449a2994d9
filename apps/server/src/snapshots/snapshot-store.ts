import { constants, type Dirent, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { isSnapshotName, isZonedSnapshotName } from '@prombackup/contract';
import { ServerConfig } from '../config/server-config';
import { SnapshotDirError, SnapshotNotFoundError, SnapshotReadError, describeCode } from './snapshot-errors';
import { removeFolder } from './folder-removal';
import { SnapshotTree } from './snapshot-tree';

export { SnapshotDirError, SnapshotNotFoundError, SnapshotReadError, UnsupportedEntryError } from './snapshot-errors';
export type { TreeEntry } from './snapshot-tree';

export interface SnapshotFolder {
  name: string;
  absolutePath: string;
  stats: Stats;
}


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
    const wanted = (name: string) => isSnapshotName(name) || (options.zonedNames === true && isZonedSnapshotName(name));
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
   * Opens a snapshot folder for reading through descriptors (see SnapshotTree); the caller
   * closes it. Fails when the folder was replaced or removed since it was looked up. `topLevel`
   * limits the tree to those entries of the folder (see SnapshotTree.open).
   */
  async openTree(folder: SnapshotFolder, topLevel?: ReadonlySet<string>): Promise<SnapshotTree> {
    try {
      return await SnapshotTree.open(folder.absolutePath, folder.name, folder.stats, topLevel);
    } catch (err) {
      if (err instanceof SnapshotReadError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') {
        throw new SnapshotReadError(`the snapshot folder ${folder.name} was removed while it was being streamed`, code);
      }
      if (code === 'EACCES' || code === 'EPERM') throw new SnapshotReadError(`cannot read ${folder.name}: ${describeCode(code)}`, code);
      throw new SnapshotReadError(`cannot read ${folder.name}: ${describeCode(code)}`, code);
    }
  }

  /**
   * Total bytes of the regular files in a snapshot folder. Parts this process may not read, or
   * that vanish meanwhile, are left out rather than failing the whole listing; downloading such
   * a snapshot reports them.
   */
  async size(folder: SnapshotFolder): Promise<number> {
    const tree = await this.openTree(folder);
    try {
      let total = 0;
      for (const entry of await tree.list(true)) if (entry.kind === 'file') total += Number(entry.stats.size);
      return total;
    } finally {
      await tree.close();
    }
  }

  /**
   * Removes a snapshot folder; false when it was gone already (another prune took it first).
   * Links inside are removed themselves, never followed (see removeFolder).
   */
  async remove(folder: SnapshotFolder): Promise<boolean> {
    try {
      return await removeFolder(folder.absolutePath, folder.stats);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
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

  /**
   * Says at start that snapshot_dir is still to come, which is normal. Real problems make the
   * server unready, and readiness logs them (HealthService).
   */
  async onApplicationBootstrap(): Promise<void> {
    const problem = await this.dirProblem();
    if (problem?.normal) new Logger('SnapshotStore').log(`${problem.message}: ${this.root}`);
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

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
