import path from 'node:path';
import { type HeldLock, TsdbBusyError, lockTsdb, refuseIfInUse } from '../tsdb';
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
  const own = { file: SYNC_LOCK_FILE, busy: `another prombackup sync is running on ${dir} (${path.join(dir, SYNC_LOCK_FILE)} is locked)` };
  const lock = await lockTsdb(dir, { by: 'sync', own });
  try {
    await refuseIfInUse(dir, lock);
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}
