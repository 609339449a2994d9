// Odd lock objects on an s3:// sync prefix, against Ceph's RADOS Gateway: an empty one, a huge
// one, a "folder" of that name, and two forgets at once. Each is refused or taken plainly.
import fs from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/processes';
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
