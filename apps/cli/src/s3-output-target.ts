import { Errors } from '@oclif/core';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  MultipartArchiveUpload,
  type S3FlagValues,
  type S3Location,
  type S3Settings,
  SHA256_METADATA,
  checkBucket,
  checkKeyRoom,
  createS3Client,
  keyFor,
  objectExists,
  parseS3Url,
  partBytesFor,
  replaceMetadata,
  s3Settings,
  s3Url,
  writeChecksumObject,
} from './s3';

export interface S3Saved {
  /** KEY.sha256's URL; null with --no-checksum-file. */
  checksumFile: string | null;
  /** Whether the SHA-256 is in the object's metadata (x-amz-meta-sha256) too. */
  metadata: boolean;
  /** Why it is not, when adding it failed: the archive and KEY.sha256 are complete all the same. */
  warning?: string;
}

/**
 * --output s3://BUCKET/KEY or s3://BUCKET/PREFIX/ for create and download: the archive streams
 * into a multipart upload that is completed only once the download is verified, and aborted
 * otherwise. An existing key is refused unless --force: by a HEAD before anything is sent, and
 * by If-None-Match: * on the completion where the store honours it.
 */
export class S3OutputTarget {
  private upload?: MultipartArchiveUpload;
  private key?: string;

  private constructor(
    readonly location: S3Location,
    private readonly settings: S3Settings,
    private readonly client: S3Client,
  ) {}

  /** Checks --output, the --s3-* flags and the store (credentials, bucket, an existing key) before a snapshot is taken. */
  static async prepare(output: string, flags: S3FlagValues, force: boolean): Promise<S3OutputTarget> {
    let location: S3Location;
    let settings: S3Settings;
    try {
      location = parseS3Url(output);
      checkKeyRoom(location, output);
      settings = s3Settings(flags);
    } catch (err) {
      Errors.error(`--output: ${(err as Error).message}`, { exit: 2 });
    }
    const target = new S3OutputTarget(location, settings, createS3Client(settings));
    if (location.key !== undefined) await target.refuseExisting(location.key, force);
    else await target.orExit(checkBucket(target.client, location.bucket));
    return target;
  }

  /** The URL the archive named `fileName` goes to, checked once more now that its key is known. */
  async choose(fileName: string, force: boolean): Promise<string> {
    this.key = keyFor(this.location, fileName);
    const url = s3Url(this.location.bucket, this.key);
    // A snapshot name longer than usual may still not fit: refused before the upload starts.
    try {
      checkKeyRoom({ ...this.location, key: this.key }, url);
    } catch (err) {
      Errors.error((err as Error).message, { exit: 1 });
    }
    await this.refuseExisting(this.key, force);
    return url;
  }

  /** The Writable the archive goes into; its part size fits the snapshot's size when the server says it. */
  open(snapshotBytes?: number): MultipartArchiveUpload {
    this.upload = new MultipartArchiveUpload(this.client, { bucket: this.location.bucket, key: this.key!, write: this.settings.write }, partBytesFor(snapshotBytes));
    return this.upload;
  }

  /**
   * Makes the verified archive appear, then writes KEY.sha256 beside it, then (a multipart
   * archive) copies the object onto itself to put the SHA-256 in its metadata. That last step
   * failing leaves both in place and is a warning, never an error: the backup is good.
   */
  async commit(sha256: string, force: boolean, checksumFile: boolean): Promise<S3Saved> {
    const upload = this.upload!;
    const metadata = { [SHA256_METADATA]: sha256 };
    const completed = await upload.complete({ exclusive: !force, metadata });
    let saved: string | null = null;
    if (checksumFile) {
      try {
        saved = await writeChecksumObject(this.client, this.location.bucket, this.key!, sha256, this.settings.write);
      } catch (err) {
        throw new Error(`${upload.url} is verified and saved, but ${(err as Error).message}`);
      }
    }
    if (completed.metadata) return { checksumFile: saved, metadata: true };
    try {
      await replaceMetadata(this.client, { bucket: this.location.bucket, key: this.key!, etag: completed.etag, bytes: upload.bytes }, metadata, this.settings.write);
      return { checksumFile: saved, metadata: true };
    } catch (err) {
      const where = saved ? `its SHA-256 is in ${saved}` : 'it has no .sha256 (--no-checksum-file)';
      return { checksumFile: saved, metadata: false, warning: `${upload.url} is verified and saved, and ${where}, but x-amz-meta-sha256 could not be added (copying the object onto itself with new metadata): ${(err as Error).message}` };
    }
  }

  /** Aborts an upload that was not completed; returns what went wrong doing so, if anything did. */
  async discard(): Promise<string | undefined> {
    try {
      await this.upload?.abort();
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Why sending failed, if it did (rather than the download's echo of it). */
  get failure(): Error | undefined {
    return this.upload?.failure;
  }

  private async refuseExisting(key: string, force: boolean): Promise<void> {
    if (force) return;
    const url = s3Url(this.location.bucket, key);
    if (await this.orExit(objectExists(this.client, this.location.bucket, key))) Errors.error(`${url} already exists; not overwriting it (use --force)`, { exit: 1 });
  }

  private async orExit<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      Errors.error((err as Error).message, { exit: 1 });
    }
  }
}
