import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { describeS3Failure, s3Status } from './s3-errors';
import { s3Url } from './s3-location';
import type { S3WriteOptions } from './s3-settings';

const MiB = 1024 * 1024;
/** Part size unless the archive is expected to be so large that 9,000 parts would not hold it. */
export const PART_BYTES = 8 * MiB;
/** Parts being sent at once; with the one being filled, memory holds at most QUEUE_PARTS + 1 parts. */
export const QUEUE_PARTS = 3;
const MAX_PARTS = 10_000;

/** A part size that fits `expectedBytes`, and a tenth more, in 9,000 parts: 8 MiB up to about 65 GiB. */
export function partBytesFor(expectedBytes?: number): number {
  if (!expectedBytes) return PART_BYTES;
  return Math.max(PART_BYTES, Math.ceil((expectedBytes * 1.1) / 9000 / MiB) * MiB);
}

export interface UploadTarget {
  bucket: string;
  key: string;
  write: S3WriteOptions;
}

export interface Completion {
  /** Refuse to replace an object already at the key (If-None-Match: *, where the store honours it). */
  exclusive: boolean;
  /**
   * Put into the object's metadata (x-amz-meta-*) when it is written in one request. A multipart
   * upload's metadata is fixed when it starts, before the archive's SHA-256 is known: the caller
   * adds it afterwards (replaceMetadata), with the ETag returned here.
   */
  metadata: Record<string, string>;
}

/**
 * A Writable that sends what is written to an S3 key as a multipart upload, QUEUE_PARTS parts at a
 * time, and holds the completion back: the object appears only when complete() is called, and
 * abort() leaves neither an object nor a pending upload. An archive that fits in one part is kept
 * in memory and written with one PutObject at completion instead.
 */
export class MultipartArchiveUpload extends Writable {
  /** Bytes written so far. */
  bytes = 0;
  private readonly cancel = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly parts: Array<{ PartNumber: number; ETag: string }> = [];
  private readonly spare: Buffer[] = [];
  private part?: Buffer;
  private fill = 0;
  private partNumber = 0;
  private creating?: Promise<string>;
  private uploadId?: string;
  /** Why sending failed, if it did: what a caller reports rather than the pipeline's echo of it. */
  failure?: Error;
  private aborting?: Promise<void>;
  private state: 'open' | 'completing' | 'completed' | 'aborted' = 'open';

  constructor(
    private readonly client: S3Client,
    readonly target: UploadTarget,
    readonly partBytes = PART_BYTES,
    private readonly queue = QUEUE_PARTS,
  ) {
    super();
  }

