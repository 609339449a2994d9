import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { SYNC_LOCK_FILE } from './local-blocks';

/** DIR is busy: another sync, or a Prometheus, holds its lock. */
export class DirBusyError extends Error {}

export interface DirLock {
  release(): Promise<void>;
  /** For a process about to exit: the holder goes at once. */
  releaseNow(): void;
}

// flock(1) exit codes (-E) for "that lock is taken", one per lock, so that the message can say which.
const SYNC_BUSY = 75;
const PROMETHEUS_BUSY = 76;

/**
 * Takes two flock(2) locks on DIR and holds them until release(): DIR/.prombackup-sync.lock
 * (another sync on DIR) and DIR/lock (the lock Prometheus takes on its data folder, so a running
 * Prometheus refuses us and a Prometheus started meanwhile fails to start rather than compacting
 * blocks under us). Node has no flock(), so util-linux's flock(1) holds them, one nested in the
 * other, with `cat` waiting on a pipe from this process: the pipe closes when we release or die,
 * however we die, and the kernel drops an flock with its holder. So a crashed sync never leaves a
 * lock behind, there is no pid to check, and it holds across containers that share DIR.
 */
export async function lockDir(dir: string): Promise<DirLock> {
  const syncLock = path.join(dir, SYNC_LOCK_FILE);
  const promLock = path.join(dir, 'lock');
  const args = ['-n', '-o', '-E', String(SYNC_BUSY), syncLock, 'flock', '-n', '-o', '-E', String(PROMETHEUS_BUSY), promLock, 'sh', '-c', 'echo locked; exec cat >/dev/null'];
  const child = spawn('flock', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error('flock (from util-linux) is not installed; sync needs it to lock DIR') : err),
    );
    child.stdout!.once('data', () => resolve());
    void exited.then((code) => {
      if (code === SYNC_BUSY) reject(new DirBusyError(`another prombackup sync is running on ${dir} (${syncLock} is locked)`));
      else if (code === PROMETHEUS_BUSY) reject(new DirBusyError(`${dir} is in use: ${promLock} is locked, by a Prometheus running on it? Stop it first`));
      else reject(new Error(`could not lock ${dir}: flock exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
  return {
    release: async () => {
      child.stdin!.end();
      await exited;
    },
    releaseNow: () => kill(child),
  };
}

function kill(child: ChildProcess): void {
  try {
    child.kill('SIGKILL');
  } catch {
    // already gone
  }
}
