// Hostile and malformed requests: each gets a clear 4xx, never a 5xx, and nothing on disk changes.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, waitForHeadSamples } from './support/prometheus';

let prom: PrometheusInstance;
let server: ServerProcess;
let snapshot: string;
let sentinel: string;

/** Every path and its content under a folder, as one fingerprint. */
async function fingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (p: string, rel: string): Promise<void> => {
    const stats = await fs.lstat(p);
    hash.update(`${rel}:${stats.isDirectory() ? 'd' : stats.size}\n`);
    if (stats.isDirectory()) for (const child of (await fs.readdir(p)).sort()) await walk(path.join(p, child), `${rel}/${child}`);
    else if (stats.isFile()) hash.update(await fs.readFile(p));
  };
  await walk(dir, '');
  return hash.digest('hex');
}

/** Sends a request exactly as written (no URL normalisation) and returns status, headers and body. */
function raw(method: string, target: string, options: { body?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, method, path: target, headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

beforeAll(async () => {
  prom = await startPrometheus();
  await waitForHeadSamples(prom.url);
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  const res = await fetch(`${server.url}/api/snapshot`, { method: 'POST', redirect: 'manual' });
  snapshot = ((await res.json()) as { name: string }).name;
  // A folder beside the snapshots that no request may touch.
  sentinel = path.join(prom.dataDir, 'sentinel');
  await fs.mkdir(sentinel);
  await fs.writeFile(path.join(sentinel, 'precious'), 'do not touch');
});

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
});

const long = 'a'.repeat(10_000);
const dl = (query: string) => `/api/download?${query}`;

// [what, method, target, body, status, message]
const matrix: [string, string, string, string | undefined, number, RegExp][] = [
  // snapshot names
  ['name with ..', 'GET', dl('name=..'), undefined, 400, /parameter name must be a snapshot folder name/],
  ['name climbing out', 'GET', dl('name=../../etc/passwd'), undefined, 400, /parameter name/],
  ['name with /', 'GET', dl('name=a/b-c'), undefined, 400, /parameter name/],
  ['name with \\', 'GET', dl('name=a%5Cb-c'), undefined, 400, /parameter name/],
  ['percent-encoded ../', 'GET', dl('name=%2e%2e%2f%2e%2e%2fetc'), undefined, 400, /parameter name/],
  ['double-encoded ../', 'GET', dl('name=%252e%252e%252f'), undefined, 400, /parameter name/],
  ['absolute path', 'GET', dl('name=%2Fetc%2Fpasswd'), undefined, 400, /parameter name/],
  ['NUL byte', 'GET', dl('name=abc-def%00'), undefined, 400, /parameter name/],
  ['newline', 'GET', dl('name=abc-def%0A'), undefined, 400, /parameter name/],
  ['look-alike dash', 'GET', dl('name=20221109T202035Z%E2%80%90355a5b'), undefined, 400, /parameter name/],
  ['look-alike letters', 'GET', dl('name=%D0%B0bc-def'), undefined, 400, /parameter name/],
  ['10,000 characters', 'GET', dl(`name=${long.slice(0, 3000)}-b`), undefined, 400, /parameter name/],
  ['empty name', 'GET', dl('name='), undefined, 404, /parameter name is missing/],
  ['no name', 'GET', dl('format=tar'), undefined, 404, /parameter name is missing/],
  ['repeated name', 'GET', dl('name=a-b&name=c-d'), undefined, 400, /parameter name is given more than once/],
  ['unknown snapshot', 'GET', dl('name=20991231T000000Z-nosuch'), undefined, 404, /no snapshot named/],
  // formats
  ['unknown format', 'GET', dl('name=SNAP&format=zip'), undefined, 400, /parameter format must be one of tar, tgz, tzst/],
  ['format in other case', 'GET', dl('name=SNAP&format=TAR'), undefined, 400, /parameter format/],
  ['repeated format', 'GET', dl('name=SNAP&format=tar&format=tgz'), undefined, 400, /format is given more than once/],
  ['bad level', 'GET', dl('name=SNAP&format=tzst&level=99'), undefined, 400, /parameter level/],
  ['word as level', 'GET', dl('name=SNAP&format=tgz&level=max'), undefined, 400, /parameter level/],
  // skip_head and download_format
  ['word as skip_head', 'POST', '/api/snapshot?skip_head=perhaps', undefined, 400, /parameter skip_head must be a boolean/],
  ['repeated skip_head', 'POST', '/api/snapshot?skip_head=1&skip_head=0', undefined, 400, /skip_head is given more than once/],
  ['skip_head in query and form', 'POST', '/api/snapshot?skip_head=1', 'skip_head=0', 400, /more than once/],
  ['bad download_format', 'POST', '/api/snapshot', 'download_format=rar', 400, /download_format/],
  // keep_within
  ['word as keep_within', 'POST', '/api/prune?keep_within=forever', undefined, 400, /parameter keep_within: invalid duration/],
  ['negative keep_within', 'POST', '/api/prune?keep_within=-1h', undefined, 400, /must not be negative/],
  ['unknown unit', 'POST', '/api/prune?keep_within=1x', undefined, 400, /keep_within/],
  ['no unit', 'POST', '/api/prune?keep_within=90', undefined, 400, /missing unit/],
  ['huge keep_within', 'POST', '/api/prune?keep_within=99999999999999h', undefined, 400, /out of range/],
  ['repeated keep_within', 'POST', '/api/prune', 'keep_within=1h&keep_within=2h', 400, /more than once/],
  // download ids
  ['unknown id', 'GET', '/api/download_status?id=20200101T000000000Z-0000abcdef', undefined, 404, /no download with id/],
  ['empty id', 'GET', '/api/download_status?id=', undefined, 404, /parameter id is missing/],
  ['huge id', 'GET', `/api/download_status?id=${long.slice(0, 3000)}`, undefined, 404, /no download with id/],
  // methods, paths, sizes, bodies
  ['GET on a POST endpoint', 'GET', '/api/prune', undefined, 405, /GET is not allowed on \/api\/prune; use POST/],
  ['DELETE on download', 'DELETE', dl('name=SNAP'), undefined, 405, /use GET/],
  ['PUT on snapshot', 'PUT', '/api/snapshot', undefined, 405, /use DELETE or POST/],
  ['unknown path', 'GET', '/api/nothing', undefined, 404, /no such path/],
  ['oversized query string', 'GET', dl(`name=${long}`), undefined, 414, /longer than/],
  ['oversized body', 'POST', '/api/prune', `keep_within=${'1'.repeat(20_000)}h`, 413, /too large/],
  ['malformed form body', 'POST', '/api/prune', 'keep_within=%zz%', 400, /keep_within/],
];

