// What an outsider or a tired operator sends that the other hostile suites do not: HEAD on a
// download, credentials inside URLs, and server URLs pasted with a query or a fragment.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, statusOf, writeSmallSnapshot } from './support/downloads';
import { CLI_BIN, runCli, type ServerProcess, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, takeSnapshot } from './support/prometheus';

const PASSWORD = 'hunter2-s3cret-pw';
const TOKEN = 'hostile3-token-0123456789';

let prom: PrometheusInstance;
let server: ServerProcess;
let snapshot: string;
let tmp: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-requests-'));
  prom = await startPrometheus({ scrapeSelf: false });
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  snapshot = await takeSnapshot(prom.url, true);
});

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** oclif's error text on one line (it wraps at the terminal width and marks lines with ›). */
const oneLine = (text: string) => text.replace(/\s*\n\s*›?\s*/g, ' ');

/** prombackup_downloads_total by outcome, from the server's metrics. */
async function downloadCounts(): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^prombackup_downloads_total\{[^}]*outcome="(\w+)"[^}]*\} (\d+)/gm)) counts[m[1]] = (counts[m[1]] ?? 0) + Number(m[2]);
  return counts;
}

describe('HEAD on a download (a link checker, curl -I)', () => {
  it('answers the headers a GET would, without streaming, recording or holding anything', async () => {
    const before = await downloadCounts();
    for (const format of ['tar', 'tgz', 'tzst']) {
      const res = await fetch(`${server.url}/api/download?name=${snapshot}&format=${format}`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/(x-tar|gzip|zstd)/);
      expect(res.headers.get('content-disposition')).toContain(snapshot);
      // No archive runs, so there is no download whose status could be asked for.
      expect(res.headers.get('x-prombackup-download-id')).toBeNull();
    }
    expect(await downloadCounts()).toEqual(before);
    const listed = (await (await fetch(`${server.url}/api/snapshots`)).json()) as { snapshots: { name: string; in_use: boolean }[] };
    expect(listed.snapshots.find((s) => s.name === snapshot)?.in_use).toBe(false);
  });

  it('checks the request as a GET does: unknown snapshot 404, bad format 400, unknown block 400', async () => {
    const head = (query: string) => fetch(`${server.url}/api/download?${query}`, { method: 'HEAD' }).then((r) => r.status);
    expect(await head('name=20200101T000000Z-00000000000000aa')).toBe(404);
    expect(await head(`name=${snapshot}&format=zip`)).toBe(400);
    expect(await head(`name=${snapshot}&blocks=01HXYZ0123456789ABCDEFGHJK`)).toBe(400);
    expect(await head('name=..%2Fetc')).toBe(400);
  });

  it('leaves the GET after it untouched: a full archive whose SHA-256 the status confirms', async () => {
    await fetch(`${server.url}/api/download?name=${snapshot}`, { method: 'HEAD' });
    const { id, body, complete } = await get(`${server.url}/api/download?name=${snapshot}`);
    expect(complete).toBe(true);
    const finished = await statusOf(server, id);
    expect(finished.success).toBe(true);
    expect(finished.sha256_hex).toBe(createHash('sha256').update(body).digest('hex'));
  });
});

describe('a password in -prometheus_endpoint (Prometheus behind a basic-auth proxy)', () => {
  it('is sent to Prometheus, and never shown: not in /readyz, the page, API errors or the log', async () => {
    // A stand-in for the proxy: it records what it is sent and then goes away, so the server reports it unreachable.
    const seen: (string | undefined)[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { 'web.enable-admin-api': 'true' } }));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as AddressInfo).port;
    const tokenFile = path.join(tmp, 'token');
    await fs.writeFile(tokenFile, TOKEN);
    const guarded = await startServer([
      '-prometheus_endpoint', `http://admin:${PASSWORD}@127.0.0.1:${port}`,
      '-snapshot_dir', prom.snapshotDir,
      '-auth_token_file', tokenFile,
    ]);
    try {
      const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
      await fetch(`${guarded.url}/readyz`);
      expect(seen).toContain(`Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`);
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      proxy.closeAllConnections();
      // Readiness caches its answer for 5 s; wait until it has seen the proxy gone.
      let ready = '';
      for (const deadline = Date.now() + 15_000; !ready.includes('cannot reach') && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 500));
        ready = await (await fetch(`${guarded.url}/readyz`)).text();
      }
      expect(ready).toContain('cannot reach Prometheus at http://admin:');
      const snap = await (await fetch(`${guarded.url}/api/snapshot`, { method: 'POST', ...auth })).text();
      expect(snap).toContain('cannot reach Prometheus');
      const page = await (await fetch(`${guarded.url}/`, auth)).text();
      for (const shown of [ready, snap, page, guarded.log()]) expect(shown).not.toContain(PASSWORD);
    } finally {
      await guarded.stop();
      proxy.closeAllConnections();
    }
  });
});

