import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

/** The TSDB folder is in use by a running program (a Prometheus); the message says which. */
export class TsdbBusyError extends Error {}

/** flock(1)'s exit code when the lock is taken (-E); util-linux's default 1 would also mean other failures. */
const CONFLICT_EXIT = 75;

export interface HeldLock {
  /** The flock process, which has DIR/lock open. */
  pid: number;
  /** Lets go of the lock (the flock process ends). */
  release(): Promise<void>;
  /** The same, synchronously, for a process about to exit. */
  releaseNow(): void;
}

/**
 * Takes the lock Prometheus takes on DIR/lock (flock(2), exclusive, without waiting) and holds it
 * until release(), so that no Prometheus can start on DIR while blocks are put in place. Node has
 * no flock(), so util-linux's flock(1) holds it: it locks (-o: its child gets no copy of the lock's descriptor), says so, and keeps the lock while its
 * `cat` waits for our end of a pipe, which closes on release or when this process dies.
 * Creates DIR/lock when missing, as Prometheus does. Throws TsdbBusyError when it is held.
 */
export async function lockTsdb(dir: string): Promise<HeldLock> {
  const lockFile = path.join(dir, 'lock');
  const child = spawn('flock', ['-n', '-o', '-E', String(CONFLICT_EXIT), lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error('flock (from util-linux) is not installed; restore needs it to take the lock Prometheus takes') : err),
    );
    child.stdout!.once('data', () => resolve());
    void exited.then((code) => {
      if (code === CONFLICT_EXIT) reject(new TsdbBusyError(`${dir} is in use: ${lockFile} is locked by another process (a running Prometheus?); stop it first`));
      else reject(new Error(`could not lock ${lockFile}: flock exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
  return {
    pid: child.pid!,
    release: async () => {
      child.stdin!.end();
      await exited;
    },
    releaseNow: () => stop(child),
  };
}

function stop(child: ChildProcess): void {
  try {
    child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * The processes of this host (that this user may inspect) with a file under `dir` open:
 * Prometheus keeps its write-ahead log, head chunks and the blocks' index and chunk files open
 * while it runs, with or without a lock file (2.x takes the lock only with
 * --storage.tsdb.use-lockfile). `ignore` lists pids that are our own.
 */
export async function processesUsing(dir: string, ignore: number[] = []): Promise<string[]> {
  const real = await fs.realpath(dir);
  const found: string[] = [];
  const pids = (await fs.readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p) && !ignore.includes(Number(p)) && Number(p) !== process.pid);
  for (const pid of pids) {
    const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target === real || target.startsWith(`${real}/`)) {
        const comm = (await fs.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
        found.push(`${comm} (pid ${pid}) has ${target} open`);
        break;
      }
    }
  }
  return found;
}
