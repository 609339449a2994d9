import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArchiveFileName } from '@prombackup/contract';
import { type PartialOwner, currentOwner, parsePartialName, partialBase } from './partial-name';

/**
 * How long a partial written elsewhere (another host or container) must have gone unchanged
 * before it counts as abandoned. A running download writes all the time, and the server cuts
 * one that takes no data for its -download_idle_timeout (5m by default); the hour leaves room
 * for a server set to wait longer and for the checks and fsync after the last byte.
 */
export const FOREIGN_STALE_MS = 60 * 60 * 1000;

export interface StaleOptions {
  /**
   * Also the partials of any snapshot archive in the target's folder: with --output naming a
   * folder, each run's file is named after its own new snapshot, so an earlier run's partial is
   * never of "the same target".
   */
  anyArchive?: boolean;
  now?: number;
  me?: PartialOwner;
}

/**
 * Removes partial downloads of `target` (see partial-name.ts) left by CLIs that are gone, and
 * returns their paths. Anything that is not a regular file named as a partial of this very
 * target (or, with `anyArchive`, of a snapshot archive) is left alone, and so is every partial
 * whose owner may still be writing it.
 */
export async function removeStalePartials(target: string, options: StaleOptions = {}): Promise<string[]> {
  const { now = Date.now(), me = currentOwner() } = options;
  const dir = path.dirname(target);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const base = partialBase(name);
    if (base === undefined || (base !== path.basename(target) && !(options.anyArchive && parseArchiveFileName(base)))) continue;
    const owner = parsePartialName(name, base);
    if (!owner) continue;
    const file = path.join(dir, name);
    const stats = await fs.lstat(file).catch(() => undefined);
    if (!stats?.isFile() || !(await isStale(owner, stats, me, now))) continue;
    if (await fs.unlink(file).then(() => true, () => false)) removed.push(file);
  }
  return removed;
}

async function isStale(owner: PartialOwner, file: Stats, me: PartialOwner, now: number): Promise<boolean> {
  // Another machine's processes cannot be asked: only the file's age speaks for them.
  if (owner.host !== me.host || owner.pidNamespace !== me.pidNamespace) return now - file.mtimeMs > FOREIGN_STALE_MS;
  if (!isAlive(owner.pid)) return true;
  // The pid may have been reused by another program: it is the owner only if it has the file open.
  // A CLI holds its partial open from creation to the end (AtomicFile).
  const held = await holdsOpen(owner.pid, file);
  return held === false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's process.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether process `pid` has `file` open; undefined when its descriptors cannot be read. */
async function holdsOpen(pid: number, file: Stats): Promise<boolean | undefined> {
  const fdDir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = await fs.readdir(fdDir);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    const open = await fs.stat(path.join(fdDir, fd)).catch(() => undefined);
    if (open && open.ino === file.ino && open.dev === file.dev) return true;
  }
  return false;
}
