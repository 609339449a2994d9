// A server started with -auth_token_file, against a real Prometheus: what needs the token, what
// does not, and the CLI sending it.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DOWNLOAD_ID_HEADER } from '@prombackup/contract';
import { describeFolder, readArchive, sha256 } from './support/archive';
import { type ServerProcess, SERVER_BIN, runCli, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, waitForHeadSamples } from './support/prometheus';

const TOKEN = 'Zq8-test-token-that-is-long-enough-3f9a';
const CHALLENGE = 'Bearer realm="prombackup"';

let prom: PrometheusInstance;
let server: ServerProcess;
let secrets: string;
let work: string;
/** A snapshot taken with the token, for the download requests. */
let existing: string;

beforeAll(async () => {
  prom = await startPrometheus();
  await waitForHeadSamples(prom.url);
  secrets = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-auth-'));
  const tokenFile = path.join(secrets, 'token');
  // Trailing newline as `echo` writes it: the server trims it.
  await fs.writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir, '-auth_token_file', tokenFile]);
  existing = await snapshot();
});

afterAll(async () => {
  if (process.env.DEBUG_SERVER_LOG) console.log(server?.log());
  await server?.stop();
  await prom?.stop();
  if (secrets) await fs.rm(secrets, { recursive: true, force: true });
});

