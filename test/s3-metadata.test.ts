// x-amz-meta-sha256 on multipart archives: added after completion by copying the object onto
// itself with new metadata. Against a Ceph RADOS Gateway without default encryption (Ceph before
// 20 cannot copy encrypted objects; s3-create.test.ts covers that refusal, which leaves a warning).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFolder, makeLargeSnapshot, readArchive, sha256 } from './support/archive';
import { type FakePrometheus, GOOD_NAME, startFakePrometheus } from './support/fake-prometheus';
import { type ServerProcess, runCli, startServer } from './support/processes';
import { type S3TestServer, startS3Server } from './support/radosgw';
import { replaceMetadata } from '../apps/cli/src/s3';

const MiB = 1024 * 1024;
let s3: S3TestServer;
let fake: FakePrometheus;
let largeDir: string;
let large: ServerProcess;

beforeAll(async () => {
  largeDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-s3meta-snap-'));
  // 20 MiB of snapshot: archives of three 8 MiB parts.
  [s3] = await Promise.all([startS3Server({ defaultEncryption: false }), makeLargeSnapshot(largeDir, GOOD_NAME, 20)]);
  fake = await startFakePrometheus('good');
  large = await startServer(['-prometheus_endpoint', fake.url, '-snapshot_dir', largeDir]);
}, 240_000);

afterAll(async () => {
  await Promise.all([large?.stop(), fake?.close(), s3?.stop()]);
  if (largeDir) await fs.rm(largeDir, { recursive: true, force: true });
});

const create = (output: string, more: string[] = []) => runCli(['create', '--server', large.url, '--output', output, '--keep-snapshot', '--json', ...more], { env: s3.env() });

describe('x-amz-meta-sha256 on a multipart archive', () => {
  it('is added after completion; the object, its ETag, storage class and KEY.sha256 stay as written', async () => {
    const bucket = await s3.createBucket();
    const result = await create(`s3://${bucket}/prom/`, ['--format', 'tar', '--s3-storage-class', s3.otherStorageClass]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/warning/);
    const saved = JSON.parse(result.stdout.toString());
    expect(saved).toMatchObject({ sha256_metadata: true, checksum_file: `${saved.path}.sha256` });
    expect(saved.bytes).toBeGreaterThan(16 * MiB);
    const key = saved.path.slice(`s3://${bucket}/`.length);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.Metadata).toEqual({ sha256: saved.sha256 });
    expect(head.StorageClass).toBe(s3.otherStorageClass);
    // Still the multipart object that was completed (its ETag says so), byte for byte.
    expect(head.ETag).toMatch(/-3"$/);
    const data = await s3.get(bucket, key);
    expect(sha256(data)).toBe(saved.sha256);
    expect(await readArchive(data, 'tar')).toEqual(await describeFolder(path.join(largeDir, GOOD_NAME)));
    expect((await s3.get(bucket, `${key}.sha256`)).toString()).toBe(`${saved.sha256}  ${path.basename(key)}\n`);
    expect(await s3.pendingUploads(bucket)).toEqual([]);
  });

  it('works for a key with spaces, unicode, ? and # (the copy source is URL-encoded), and with --no-checksum-file', async () => {
    const bucket = await s3.createBucket();
    const key = 'my backups/prométhéus/a?b#c.tar.zst';
    const result = await create(`s3://${bucket}/${key}`, ['--format', 'tzst', '--no-checksum-file']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.toString())).toMatchObject({ sha256_metadata: true, checksum_file: null });
    expect(await s3.keys(bucket)).toEqual([key]);
    const data = await s3.get(bucket, key);
    expect((await s3.head(bucket, key)).metadata).toEqual({ sha256: sha256(data) });
  });
});

// Over CopyObject's 5 GiB the copy goes in parts (UploadPartCopy). A 5 GiB object does not fit
// the test cluster, so the limits are lowered: a 13 MiB object copied in parts of 5 MiB, the
// store's smallest.
describe('x-amz-meta-sha256 on an object over the single-copy limit', () => {
  const limits = { single: 5 * MiB, part: 5 * MiB };
  const put = async (bucket: string, key: string, body: Buffer) => {
    const { ETag } = await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    return ETag!;
  };

  it('copies it onto itself in parts with the new metadata: the same bytes, no pending upload', async () => {
    const bucket = await s3.createBucket();
    const body = randomBytes(13 * MiB);
    const key = 'big/archive é.tar';
    const etag = await put(bucket, key, body);
    await replaceMetadata(s3.client, { bucket, key, etag, bytes: body.length }, { sha256: sha256(body) }, {}, limits);
    expect((await s3.head(bucket, key)).metadata).toEqual({ sha256: sha256(body) });
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    // A multipart object of three parts (5 + 5 + 3 MiB), byte for byte the one written.
    expect(head.ETag).toMatch(/-3"$/);
    expect((await s3.get(bucket, key)).equals(body)).toBe(true);
    expect(await s3.pendingUploads(bucket)).toEqual([]);
  });

  it.each([['in one copy', { single: 64 * MiB, part: 5 * MiB }], ['in parts', limits]])('changes nothing when the object at the key is no longer the one written (ETag), %s', async (_how, limits) => {
    const bucket = await s3.createBucket();
    const key = 'big/replaced.tar';
    const first = randomBytes(11 * MiB);
    const etag = await put(bucket, key, first);
    const second = randomBytes(11 * MiB);
    await put(bucket, key, second);
    await expect(replaceMetadata(s3.client, { bucket, key, etag, bytes: first.length }, { sha256: sha256(first) }, {}, limits)).rejects.toThrow(/changed since it was written/);
    expect((await s3.head(bucket, key)).metadata).toEqual({});
    expect((await s3.get(bucket, key)).equals(second)).toBe(true);
    expect(await s3.pendingUploads(bucket)).toEqual([]);
  });
});
