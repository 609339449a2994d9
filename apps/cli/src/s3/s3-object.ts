import type { Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { checksumFileFor, checksumLine, parseChecksumLine } from '../checksum-file';
import { describeS3Failure, s3Status } from './s3-errors';
import { s3Url } from './s3-location';
import type { S3WriteOptions } from './s3-settings';

/** The metadata key (x-amz-meta-sha256) that holds an archive's SHA-256. */
export const SHA256_METADATA = 'sha256';

/** CopyObject's limit: a larger object cannot be copied onto itself in one request. */
export const MAX_COPY_BYTES = 5 * 1024 ** 3;

/**
 * Sets an object's metadata after it was written, by copying it onto itself with
 * MetadataDirective REPLACE (what AWS documents for changing metadata): the store swaps the object
 * whole, so a reader sees the old or the new one, never a mix. CopySourceIfMatch makes it copy only
 * the object this run completed; storage class and encryption are given again, as a copy resets
 * them. Throws a clear Error; the object is left as it was.
 */
export async function replaceMetadata(client: S3Client, target: { bucket: string; key: string; etag: string; bytes: number }, metadata: Record<string, string>, write: S3WriteOptions): Promise<void> {
  const { bucket, key, etag, bytes } = target;
  if (bytes > MAX_COPY_BYTES) throw new Error(`it is larger than the 5 GiB one CopyObject can copy`);
  try {
    await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key,
        CopySource: `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
        CopySourceIfMatch: etag,
        MetadataDirective: 'REPLACE',
        Metadata: metadata,
        ...write,
      }),
    );
  } catch (err) {
    throw new Error(describeS3Failure(err));
  }
}

/** Throws a clear Error unless the bucket exists and the credentials may use it. */
export async function checkBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (s3Status(err) === 404) throw new Error(`bucket ${bucket} does not exist`);
    throw new Error(`cannot use bucket ${bucket}: ${describeS3Failure(err)}`);
  }
}

/** Whether an object is at `key`; throws a clear Error if the store cannot say (credentials, no bucket, unreachable). */
export async function objectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if (s3Status(err) === 404 && (err as Error).name !== 'NoSuchBucket') return false;
    throw new Error(`cannot look at ${s3Url(bucket, key)}: ${describeS3Failure(err)}`);
  }
}

export interface OpenedObject {
  body: Readable;
  bytes: number;
  /** The SHA-256 in the object's metadata, if it has one. */
  sha256?: string;
}

/** Opens an object for reading as a stream (for verify and restore). */
export async function openObject(client: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<OpenedObject> {
  try {
    const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return { body: answer.Body as Readable, bytes: answer.ContentLength ?? 0, sha256: answer.Metadata?.[SHA256_METADATA] };
  } catch (err) {
    if (s3Status(err) === 404) throw new Error(`${s3Url(bucket, key)} does not exist`);
    throw new Error(`cannot read ${s3Url(bucket, key)}: ${describeS3Failure(err)}`);
  }
}

/** The SHA-256 that KEY.sha256 records for KEY; undefined when there is no such object. Throws if it is not a checksum for KEY. */
export async function readChecksumObject(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
  const checksumKey = checksumFileFor(key);
  let text: string;
  try {
    const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: checksumKey, Range: 'bytes=0-4095' }));
    text = await answer.Body!.transformToString();
  } catch (err) {
    if (s3Status(err) === 404) return undefined;
    throw new Error(`cannot read ${s3Url(bucket, checksumKey)}: ${describeS3Failure(err)}`);
  }
  const line = parseChecksumLine(text);
  const name = key.slice(key.lastIndexOf('/') + 1);
  if (!line || line.name !== name) throw new Error(`${s3Url(bucket, checksumKey)} is not a SHA-256 line for ${name}`);
  return line.sha256;
}

/**
 * Writes KEY.sha256 beside KEY, in the same format as a FILE.sha256, encrypted as the archive is; in
 * the default storage class, so it stays readable when the archive goes to an archival one.
 */
export async function writeChecksumObject(client: S3Client, bucket: string, key: string, sha256: string, write: S3WriteOptions): Promise<string> {
  const checksumKey = checksumFileFor(key);
  const body = checksumLine(key.slice(key.lastIndexOf('/') + 1), sha256);
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: checksumKey, Body: body, ContentType: 'text/plain; charset=utf-8', ServerSideEncryption: write.ServerSideEncryption, SSEKMSKeyId: write.SSEKMSKeyId }));
  } catch (err) {
    throw new Error(`cannot write ${s3Url(bucket, checksumKey)}: ${describeS3Failure(err)}`);
  }
  return s3Url(bucket, checksumKey);
}
