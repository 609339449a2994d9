// Odd lock objects on an s3:// sync prefix, against Ceph's RADOS Gateway: an empty one, a huge
// one, a "folder" of that name, and two forgets at once. Each is refused or taken plainly.
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, runCli } from './support/processes';
import { type S3TestServer, startS3Server } from './support/radosgw';

const LOCK = '.prombackup-sync.lock';
let s3: S3TestServer;
let bucket: string;

beforeAll(async () => {
  s3 = await startS3Server();
  bucket = await s3.createBucket();
}, 240_000);

afterAll(async () => {
  await s3?.stop();
});

const run = (args: string[]) => runCli(args, { env: s3.env() });
const flat = (stderr: string) => stderr.replace(/\s*\n\s*(›\s*)?/g, ' ');
const put = (key: string, body: string | Buffer) => s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

describe('odd lock objects on an s3:// prefix', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['huge', Buffer.alloc(200_000, 'x')],
    ['json-null', 'null'],
    ['json-array', '[1,2]'],
    ['wrong-format', JSON.stringify({ format: 'prombackup-sync-lock/2', token: 't' })],
  ])('a %s lock object is reported as not a lock, and --break-lock takes it over', async (name, body) => {
    await put(`${name}/${LOCK}`, body);
    const held = await run(['forget', `s3://${bucket}/${name}`, '--keep-last', '1']);
    expect(flat(held.stderr)).toContain('is locked by an object that is not a prombackup lock');
    expect(held.code).toBe(1);
    const forced = await run(['forget', `s3://${bucket}/${name}`, '--keep-last', '1', '--break-lock']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await s3.keys(bucket, `${name}/${LOCK}`)).toEqual([]);
  });

  it('a "folder" named like the lock does not stand in for it, and is left alone', async () => {
    await put(`folder/${LOCK}/`, Buffer.alloc(0));
    await put(`folder/${LOCK}/inside`, 'x');
    const result = await run(['forget', `s3://${bucket}/folder`, '--keep-last', '1']);
    expect(result.code, result.stderr).toBe(0);
    expect(await s3.keys(bucket, 'folder/')).toEqual([`folder/${LOCK}/`, `folder/${LOCK}/inside`]);
  });

  it('two forgets at once: at least one completes, a refused one says who holds it, no lock is left', async () => {
    const results = await Promise.all([0, 1, 2].map(() => run(['forget', `s3://${bucket}/twice`, '--keep-last', '1'])));
    for (const r of results) {
      if (r.code !== 0) {
        expect(r.code).toBe(1);
        expect(flat(r.stderr)).toMatch(/is locked by forget \(pid \d+/);
      }
    }
    expect(results.some((r) => r.code === 0)).toBe(true);
    expect(await s3.keys(bucket, `twice/${LOCK}`)).toEqual([]);
  });

  it('forget --dry-run reads while another run holds the lock, and leaves that lock alone', async () => {
    const other = { format: 'prombackup-sync-lock/1', command: 'sync', host: 'h', pid: 3, started_at: new Date().toISOString(), renewed_at: new Date().toISOString(), token: 'held' };
    await put(`dry/${LOCK}`, JSON.stringify(other));
    const result = await run(['forget', `s3://${bucket}/dry`, '--keep-last', '1', '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse((await s3.get(bucket, `dry/${LOCK}`)).toString())).toEqual(other);
  });
});

/**
 * A proxy to the store that holds the first read of `key` after it was written (the lock's
 * read-back in acquire) until release() is called: a run is then inside acquire, lock created.
 */
async function holdingProxy(target: string, key: string) {
  let written = false;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let held!: () => void;
  const holding = new Promise<void>((r) => (held = r));
  const server = http.createServer((req, res) => {
    const forward = () => {
      const up = http.request(new URL(req.url!, target), { method: req.method, headers: req.headers }, (answer) => {
        if (req.method === 'PUT' && req.url!.includes(key) && answer.statusCode === 200) written = true;
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (written && req.method === 'GET' && req.url!.includes(key)) {
      written = false;
      held();
      void released.then(forward);
    } else forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, holding, release, close: () => new Promise((r) => server.close(r)) };
}

describe('a signal while the lock is being taken', () => {
  it.each([
    ['forget', ['--keep-last', '1']],
    ['sync', ['--server', 'http://127.0.0.1:9']],
  ])('SIGTERM to %s inside acquire, after its lock was written: it exits 143 and leaves no lock behind', async (command, extra) => {
    const prefix = `signal-${command}`;
    const proxy = await holdingProxy(s3.endpoint, encodeURIComponent(LOCK).replace(/%2F/g, '/'));
    try {
      let stderr = '';
      const child = spawn(process.execPath, [CLI_BIN, command, `s3://${bucket}/${prefix}`, ...extra], { env: { ...process.env, ...s3.env(), AWS_ENDPOINT_URL: proxy.url, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
      await proxy.holding;
      expect(await s3.keys(bucket, `${prefix}/`)).toEqual([`${prefix}/${LOCK}`]);
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      proxy.release();
      expect(await exited, stderr).toBe(143);
      expect(await s3.keys(bucket, `${prefix}/`)).toEqual([]);
    } finally {
      proxy.release();
      await proxy.close();
    }
  });
});
