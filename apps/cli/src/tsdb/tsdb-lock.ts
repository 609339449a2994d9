import { spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, fstatSync, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** The TSDB folder is in use (its lock is held, or a running program, a Prometheus, has files in it open), or its lock file is not one to take; the message says which. */
export class TsdbBusyError extends Error {}

/** The lock file Prometheus takes on its data folder (with --storage.tsdb.use-lockfile). */
export const PROMETHEUS_LOCK_FILE = 'lock';

export interface LockOptions {
  /** Who takes it, for messages ("restore", "sync"). */
  by: string;
  /** A lock file of our own in DIR, taken first (two syncs on one DIR); its message when taken. */
  own?: { file: string; busy: string };
}

export interface HeldLock {
  /** The lock files held, which processesUsing() passes over. */
  files: string[];
  /** Lets go of the locks (their files are closed). */
  release(): Promise<void>;
  /** The same, synchronously, for a process about to exit. */
  releaseNow(): void;
}

/**
 * Takes the flock(2) Prometheus takes on DIR/lock (exclusive, without waiting), after our own
 * lock file when there is one, and holds them until release(): a running Prometheus with the lock
 * file refuses us, and one started meanwhile fails to start. Creates the lock files when missing,
 * as Prometheus does, but never through a link. Throws TsdbBusyError when one is held.
 */
export async function lockTsdb(dir: string, options: LockOptions): Promise<HeldLock> {
  const promLock = path.join(dir, PROMETHEUS_LOCK_FILE);
  const own = options.own && path.join(dir, options.own.file);
  const held: number[] = [];
  try {
    if (own && !(await flockFile(own, false, options.by, held))) throw new TsdbBusyError(options.own!.busy);
    if (!(await flockFile(promLock, false, options.by, held))) throw new TsdbBusyError(`${dir} is in use: ${promLock} is locked by another process (a running Prometheus?); stop it first`);
  } catch (err) {
    closeAll(held);
    throw err;
  }
  return heldLock(own ? [own, promLock] : [promLock], held);
}

/** A shared flock(2) on `file` (created when missing, never through a link): other shared holders are let in, an exclusive one refuses us with `busy`. */
export async function lockShared(file: string, by: string, busy: string): Promise<HeldLock> {
  const held: number[] = [];
  if (!(await flockFile(file, true, by, held))) {
    closeAll(held);
    throw new TsdbBusyError(busy);
  }
  return heldLock([file], held);
}

function heldLock(files: string[], fds: number[]): HeldLock {
  return { files, release: async () => closeAll(fds), releaseNow: () => closeAll(fds) };
}

function closeAll(fds: number[]): void {
  for (const fd of fds.splice(0).reverse()) closeSync(fd);
}

// flock(1)'s exit code (-E) for "that lock is taken".
const BUSY = 75;

/**
 * Opens `file` (created when missing) with O_NOFOLLOW and takes a flock(2) on it without waiting;
 * false when another holder has it. Node has no flock(), so util-linux's flock(1) takes it on the
 * descriptor we pass it: the lock belongs to the open file, which stays open here (added to
 * `held`) after flock(1) exits, and goes when we close it or die, however we die. A lock file
 * that is a link (which a root sync would otherwise create or lock wherever it points) or not a
 * regular file is refused; O_NONBLOCK keeps a FIFO from hanging the open.
 */
async function flockFile(file: string, shared: boolean, by: string, held: number[]): Promise<boolean> {
  const notPlain = () => new TsdbBusyError(`${file} is not a regular file (a link?); ${by} never follows it: remove it`);
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY, 0o644);
  } catch (err) {
    // ELOOP: a link; EISDIR: a folder (O_CREAT refuses one before fstat could).
    throw ['ELOOP', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '') ? notPlain() : err;
  }
  held.push(fd);
  if (!fstatSync(fd).isFile()) throw notPlain();
  const child = spawn('flock', [shared ? '-s' : '-x', '-n', '-E', String(BUSY), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(`flock (from util-linux) is not installed; ${by} needs it to take the lock Prometheus takes`) : err),
    );
    child.once('close', (exit) => resolve(exit));
  });
  if (code === 0) return true;
  if (code === BUSY) return false;
  throw new Error(`could not lock ${file}: flock exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`);
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