describe('control characters in a file name inside a snapshot', () => {
  // A FIFO fails the download naming it; its name clears the screen, rings and forges a log line.
  const EVIL = '\u001b[2J\u001b[31mPWNED\u0007\n2026-01-01T00:00:00.000Z INFO  [forged] all is well';
  const NAME = '20240301T000000Z-00000000000000c1';

  beforeAll(async () => {
    await fs.mkdir(path.join(prom.snapshotDir, NAME, 'blk'), { recursive: true });
    execFileSync('mkfifo', [path.join(prom.snapshotDir, NAME, 'blk', EVIL)]);
  });

  it('reaches the status, the log and the CLI escaped, never as raw control characters', async () => {
    const { id } = await get(`${server.url}/api/download?name=${NAME}`);
    const finished = await statusOf(server, id);
    expect(finished.success).toBe(false);
    expect(finished.error_text).toContain('\\x1b[2J\\x1b[31mPWNED\\x07\\x0a2026-01-01');
    const cli = await runCli(['download', NAME, '-o', path.join(tmp, 'evil.tar'), '--server', server.url]);
    expect(cli.code).toBe(1);
    // Cut off by the server: the CLI asks it why, rather than blaming the connection alone.
    expect(oneLine(cli.stderr)).toMatch(/cut off after .*; the server reports: .*\\x1b\[31mPWNED.* is a named pipe/);
    const status = await runCli(['status', id, '--server', server.url]);
    expect(status.stdout.toString()).toContain('PWNED');
    const page = await (await fetch(`${server.url}/`)).text();
    for (const shown of [finished.error_text!, cli.stderr, status.stdout.toString(), page, server.log()]) {
      expect(shown).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
      expect(shown).not.toMatch(/^2026-01-01T00:00:00.000Z INFO {2}\[forged\]/m);
    }
    await fs.rm(path.join(prom.snapshotDir, NAME), { recursive: true });
  });
});

describe('--output - with a terminal on standard output', () => {
  it('is refused before a snapshot is taken, as gzip refuses; the archive never reaches the terminal', async () => {
    const before = (await (await fetch(`${server.url}/api/snapshots`)).json()) as { snapshots: unknown[] };
    for (const args of [['download', snapshot, '-o', '-'], ['create', '-o', '-']]) {
      // script(1) gives the CLI a pseudo-terminal as its standard output.
      const command = [process.execPath, CLI_BIN, ...args, '--server', server.url].map((a) => `'${a}'`).join(' ');
      const run = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'latin1', timeout: 30_000 });
      expect(run.status, run.stdout).toBe(2);
      expect(oneLine(run.stdout)).toContain('standard output is a terminal; not writing a binary archive to it');
      expect(run.stdout).not.toContain('ustar');
    }
    const after = (await (await fetch(`${server.url}/api/snapshots`)).json()) as { snapshots: unknown[] };
    expect(after.snapshots).toHaveLength(before.snapshots.length);
  });
});

describe('POST /api/prune with a misspelt parameter', () => {
  it('is refused naming it, rather than pruning with the default 1h; the snapshot it meant to keep stays', async () => {
    // Three hours old: the default keep_within (1h) would remove it, 24h keeps it.
    const name = `${new Date(Date.now() - 3 * 3600_000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-00000000000000d1`;
    await writeSmallSnapshot(prom.snapshotDir, name);
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    for (const [query, body] of [['?keep-within=24h', undefined], ['', 'keepwithin=24h'], ['?keep_within=24h&dry_run=1', undefined]]) {
      const res = await fetch(`${server.url}/api/prune${query}`, { method: 'POST', headers: body ? form : {}, body });
      expect(res.status, query || body).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/^unknown parameter ".*"; this request takes keep_within$/);
      expect(existsSync(path.join(prom.snapshotDir, name)), query || body).toBe(true);
    }
    const kept = await fetch(`${server.url}/api/prune?keep_within=24h`, { method: 'POST' });
    expect(kept.status).toBe(200);
    expect(existsSync(path.join(prom.snapshotDir, name))).toBe(true);
    // A bare POST still prunes with the default.
    const bare = (await (await fetch(`${server.url}/api/prune`, { method: 'POST' })).json()) as { removed: string[] };
    expect(bare.removed).toContain(name);
  });
});

describe('--server as a tired operator pastes it', () => {
  it('refuses a user name and password in the URL without printing the password', async () => {
    for (const json of [false, true]) {
      const result = await runCli(['list', '--server', `http://bob:${PASSWORD}@127.0.0.1:${server.port}`, ...(json ? ['--json'] : [])]);
      expect(result.code).toBe(2);
      const said = oneLine(result.stderr + result.stdout.toString());
      expect(said).toMatch(/--server must not hold a user name or password.*--token/);
      expect(said).not.toContain(PASSWORD);
    }
  });

  it('refuses a query or a fragment, which would send every request to the web page', async () => {
    for (const tail of ['/?x=1', '/#downloads', '?', '#']) {
      const result = await runCli(['list', '--server', `${server.url}${tail}`]);
      expect(result.code, tail).toBe(2);
      expect(oneLine(result.stderr), tail).toMatch(/--server .*without a query or a fragment/);
    }
  });

  it('still takes a trailing slash, surrounding whitespace and a path prefix', async () => {
    for (const url of [`${server.url}/`, ` ${server.url}\n`]) {
      const listed = await runCli(['list', '--server', url]);
      expect(listed.code, JSON.stringify(url)).toBe(0);
      expect(listed.stdout.toString()).toContain(snapshot);
    }
    // Behind a proxy under a path prefix: here nothing serves it, so it must fail as any other 404.
    const prefixed = await runCli(['list', '--server', `${server.url}/prombackup`]);
    expect(prefixed.code).toBe(1);
    expect(prefixed.stderr).toContain('HTTP 404');
  });
});
