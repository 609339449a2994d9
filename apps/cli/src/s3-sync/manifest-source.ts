import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { BlockStaging } from '../restore/block-staging';
import type { RestoreSource, SourceListing } from '../restore/restore-source';
import { describeS3Failure } from '../s3';
import { type ArchivedBlock, ArchiveError, MAX_META_BYTES, parseBlockMeta } from '../tsdb';
import { BLOCKS_DIR, type StoredFile, type SyncManifest } from './bucket-layout';
import type { SyncBucket } from './sync-bucket';

/**
 * The blocks one sync manifest names, read from their objects. Listing reads every object and checks
 * its size and SHA-256 (and parses each meta.json), so nothing is written before all passed; copying
 * reads them again into the restore's staging and fails a block, before it is put in place, if a
 * file's bytes no longer hash to the manifest's SHA-256.
 */
export class ManifestSource implements RestoreSource {
  readonly archive = false;
  readonly path: string;

  constructor(
    private readonly bucket: SyncBucket,
    readonly manifestKey: string,
    private readonly manifest: SyncManifest,
  ) {
    this.path = bucket.url(manifestKey);
  }

  async list(hashBlocks: Set<string>, _sha256: boolean, signal: AbortSignal) {
    const sizes = new Map((await this.bucket.list(BLOCKS_DIR)).map((o) => [o.key, o.size]));
    const blocks: ArchivedBlock[] = [];
    const hashes = new Map<string, Map<string, string>>();
    for (const block of this.manifest.blocks) {
      signal.throwIfAborted();
      for (const file of block.files) {
        const size = sizes.get(this.bucket.prefix + file.key);
        if (size === undefined) throw new ArchiveError(`${this.path} names ${this.url(file)}, which is missing`);
        if (size !== file.size) throw new ArchiveError(`${this.url(file)} has ${size} bytes, ${this.path} says ${file.size}`);
      }
      const metaFile = block.files.find((f) => f.path === 'meta.json')!;
      if (metaFile.size > MAX_META_BYTES) throw new ArchiveError(`${this.url(metaFile)} is larger than any meta.json`);
      let metaJson = Buffer.alloc(0);
      for (const file of block.files) {
        const chunks: Buffer[] = [];
        await pipeline(await this.open(file, signal), checking(file, this.url(file)), async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) if (file === metaFile) chunks.push(chunk);
        });
        if (file === metaFile) metaJson = Buffer.concat(chunks);
      }
      let meta;
      try {
        meta = parseBlockMeta(metaJson, block.ulid);
      } catch (err) {
        throw new ArchiveError(`${this.url(metaFile)}: ${(err as Error).message}`);
      }
      blocks.push({ ulid: block.ulid, meta, metaJson, files: block.files.map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtime_ms })), bytes: block.bytes });
      if (hashBlocks.has(block.ulid)) hashes.set(block.ulid, new Map(block.files.map((f) => [f.path, f.sha256])));
    }
    const listing: SourceListing = { blocks, skipped: [], bytes: blocks.reduce((s, b) => s + b.bytes, 0) };
    return { listing, hashes };
  }

  async copy(listing: SourceListing, chosen: Set<string>, staging: BlockStaging, signal: AbortSignal): Promise<void> {
    for (const block of this.manifest.blocks.filter((b) => chosen.has(b.ulid))) {
      for (const file of block.files) {
        const body = await this.open(file, signal);
        await staging.write(block.ulid, block.files.length, file.path, this.checked(body, file), file.mtime_ms);
      }
    }
  }

  /**
   * The object's bytes, checked as the write pulls them. Nothing flows before that: a small object
   * piped at once failed its check while staging still made the block's folder, with no listener, and
   * the uncaught error ended the process before the folder could be removed.
   */
  private checked(body: Readable, file: StoredFile): Readable {
    const url = this.url(file);
    return Readable.from(
      (async function* () {
        const check = checking(file, url);
        body.once('error', (err) => check.destroy(err));
        yield* body.pipe(check);
      })(),
      { objectMode: false },
    );
  }

  private url(file: StoredFile): string {
    return this.bucket.url(this.bucket.prefix + file.key);
  }

  private async open(file: StoredFile, signal: AbortSignal): Promise<Readable> {
    try {
      const answer = await this.bucket.client.send(new GetObjectCommand({ Bucket: this.bucket.bucket, Key: this.bucket.prefix + file.key }), { abortSignal: signal });
      return answer.Body as Readable;
    } catch (err) {
      throw new Error(`cannot read ${this.url(file)}: ${describeS3Failure(err)}`);
    }
  }
}

/** Passes a file's bytes on and fails at the end unless they are as many as, and hash to, what the manifest says. */
export function checking(file: StoredFile, url: string): Transform {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      const got = hash.digest('hex');
      if (bytes !== file.size) done(new ArchiveError(`${url} has ${bytes} bytes, the manifest says ${file.size}`));
      else if (got !== file.sha256) done(new ArchiveError(`${url}: SHA-256 mismatch: its bytes hash to ${got}, the manifest says ${file.sha256}`));
      else done();
    },
  });
}