describe('bad input', () => {
  it.each(matrix)('%s: %s %s → %i, named, nothing touched', async (_what, method, target, body, status, message) => {
    const before = [await fingerprint(prom.snapshotDir), await fingerprint(sentinel)];
    const headers: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' };
    const res = await raw(method, target.replace('SNAP', snapshot), { body, headers });
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json; charset=utf-8/);
    const json = JSON.parse(res.body) as { statusCode: number; message: string };
    expect(json.statusCode).toBe(status);
    expect(json.message).toMatch(message);
    // No internals: no stack frames, no filesystem paths of the server.
    expect(res.body).not.toMatch(/\bat \S+ \(|node_modules|\/tmp\/|\.ts:\d+/);
    expect([await fingerprint(prom.snapshotDir), await fingerprint(sentinel)]).toEqual(before);
  });

  it('names the allowed methods in an Allow header on 405', async () => {
    const res = await raw('GET', '/api/snapshot');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('DELETE, POST');
  });

  it('refuses a JSON body where a form is expected', async () => {
    const res = await raw('POST', '/api/prune', { body: '{"keep_within":"0s"}', headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(415);
    expect(JSON.parse(res.body).message).toMatch(/application\/x-www-form-urlencoded/);
  });

  it('takes an empty value as the default, as plain HTML forms send it', async () => {
    const res = await raw('POST', '/api/prune', { body: 'keep_within=', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(200);
    const download = await fetch(`${server.url}/api/download?name=${snapshot}&format=`);
    expect(download.headers.get('content-type')).toBe('application/x-tar');
    await download.arrayBuffer();
  });
});

describe('cross-site requests', () => {
  it.each([
    ['Origin from another site', { Origin: 'http://evil.example' }],
    ['Sec-Fetch-Site cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site same-site (another host of the domain)', { 'Sec-Fetch-Site': 'same-site' }],
    ['an opaque origin', { Origin: 'null' }],
  ])('a form post with %s is refused and prunes nothing', async (_what, headers) => {
    const old = path.join(prom.snapshotDir, '20200101T000000Z-crosssite');
    await fs.mkdir(old, { recursive: true });
    for (const target of ['/api/prune', '/prune', '/api/snapshot']) {
      const res = await raw('POST', target, { headers, body: '' });
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).message).toMatch(/cross-site/);
    }
    expect((await fs.stat(old)).isDirectory()).toBe(true);
    await fs.rm(old, { recursive: true });
  });

  it('lets the page itself and API clients post', async () => {
    const fromPage = await raw('POST', '/api/prune', { headers: { 'Sec-Fetch-Site': 'same-origin', Origin: server.url } });
    expect(fromPage.status).toBe(200);
    const apiClient = await raw('POST', '/api/prune');
    expect(apiClient.status).toBe(200);
  });

  it('sends no CORS headers, also to a preflight', async () => {
    const res = await raw('GET', '/api/snapshots', { headers: { Origin: 'http://evil.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await raw('OPTIONS', '/api/prune', {
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('puts security headers on the page', async () => {
    const res = await raw('GET', '/');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });
});