  get url(): string {
    return s3Url(this.target.bucket, this.target.key);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk).then(() => callback(), (err: Error) => callback((this.failure ??= err)));
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Nothing sent yet: the archive fits in one part, written by complete() with its metadata;
    // it is kept at its own size, as many small uploads may wait for completion at once.
    if (this.partNumber === 0) {
      if (this.part && this.fill < this.part.length) this.part = Buffer.from(this.part.subarray(0, this.fill));
      return callback();
    }
    const last = this.fill > 0 ? this.send() : Promise.resolve();
    last
      .then(() => this.settled())
      .then(() => {
        this.spare.length = 0; // no more parts: let their buffers go while completion waits
        callback(this.failure);
      }, (err: Error) => callback((this.failure ??= err)));
  }

  private async take(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; ) {
      this.part ??= this.spare.pop() ?? Buffer.allocUnsafeSlow(this.partBytes);
      const copied = chunk.copy(this.part, this.fill, offset);
      offset += copied;
      this.fill += copied;
      this.bytes += copied;
      if (this.fill === this.partBytes) await this.send();
    }
  }

  /** Sends the part being filled; returns once fewer than `queue` parts are on their way. */
  private async send(): Promise<void> {
    if (this.failure) throw this.failure;
    const buffer = this.part!;
    const length = this.fill;
    this.part = undefined;
    this.fill = 0;
    const partNumber = ++this.partNumber;
    if (partNumber > MAX_PARTS) throw new Error(`the archive needs more than S3's ${MAX_PARTS} parts of ${this.partBytes / MiB} MiB`);
    const uploadId = await this.created();
    const sent = this.client
      .send(
        new UploadPartCommand({ Bucket: this.target.bucket, Key: this.target.key, UploadId: uploadId, PartNumber: partNumber, Body: buffer.subarray(0, length), ContentLength: length }),
        { abortSignal: this.cancel.signal },
      )
      .then(
        (answer) => {
          this.parts.push({ PartNumber: partNumber, ETag: answer.ETag! });
          this.spare.push(buffer);
        },
        (err: unknown) => {
          this.failure ??= new Error(`uploading part ${partNumber} of ${this.url} failed: ${describeS3Failure(err)}`);
        },
      )
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
    while (this.inFlight.size >= this.queue) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  /** Starts the multipart upload on the first part; never cancelled, so that its id is always known for the abort. */
  private created(): Promise<string> {
    this.creating ??= this.client
      .send(new CreateMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.target.key, ...this.target.write }))
      .then((answer) => (this.uploadId = answer.UploadId!))
      .catch((err: unknown) => {
        throw new Error(`starting the upload to ${this.url} failed: ${describeS3Failure(err)}`);
      });
    return this.creating;
  }

  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
  }

  /**
   * Makes the object appear, once everything written has been sent (after 'finish'). Returns
   * whether `metadata` reached the object (only an archive that fit in one part) and the object's
   * ETag. Aborts the upload if completing fails.
   */
  async complete({ exclusive, metadata }: Completion): Promise<{ metadata: boolean; etag: string }> {
    if (this.state !== 'open' || !this.writableFinished) throw new Error(`the upload to ${this.url} cannot be completed: it is ${this.writableFinished ? this.state : 'not finished'}`);
    this.state = 'completing';
    const { bucket, key, write } = this.target;
    const ifNoneMatch = exclusive ? '*' : undefined;
    try {
      if (this.partNumber === 0) {
        const body = this.part?.subarray(0, this.fill) ?? Buffer.alloc(0);
        const put = await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ...write, Metadata: metadata, IfNoneMatch: ifNoneMatch }));
        this.state = 'completed';
        return { metadata: true, etag: put.ETag! };
      }
      const parts = [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber);
      const done = await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: this.uploadId, IfNoneMatch: ifNoneMatch, MultipartUpload: { Parts: parts } }),
      );
      this.state = 'completed';
      // Ceph RGW 16 answers with an empty ETag: the one S3 gives a multipart object instead
      // (MD5 of the parts' MD5s, then the part count), which a HEAD then shows.
      return { metadata: false, etag: done.ETag || multipartEtag(parts.map((p) => p.ETag)) };
    } catch (err) {
      const failure = s3Status(err) === 412 ? new Error(`${this.url} already exists; not overwriting it (use --force)`) : new Error(`completing the upload to ${this.url} failed: ${describeS3Failure(err)}`);
      this.state = 'open';
      await this.abort().catch((abortErr: Error) => (failure.message += `; ${abortErr.message}`));
      throw failure;
    }
  }

  /**
   * Stops sending and aborts the multipart upload, so that no object and no pending upload is
   * left; a no-op once completed. Throws if the store could not be told, naming the upload. Every
   * call waits for the same abort.
   */
  abort(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'aborted';
      this.aborting = this.abortNow();
    }
    return this.aborting ?? Promise.resolve();
  }

  private async abortNow(): Promise<void> {
    this.cancel.abort();
    if (!this.destroyed) this.destroy();
    await this.settled();
    const uploadId = await this.creating?.catch(() => undefined);
    if (!uploadId) return;
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.target.key, UploadId: uploadId }));
    } catch (err) {
      if (s3Status(err) === 404) return; // NoSuchUpload: already gone
      throw new Error(
        `the pending multipart upload ${uploadId} of ${this.url} could not be aborted (${describeS3Failure(err)}); ` +
          `remove it with \`aws s3api abort-multipart-upload --bucket ${this.target.bucket} --key ${this.target.key} --upload-id ${uploadId}\`, or let a lifecycle rule (AbortIncompleteMultipartUpload) do it`,
      );
    }
  }
}

/** The ETag S3 stores send for a multipart object: the MD5 of the parts' binary MD5s, a dash, the part count. */
export function multipartEtag(partEtags: string[]): string {
  const md5 = createHash('md5');
  for (const etag of partEtags) md5.update(Buffer.from(etag.replace(/"/g, ''), 'hex'));
  return `"${md5.digest('hex')}-${partEtags.length}"`;
}
