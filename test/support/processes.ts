// Starting the built prombackup-server and running the built CLI as real processes.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from './prometheus';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const SERVER_BIN = path.join(REPO_ROOT, 'apps/server/bin/prombackup-server.js');
export const CLI_BIN = path.join(REPO_ROOT, 'apps/cli/bin/run.js');

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ServerProcess {
  url: string;
  port: number;
  process: ChildProcess;
  /** Everything the server logged so far. */
  log(): string;
  /** Resolves with the exit code once the process has ended by itself. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The uid and gid of "nobody" on Debian, for permission tests run as root. */
export const NOBODY = { uid: 65534, gid: 65534 };

/**
 * Starts prombackup-server on a free loopback port and waits until it answers /healthz;
 * `user` runs it as another user (needs root).
 */
export async function startServer(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  user?: { uid: number; gid: number },
): Promise<ServerProcess> {
  const port = await freePort();
  // Through its #! line, as npm's link and the container image start it.
  const child = spawn(SERVER_BIN, ['-listen_address', `127.0.0.1:${port}`, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...user,
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  child.on('error', (err) => (output += `spawn error: ${err.message}\n`));
  // Set once a test signals the server itself; an exit after that is expected.
  let stopping = false;
  const kill = child.kill.bind(child);
  child.kill = (signal?: NodeJS.Signals | number) => {
    stopping = true;
    return kill(signal);
  };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('exit', (code, signal) => {
    running.delete(child);
    // A server that dies by itself fails the tests after it; its last words say why.
    if (!stopping && code !== 0) console.error(`prombackup-server on port ${port} exited by itself (code ${code}, signal ${signal}); its last output:\n${output.split('\n').slice(-80).join('\n')}`);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prombackup-server exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`prombackup-server did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    process: child,
    log: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Another user to run as (needs root), e.g. NOBODY for permission tests. */
  user?: { uid: number; gid: number };
}

/** Runs a Node script to completion, collecting its output. */
export function runNode(script: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options.user,
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

export const runCli = (args: string[], options?: RunOptions) => runNode(CLI_BIN, args, options);
export const runServerCommand = (args: string[], options?: { env?: NodeJS.ProcessEnv }) => runNode(SERVER_BIN, args, options);
