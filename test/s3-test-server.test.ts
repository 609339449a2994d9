// The S3 server the s3:// tests run against, and what it does and does not enforce.
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3TestServer, startS3Server } from './support/radosgw';

let s3: S3TestServer;

beforeAll(async () => {
  s3 = await startS3Server();
});

afterAll(async () => {
  await s3?.stop();
});

describe('the RADOS Gateway test server', () => {
  it('starts in well under five minutes', () => {
    expect(s3.startSeconds).toBeLessThan(300);
  });

  it('refuses PutObject with If-None-Match: * onto an existing key', async () => {
    const bucket = await s3.createBucket();
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'first', IfNoneMatch: '*' }));
    await expect(s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'second', IfNoneMatch: '*' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    expect((await s3.get(bucket, 'k')).toString()).toBe('first');
  });

  // Ceph 16 (Debian 12) ignores If-None-Match on CompleteMultipartUpload: the CLI checks with a
  // HEAD as well. Should a newer gateway honour it, this test says so.
  it('ignores If-None-Match: * on CompleteMultipartUpload', async () => {
    const bucket = await s3.createBucket();
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'first' }));
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k' }));
    const part = await s3.client.send(new UploadPartCommand({ Bucket: bucket, Key: 'k', UploadId, PartNumber: 1, Body: 'second' }));
    await s3.client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'k', UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
    );
    expect((await s3.get(bucket, 'k')).toString()).toBe('second');
  });

  it('knows the test KMS key and a second storage class', async () => {
    const bucket = await s3.createBucket();
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: s3.kmsKeyId }));
    expect(await s3.head(bucket, 'kms')).toMatchObject({ sse: 'aws:kms', kmsKeyId: s3.kmsKeyId });
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'ia', Body: 'x', StorageClass: 'STANDARD_IA' }));
    expect(await s3.head(bucket, 'ia')).toMatchObject({ storageClass: s3.otherStorageClass });
  });
});
