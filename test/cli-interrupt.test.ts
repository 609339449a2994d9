// The built CLI stopped by signals, killed outright, and waiting on a slow snapshot: it must not
// leave partial files behind, nor remove one that a running CLI is writing.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeLargeSnapshot } from './support/archive';
import { type FakePrometheus, GOOD_NAME, startFakePrometheus } from './support/fake-prometheus';
import { CLI_BIN, type ServerProcess, runCli, startServer } from './support/processes';

let fake: FakePrometheus;
let server: ServerProcess;
let stalling: { url: string; close(): Promise<void> };
let snapshotDir: string;
let work: string;
let target: string;

beforeAll(async () => {
  snapshotDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-int-snap-'));
  // The fake Prometheus always names this folder, so every create downloads 64 MiB.
  await makeLargeSnapshot(snapshotDir, GOOD_NAME, 64);
  fake = await startFakePrometheus('good');
  server = await startServer(['-prometheus_endpoint', fake.url, '-snapshot_dir', snapshotDir]);
  stalling = await startStallingProxy(server.url, 8 * 1024 * 1024);
});

afterAll(async () => {
  await stalling?.close();
  await server?.stop();
  await fake?.close();
  await fs.rm(snapshotDir, { recursive: true, force: true });
});

beforeEach(async () => {
  fake.behaviour = 'good';
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-int-'));
  target = path.join(work, 'backup.tar');
});

/**
 * Forwards everything to `upstream`, but passes only the first `bytes` of a download's body and
 * then holds the connection open: a CLI stuck mid-download, with a partial file on disk.
 */
async function startStallingProxy(upstream: string, bytes: number) {
  const to = new URL(upstream);
  const proxy = http.createServer((req, res) => {
    const out = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (!req.url?.startsWith('/api/download?')) return answer.pipe(res);
      let seen = 0;
      answer.on('data', (chunk: Buffer) => {
        if (seen >= bytes) return answer.pause();
        res.write(chunk.subarray(0, bytes - seen));
        seen += chunk.length;
      });
    });
    out.on('error', () => res.destroy());
    // A client that goes away ends the upstream download too, so the server does not count it.
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}

