import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

/** The TSDB folder is in use: its lock is held, or a running program (a Prometheus) has files in it open; the message says which. */
export class TsdbBusyError extends Error {}

/** The lock file Prometheus takes on its data folder (with --storage.tsdb.use-lockfile). */
export const PROMETHEUS_LOCK_FILE = 'lock';

// flock(1) exit codes (-E) for "that lock is taken", one per lock, so that the message can say which.
const OWN_BUSY = 75;
const PROMETHEUS_BUSY = 76;

export interface LockOptions {
  /** Who takes it, for messages ("restore", "sync"). */
  by: string;
  /** A lock file of our own in DIR, taken first (two syncs on one DIR); its message when taken. */
  own?: { file: string; busy: string };
}

export interface HeldLock {
  /** The lock files held, which processesUsing() passes over. */
  files: string[];
  /** Lets go of the locks (the flock processes end). */
  release(): Promise<void>;
  /** The same, synchronously, for a process about to exit. */
  releaseNow(): void;
}

/**
 * Takes the flock(2) Prometheus takes on DIR/lock (exclusive, without waiting), after our own
 * lock file when there is one, and holds them until release(): a running Prometheus with the lock
 * file refuses us, and one started meanwhile fails to start. Node has no flock(), so util-linux's
 * flock(1) holds each (-o: the command it runs gets no copy of the descriptor), nested, with
 * `cat` waiting on a pipe from this process: the pipe closes when we release or die, however we
 * die, and the kernel drops an flock with its holder. Creates the lock files when missing, as
 * Prometheus does. Throws TsdbBusyError when one is held.
 */
export async function lockTsdb(dir: string, options: LockOptions): Promise<HeldLock> {
  const promLock = path.join(dir, PROMETHEUS_LOCK_FILE);
  const own = options.own && path.join(dir, options.own.file);
  const inner = ['-n', '-o', '-E', String(PROMETHEUS_BUSY), promLock, ...HOLD];
  const args = own ? ['-n', '-o', '-E', String(OWN_BUSY), own, 'flock', ...inner] : inner;
  return holdFlock(args, own ? [own, promLock] : [promLock], options.by, (code) => {
    if (code === OWN_BUSY) return new TsdbBusyError(options.own!.busy);
    if (code === PROMETHEUS_BUSY) return new TsdbBusyError(`${dir} is in use: ${promLock} is locked by another process (a running Prometheus?); stop it first`);
    return undefined;
  }, dir);
}

/** A shared flock(2) on `file` (created when missing), held as lockTsdb holds its locks: other shared holders are let in, an exclusive one refuses us with `busy`. */
export async function lockShared(file: string, by: string, busy: string): Promise<HeldLock> {
  return holdFlock(['-s', '-n', '-o', '-E', String(OWN_BUSY), file, ...HOLD], [file], by, (code) => (code === OWN_BUSY ? new TsdbBusyError(busy) : undefined), path.dirname(file));
}

/** What each flock(1) runs while it holds its lock: says so, then waits for our pipe to close. */
const HOLD = ['sh', '-c', 'echo locked; exec cat >/dev/null'];

/** Runs flock(1) with `args` until its "locked"; `busy` turns its exit code into the refusal to throw, if it is one. */
async function holdFlock(args: string[], files: string[], by: string, busy: (code: number | null) => Error | undefined, dir: string): Promise<HeldLock> {
  const child = spawn('flock', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(`flock (from util-linux) is not installed; ${by} needs it to take the lock Prometheus takes`) : err),
    );
    child.stdout!.once('data', () => resolve());
    void exited.then((code) => reject(busy(code) ?? new Error(`could not lock ${dir}: flock exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`)));
  });
  return {
    files,
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

/**
 * The processes of this host (that this user may inspect) with a file under `dir` open, other
 * than the lock files in `ignore` (held by our own flock processes): Prometheus keeps its
 * write-ahead log, head chunks and the blocks' index and chunk files open while it runs, with or
 * without a lock file (2.x takes the lock only with --storage.tsdb.use-lockfile).
 */
export async function processesUsing(dir: string, ignore: string[] = []): Promise<string[]> {
  const real = await fs.realpath(dir);
  const ignored = new Set(await Promise.all(ignore.map((f) => fs.realpath(f).catch(() => f))));
  const found: string[] = [];
  const pids = (await fs.readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  for (const pid of pids) {
    const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if ((target === real || target.startsWith(`${real}/`)) && !ignored.has(target)) {
        const comm = (await fs.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
        found.push(`${comm} (pid ${pid}) has ${target} open`);
        break;
      }
    }
  }
  return found;
}

/** Throws TsdbBusyError when a process has a file under `dir` open (see processesUsing). */
export async function refuseIfInUse(dir: string, lock: Pick<HeldLock, 'files'> | undefined): Promise<void> {
  const users = await processesUsing(dir, lock?.files ?? []);
  if (users.length > 0) throw new TsdbBusyError(`${dir} is in use: ${users.join('; ')}; stop Prometheus first`);
}
