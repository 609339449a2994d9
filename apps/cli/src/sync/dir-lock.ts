import fs from 'node:fs/promises';
import path from 'node:path';
import { type HeldLock, TsdbBusyError, lockShared, lockTsdb, refuseIfInUse } from '../tsdb';
import { SYNC_LOCK_FILE } from './local-blocks';

/** DIR is busy: another sync holds its lock, or a Prometheus its own or files in it. */
export const DirBusyError = TsdbBusyError;
export type DirLock = HeldLock;

/**
 * Sync's hold on DIR: DIR/.prombackup-sync.lock (another sync on DIR) and Prometheus' DIR/lock,
 * both held until release(); and, as restore does, no process on this host may have a file under
 * DIR open (a Prometheus running on it without a lock file). Throws DirBusyError otherwise.
 */
export async function lockDir(dir: string): Promise<DirLock> {
  const own = { file: SYNC_LOCK_FILE, busy: `another prombackup sync is running on ${dir}, or a restore is reading it (${path.join(dir, SYNC_LOCK_FILE)} is locked)` };
  const lock = await lockTsdb(dir, { by: 'sync', own });
  try {
    await refuseIfInUse(dir, lock);
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}

/**
 * A restore's hold on a sync folder it reads: a shared lock on the sync's own lock file, so that
 * restores read together but no sync changes the folder meanwhile (and none starts). Throws
 * DirBusyError while a sync runs. Undefined for a folder this user cannot write that has no lock
 * file: no sync has run there, and none by this user can.
 */
export async function lockDirForReading(dir: string): Promise<DirLock | undefined> {
  const file = path.join(dir, SYNC_LOCK_FILE);
  const exists = await fs.lstat(file).then(() => true, () => false);
  if (!exists && !(await fs.access(dir, fs.constants.W_OK).then(() => true, () => false))) return undefined;
  return lockShared(file, 'restore', `a sync is running on ${dir} (${file} is locked); wait for it to end, or restore from a copy`);
}
