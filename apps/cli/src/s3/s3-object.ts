import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { checksumFileFor, checksumLine, parseChecksumLine } from '../checksum-file';
import { describeS3Failure, s3Status } from './s3-errors';
import { s3Url } from './s3-location';
import type { S3WriteOptions } from './s3-settings';

/** The metadata key (x-amz-meta-sha256) that holds an archive's SHA-256. */
export const SHA256_METADATA = 'sha256';

/** CopyObject's limit: a larger object is copied onto itself in parts (UploadPartCopy). */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

/** Where the copy switches to parts, and their size (a part may be up to 5 GiB, 10,000 of them). */
export interface CopyLimits {
  single: number;
  part: number;
}
const COPY_LIMITS: CopyLimits = { single: MAX_COPY_BYTES, part: 1024 ** 3 };

/**
 * Sets an object's metadata after it was written, by copying it onto itself with the new metadata
 * (what AWS documents for changing metadata), inside the store: the object is swapped whole, so a
 * reader sees the old or the new one, never a mix. CopySourceIfMatch makes it copy only the object
 * this run completed; storage class and encryption are given again, as a copy resets them. Over
 * 5 GiB the copy is a multipart upload onto the same key, aborted on any failure. Throws a clear
 * Error; the object is left as it was.
 */
export async function replaceMetadata(
  client: S3Client,
  target: { bucket: string; key: string; etag: string; bytes: number },
  metadata: Record<string, string>,
  write: S3WriteOptions,
  limits: CopyLimits = COPY_LIMITS,
): Promise<void> {
  const { bucket, key, etag, bytes } = target;
  const source = { CopySource: `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`, CopySourceIfMatch: etag };
  try {
    // Checked first as well: Ceph RGW 16 ignores CopySourceIfMatch (AWS honours it), and the copy
    // must not put this archive's hash on an object someone wrote over it meanwhile.
    const now = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (now.ETag !== etag) throw new Error(`the object changed since it was written (ETag ${now.ETag}, not ${etag}); its metadata was left as it is`);
    if (bytes <= limits.single) {
      await client.send(new CopyObjectCommand({ Bucket: bucket, Key: key, ...source, MetadataDirective: 'REPLACE', Metadata: metadata, ...write }));
      return;
    }
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: metadata, ...write }));
    try {
      const parts: { PartNumber: number; ETag?: string }[] = [];
      const partBytes = Math.max(limits.part, Math.ceil(bytes / 10_000));
      for (let start = 0; start < bytes; start += partBytes) {
        const PartNumber = parts.length + 1;
        const range = `bytes=${start}-${Math.min(start + partBytes, bytes) - 1}`;
        const { CopyPartResult } = await client.send(new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, ...source, CopySourceRange: range }));
        parts.push({ PartNumber, ETag: CopyPartResult?.ETag });
      }
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      // Nothing half-copied stays behind: the object at the key is still the one that was written.
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
      throw err;
    }
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
