// prombackup-server's command line, as a process.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../apps/server/src/config/settings';
import { readFileSync } from 'node:fs';
import { SERVER_BIN, runServerCommand, startServer } from './support/processes';

describe('prombackup-server command line', () => {
  it('-help lists every setting with its variable and default', async () => {
    const run = await runServerCommand(['-help']);
    expect(run.code).toBe(0);
    const text = run.stdout.toString();
    for (const s of SETTINGS) {
      expect(text).toContain(`-${s.flag}`);
      expect(text).toContain(s.env);
      if (s.default !== undefined) expect(text).toContain(JSON.stringify(s.default));
    }
  });

  it('-version prints the version', async () => {
    const run = await runServerCommand(['-version']);
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toMatch(/^prombackup-server \d+\.\d+\.\d+\n$/);
  });

  it.each([
    [['-snapshot_dir', '/x', '-autoprune_interval', 'often'], {}, /autoprune_interval/],
    [['-snapshot_dir', '/x', '-autoprune=yes'], {}, /-autoprune/],
    [['-snapshot_dir', '/x'], { PROMBACKUP_SERVER_AUTOPRUNE_ENABLE: 'sometimes' }, /PROMBACKUP_SERVER_AUTOPRUNE_ENABLE/],
    [[], {}, /snapshot_dir.*required/],
    [['-snapshot_dir', '/x', '-listen_address', 'nowhere'], {}, /listen_address/],
    [['-snapshot_dir', '/x', '-prometheus_endpoint', 'ftp://x'], {}, /prometheus_endpoint/],
    [['-snapshot_dir', '/x', '-max_concurrent_downloads', '0'], {}, /max_concurrent_downloads/],
    [['-snapshot_dir', '/x', '-no_such_flag'], {}, /unknown flag -no_such_flag/],
    [['-snapshot_dir', '/x', '-log_level', 'verbose'], {}, /invalid value "verbose" for -log_level: want one of debug, info, warn, error/],
    [['-snapshot_dir', '/x'], { PROMBACKUP_SERVER_LOG_FORMAT: 'xml' }, /invalid value "xml" for PROMBACKUP_SERVER_LOG_FORMAT: want one of text, json/],
    // Past Node's longest timer (24.8 days) these fired at once: autoprune pruned every millisecond,
    // every snapshot request timed out, a SIGTERM cut running downloads off without grace.
    [['-snapshot_dir', '/x', '-autoprune', '-autoprune_interval', '10000h'], {}, /invalid value "10000h" for -autoprune_interval: must be at most 500h/],
    [['-snapshot_dir', '/x', '-autoprune_interval', '1ms'], {}, /invalid value "1ms" for -autoprune_interval: must be at least 1s/],
    [['-snapshot_dir', '/x'], { PROMBACKUP_SERVER_PROMETHEUS_TIMEOUT: '1000h' }, /PROMBACKUP_SERVER_PROMETHEUS_TIMEOUT: must be at most 500h/],
    [['-snapshot_dir', '/x', '-shutdown_grace', '700h'], {}, /-shutdown_grace: must be at most 500h/],
  ])('%j %j exits non-zero with one line naming the setting', async (args, env, message) => {
    const run = await runServerCommand(args as string[], { env: env as NodeJS.ProcessEnv });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });

  it('names -listen_address when it cannot listen there: a port in use, a host that does not resolve', async () => {
    const busy = await startServer(['-snapshot_dir', '/x']);
    try {
      for (const address of [`127.0.0.1:${busy.port}`, `nohost.invalid:${busy.port}`]) {
        const run = await runServerCommand(['-snapshot_dir', '/x', '-listen_address', address]);
        expect(run.code, address).toBe(1);
        expect(run.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^prombackup-server: cannot listen on -listen_address ${address}: .*(EADDRINUSE|ENOTFOUND|EAI_AGAIN)`));
      }
    } finally {
      await busy.stop();
    }
  });

  it('runs the seed command line verbatim', async () => {
    const child = spawn(
      process.execPath,
      [SERVER_BIN, '-listen_address', ':8080', '-prometheus_endpoint', 'http://prometheus:9090', '-snapshot_dir', '/storage/snapshots'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    try {
      const deadline = Date.now() + 20_000;
      let status = 0;
      while (Date.now() < deadline && child.exitCode === null) {
        status = await fetch('http://127.0.0.1:8080/healthz').then((r) => r.status, () => 0);
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status, output).toBe(200);
      expect(output).toMatch(/Prometheus http:\/\/prometheus:9090, snapshots in \/storage\/snapshots/);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('runs with the memory tuning of its #! line: a 1 MB young generation, a size-optimised heap and two malloc arenas', async () => {
    const server = await startServer(['-snapshot_dir', '/nonexistent/snapshots']);
    try {
      const environ = readFileSync(`/proc/${server.process.pid}/environ`, 'utf8').split('\0');
      expect(environ).toContain('MALLOC_ARENA_MAX=2');
      expect(readFileSync(`/proc/${server.process.pid}/cmdline`, 'utf8').split('\0')).toContain('--optimize-for-size');
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const newSpace = Number(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(metrics)?.[1]);
      // Node's default is 16 MB per semi-space, 32 MB in all; two of 1 MB here.
      expect(newSpace).toBeGreaterThan(0);
      expect(newSpace).toBeLessThanOrEqual(2 * 1024 * 1024);
    } finally {
      await server.stop();
    }
  });
});