interface Running {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** The fake Prometheus names one fixture snapshot every time: these runs keep it, unless a test says otherwise. */
const keep = (args: string[]) => (args.includes('--no-keep') ? args.filter((a) => a !== '--no-keep') : [...args, '--keep-snapshot']);

function startCli(args: string[]): Running {
  const child = spawn(process.execPath, [CLI_BIN, ...keep(args)], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done };
}

const partials = async () => (await fs.readdir(work)).filter((name) => name.endsWith('.partial'));

/** Waits until the CLI has written part of the download into its one partial file; returns its path. */
async function partialWithData(cli: Running): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [name] = await partials();
    const size = name ? await fs.stat(path.join(work, name)).then((s) => s.size, () => 0) : 0;
    if (size > 0) return path.join(work, name);
    if (cli.child.exitCode !== null || Date.now() > deadline) throw new Error(`no partial download appeared: ${(await cli.done).stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const present = (file: string) => fs.stat(file).then(() => true, () => false);

describe('create stopped by a signal mid-download', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s removes the partial file, says what was stopped and exits %i', async (signal, exitCode) => {
    const cli = startCli(['create', '--server', stalling.url, '--output', target]);
    await partialWithData(cli);
    cli.child.kill(signal);
    const { code, stderr } = await cli.done;
    expect(code).toBe(exitCode);
    expect(stderr.trim()).toBe(`prombackup: stopped by ${signal} while downloading snapshot ${GOOD_NAME} to ${target}; the partial file is removed and nothing was saved`);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('SIGTERM while the server is still taking the snapshot exits 143 and says so', async () => {
    fake.behaviour = 'hang';
    const before = fake.requests.length;
    const cli = startCli(['create', '--server', server.url, '--output', target]);
    // The request reaching Prometheus means the CLI is waiting on it (a fixed sleep loses on a busy machine).
    for (const deadline = Date.now() + 30_000; fake.requests.length === before && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    cli.child.kill('SIGTERM');
    const { code, stderr } = await cli.done;
    expect(code).toBe(143);
    expect(stderr).toContain('stopped by SIGTERM while the server was taking a snapshot; nothing was written');
    expect(await fs.readdir(work)).toEqual([]);
  });
});

describe('partial files left by other CLIs', () => {
  it('the next create of the same target removes the partial of a CLI killed with SIGKILL', async () => {
    const killed = startCli(['create', '--server', stalling.url, '--output', target]);
    const leftover = await partialWithData(killed);
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    expect(await present(leftover)).toBe(true);

    const next = await runCli(keep(['create', '--server', server.url, '--output', target]));
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(`removed ${leftover}, a partial download its CLI left behind`);
    expect((await fs.readdir(work)).sort()).toEqual(['backup.tar', 'backup.tar.sha256']);
  });

  it('a create of the same target leaves alone the partial that a running CLI is writing', async () => {
    const running = startCli(['create', '--server', stalling.url, '--output', target]);
    const inUse = await partialWithData(running);
    const other = await runCli(keep(['create', '--server', server.url, '--output', target]));
    expect(other.code).toBe(0);
    expect(other.stderr).toBe('');
    expect(await present(inUse)).toBe(true);

    running.child.kill('SIGTERM');
    expect((await running.done).code).toBe(143);
    expect((await fs.readdir(work)).sort()).toEqual(['backup.tar', 'backup.tar.sha256']);
  });
});

describe('--snapshot-timeout', () => {
  it('gives up on a snapshot the server takes longer than that to answer, with a clear message', async () => {
    fake.behaviour = 'hang';
    const run = await runCli(keep(['create', '--server', server.url, '--output', target, '--snapshot-timeout', '2s']));
    expect(run.code).toBe(1);
    // oclif wraps long error lines.
    expect(run.stderr.replace(/\s+/g, ' ')).toContain('the server did not answer the snapshot request within 2s (--snapshot-timeout)');
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('accepts the Go spelling -snapshot_timeout', async () => {
    const run = await runCli(keep(['-server', server.url, 'create', '-output', target, '-snapshot_timeout', '1m']));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await fs.readdir(work)).sort()).toEqual(['backup.tar', 'backup.tar.sha256']);
  });

  it.each([
    ['soon', 'invalid duration "soon"'],
    ['10', 'missing unit in duration "10"'],
    ['0s', 'must be positive'],
    ['-1m', 'must be positive'],
    ['48h', 'must be at most 24h'],
  ])('refuses %s with exit code 2 before asking for a snapshot', async (value, message) => {
    const before = fake.requests.length;
    const run = await runCli(keep(['create', '--server', server.url, '--output', target, `--snapshot-timeout=${value}`]));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--snapshot-timeout');
    expect(run.stderr.replace(/\s+/g, ' ')).toContain(message);
    expect(fake.requests.length).toBe(before);
    expect(await fs.readdir(work)).toEqual([]);
  });
});

describe('the snapshot after an interruption', () => {
  it('SIGINT mid-download closes the download, so the snapshot it took is removed from the server', async () => {
    try {
      const cli = startCli(['create', '--server', stalling.url, '--output', target, '--no-keep']);
      await partialWithData(cli);
      cli.child.kill('SIGINT');
      const { code, stderr } = await cli.done;
      expect(code).toBe(130);
      expect(stderr.trim()).toBe(
        `prombackup: stopped by SIGINT while downloading snapshot ${GOOD_NAME} to ${target}; the partial file is removed and nothing was saved; the snapshot is removed from the server`,
      );
      expect(await present(path.join(snapshotDir, GOOD_NAME))).toBe(false);
      expect(await fs.readdir(work)).toEqual([]);
    } finally {
      if (!(await present(path.join(snapshotDir, GOOD_NAME)))) await makeLargeSnapshot(snapshotDir, GOOD_NAME, 64);
    }
  });
});
