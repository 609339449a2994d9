import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BlockStaging } from '../restore/block-staging';
import { type RestoreSource, type SourceListing, listWithHashes } from '../restore/restore-source';
import { describeS3Failure, readChecksumObject, s3Status, s3Url } from '../s3';
import { type ArchiveListing, ArchiveError, type ReadOptions, SNIFF_BYTES, detectCompression, readBlockArchive } from '../tsdb';

/**
 * An archive object that create wrote, read as a stream twice (check, then write), as a file is:
 * the second read asks for the same ETag, so an object replaced in between is noticed.
 */
export class S3ArchiveSource implements RestoreSource {
  readonly archive = true;
  readonly path: string;
  private etag?: string;
  private sequence: string[] = [];

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
  ) {
    this.path = s3Url(bucket, key);
  }

  checksum(): Promise<string | undefined> {
    return readChecksumObject(this.client, this.bucket, this.key);
  }

  private async open(signal: AbortSignal, range?: string): Promise<{ body: Readable; etag?: string }> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: range, IfMatch: this.etag }), { abortSignal: signal });
      return { body: answer.Body as Readable, etag: answer.ETag };
    } catch (err) {
      if (s3Status(err) === 412) throw this.changed();
      if (s3Status(err) === 404) throw new Error(`${this.path} does not exist`);
      throw new Error(`cannot read ${this.path}: ${describeS3Failure(err)}`);
    }
  }

  private changed(): Error {
    return new Error(`${this.path} changed since it was checked; nothing more is restored from it`);
  }

  private async read(signal: AbortSignal, options: ReadOptions): Promise<ArchiveListing> {
    const { body } = await this.open(signal);
    try {
      return await readBlockArchive(body, options);
    } catch (err) {
      throw err instanceof ArchiveError ? new ArchiveError(`${this.path}: ${err.message}`) : err;
    }
  }

  async list(hashBlocks: Set<string>, sha256: boolean, signal: AbortSignal) {
    this.etag = undefined;
    this.sequence = [];
    const head = await this.open(signal, `bytes=0-${SNIFF_BYTES - 1}`);
    this.etag = head.etag;
    const first = Buffer.from(await (head.body as Readable & { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    let compression;
    try {
      compression = detectCompression(first);
    } catch (err) {
      throw new ArchiveError(`${this.path}: ${(err as Error).message}`);
    }
    return listWithHashes(compression, hashBlocks, sha256, (options) => this.read(signal, options), (file) => this.sequence.push(`${file.ulid}/${file.path}:${file.size}`));
  }

  async copy(listing: SourceListing, chosen: Set<string>, staging: BlockStaging, signal: AbortSignal): Promise<void> {
    const counts = new Map(listing.blocks.map((b) => [b.ulid, b.files.length]));
    let index = 0;
    await this.read(signal, {
      compression: listing.compression!,
      onFile: async (file, body) => {
        if (this.sequence[index++] !== `${file.ulid}/${file.path}:${file.size}`) throw this.changed();
        if (chosen.has(file.ulid)) await staging.write(file.ulid, counts.get(file.ulid)!, file.path, body, file.mtimeMs);
      },
    });
    if (index !== this.sequence.length) throw this.changed();
  }
}