beforeEach(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-auth-cli-'));
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const authorized = bearer(TOKEN);

async function snapshot(): Promise<string> {
  const res = await fetch(`${server.url}/api/snapshot`, { method: 'POST', headers: authorized, redirect: 'manual' });
  expect(res.status).toBe(303);
  return ((await res.json()) as { name: string }).name;
}

async function snapshotNames(): Promise<string[]> {
  return (await fs.readdir(prom.snapshotDir)).sort();
}

/** Requests that must all be refused without the token, protected routes and unknown paths alike. */
const PROTECTED: [method: string, path: () => string][] = [
  ['GET', () => '/'],
  ['GET', () => '/api/snapshots'],
  ['POST', () => '/api/snapshot'],
  ['GET', () => `/api/download?name=${existing}&format=tgz`],
  ['GET', () => '/api/download_status?id=whatever'],
  ['POST', () => '/api/prune?keep_within=0s'],
  ['POST', () => '/prune'],
  ['GET', () => '/no/such/path'],
  ['GET', () => '/api/no-such-endpoint'],
  ['POST', () => '/metrics'],
];

const NEEDED = 'a bearer token is needed in the Authorization header';
const WRONG_TOKEN = 'the bearer token is wrong';

const WRONG: [what: string, headers: Record<string, string>, message: string][] = [
  ['no Authorization header', {}, NEEDED],
  ['Basic credentials', { Authorization: `Basic ${Buffer.from(`prombackup:${TOKEN}`).toString('base64')}` }, NEEDED],
  ['a wrong token of the same length', bearer(TOKEN.replace(/.$/, 'X')), WRONG_TOKEN],
  ['a shorter token', bearer(TOKEN.slice(0, 16)), WRONG_TOKEN],
  ['a longer token', bearer(`${TOKEN}${TOKEN}`), WRONG_TOKEN],
];

describe('without the right token', () => {
  describe.each(WRONG)('with %s', (_, headers, message) => {
    it.each(PROTECTED)('refuses %s %s with 401, a Bearer challenge and the JSON error', async (method, pathOf) => {
      const res = await fetch(`${server.url}${pathOf()}`, { method, headers, redirect: 'manual' });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')?.startsWith(CHALLENGE)).toBe(true);
      expect(res.headers.get(DOWNLOAD_ID_HEADER)).toBeNull();
      const text = await res.text();
      const body = JSON.parse(text);
      expect(body).toEqual({ statusCode: 401, error: 'Unauthorized', message });
      expect(text).not.toContain(TOKEN.slice(0, 16));
    });
  });

  it('takes no snapshot and prunes nothing', async () => {
    const old = '20200101T000000Z-authprunekept';
    await fs.mkdir(path.join(prom.snapshotDir, old), { recursive: true });
    const before = await snapshotNames();
    expect((await fetch(`${server.url}/api/snapshot`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${server.url}/api/prune?keep_within=0s`, { method: 'POST', headers: bearer('x'.repeat(40)) })).status).toBe(401);
    expect(await snapshotNames()).toEqual(before);
  });

  it('answers 401 before reading the body: a malformed or oversized one makes no difference', async () => {
    const malformed = await fetch(`${server.url}/api/prune`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' });
    expect(malformed.status).toBe(401);
    const big = await fetch(`${server.url}/api/prune`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `keep_within=${'9'.repeat(64 * 1024)}`,
    });
    expect(big.status).toBe(401);
  });
});

describe('with the right token', () => {
  it('takes a snapshot (303) and downloads it (200) with a status SHA-256 that matches the bytes', async () => {
    const name = await snapshot();
    const res = await fetch(`${server.url}/api/download?name=${name}`, { headers: authorized });
    expect(res.status).toBe(200);
    const data = Buffer.from(await res.arrayBuffer());
    expect(await readArchive(data, 'tar')).toEqual(await describeFolder(path.join(prom.snapshotDir, name)));
    const id = res.headers.get(DOWNLOAD_ID_HEADER)!;
    let finished: { success: boolean; sha256_hex: string } | null = null;
    for (let i = 0; i < 100 && !finished; i++) {
      const status = await fetch(`${server.url}/api/download_status?id=${encodeURIComponent(id)}`, { headers: authorized });
      expect(status.status).toBe(200);
      finished = ((await status.json()) as { finished: typeof finished }).finished;
      if (!finished) await new Promise((r) => setTimeout(r, 50));
    }
    expect(finished).toEqual({ success: true, error_text: null, sha256_hex: sha256(data) });
  });

  it('accepts the scheme in any case and serves the page and unknown paths as usual', async () => {
    const page = await fetch(`${server.url}/`, { headers: { Authorization: `bearer ${TOKEN}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form');
    expect((await fetch(`${server.url}/no/such/path`, { headers: authorized })).status).toBe(404);
  });
});

describe('public without a token', () => {
  it.each([
    ['/metrics', /prombackup_/],
    ['/healthz', /"ok":true/],
    ['/readyz', /"ok":true/],
    ['/favicon.ico', /<svg/],
    ['/docs', /swagger-ui/],
    ['/docs/swagger-ui-init.js', /"securitySchemes"/],
    ['/docs/swagger-ui-bundle.js', /./],
    ['/docs/openapi.json', /"bearer"/],
  ])('GET %s', async (url, content) => {
    const res = await fetch(`${server.url}${url}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(content);
  });

  it('the spec declares the bearer scheme for the API and none for the public operations', async () => {
    const spec = (await (await fetch(`${server.url}/docs/openapi.json`)).json()) as {
      security: unknown;
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(spec.security).toEqual([{ bearer: [] }]);
    expect(spec.paths['/metrics'].get.security).toEqual([]);
    expect(spec.paths['/api/snapshot'].post.security).toBeUndefined();
  });
});

describe('the CLI', () => {
  /** oclif wraps error messages to the terminal width. */
  const oneLine = (text: string) => text.replace(/\s+/g, ' ');

  async function expectVerifiedArchive(run: Awaited<ReturnType<typeof runCli>>, target: string) {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const name = /from snapshot (\S+),/.exec(run.stdout.toString())![1];
    expect(await readArchive(await fs.readFile(target), 'tgz')).toEqual(await describeFolder(path.join(prom.snapshotDir, name)));
    expect((await fs.readdir(work)).sort()).toEqual([path.basename(target), `${path.basename(target)}.sha256`]);
  }

  it('create --token writes a verified archive (the streaming download carries the token too)', async () => {
    const target = path.join(work, 'flag.tar.gz');
    const run = await runCli(['-server', server.url, '-token', TOKEN, 'create', '-format', 'tgz', '-output', target, '--keep-snapshot']);
    await expectVerifiedArchive(run, target);
  });

  it('create with PROMBACKUP_TOKEN writes a verified archive and removes its snapshot with the token too', async () => {
    const target = path.join(work, 'env.tar.gz');
    const run = await runCli(['create', '--format', 'tgz', '--output', target], { env: { PROMBACKUP_ENDPOINT: server.url, PROMBACKUP_TOKEN: TOKEN } });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const name = /from snapshot (\S+),.*; snapshot removed from the server/.exec(run.stdout.toString())![1];
    expect((await readArchive(await fs.readFile(target), 'tgz')).map((e) => e.name)).toContain(name);
    await expect(fs.stat(path.join(prom.snapshotDir, name))).rejects.toThrow(/ENOENT/);
  });

  it('create without a token fails with the 401 and a hint, and leaves no file', async () => {
    const target = path.join(work, 'none.tar');
    const run = await runCli(['create', '-output', target], { env: { PROMBACKUP_ENDPOINT: server.url, PROMBACKUP_TOKEN: '' } });
    expect(run.code).not.toBe(0);
    expect(oneLine(run.stderr)).toMatch(/server answered HTTP 401: a bearer token is needed.* \(pass --token or set PROMBACKUP_TOKEN\)/);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('create with a wrong token fails, says so without printing it, and leaves no file', async () => {
    const wrong = 'not-the-right-token-at-all';
    const run = await runCli(['create', '--output', path.join(work, 'wrong.tar')], { env: { PROMBACKUP_ENDPOINT: server.url, PROMBACKUP_TOKEN: wrong } });
    expect(run.code).not.toBe(0);
    expect(oneLine(run.stderr)).toMatch(/server answered HTTP 401: the bearer token is wrong \(check --token or PROMBACKUP_TOKEN\)/);
    expect(run.stderr + run.stdout.toString()).not.toContain(wrong);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('lists --token among the global flags without showing its value', async () => {
    const run = await runCli(['create', '--help'], { env: { PROMBACKUP_TOKEN: TOKEN } });
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toMatch(/GLOBAL FLAGS[\s\S]*--token=TOKEN\s+\[env: PROMBACKUP_TOKEN\]/);
    expect(run.stdout.toString() + run.stderr).not.toContain(TOKEN);
  });

  it('the server never logged the token', () => {
    expect(server.log()).not.toContain(TOKEN.slice(0, 16));
  });
});

describe('a token file the server cannot honour', () => {
  /** Starts the server and gives it 15 s to exit by itself; one that keeps running counts as null. */
  function startAndWait(args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [SERVER_BIN, '-listen_address', '127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  }

  // Header values reach Node as latin1 and clients encode non-ASCII differently (or refuse to
  // send it), so such a token could never match: the server refuses it at start instead.
  it.each([
    ['non-ASCII letters', 'Zq8-tökën-that-is-long-enough-3f9a'],
    ['a non-Latin script', 'Zq8-токен-that-is-long-enough-3f9a'],
    ['a control character', 'Zq8-token\u0007-that-is-long-enough'],
  ])('with %s exits 2 at start, naming -auth_token_file in one line without the token', async (_, token) => {
    const file = path.join(secrets, 'unusable-token');
    await fs.writeFile(file, `${token}\n`, { mode: 0o600 });
    const run = await startAndWait(['-snapshot_dir', prom.snapshotDir, '-auth_token_file', file]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/-auth_token_file: the token must be printable ASCII/);
    expect(run.stderr).not.toContain(token.slice(4, 12));
  });
});
