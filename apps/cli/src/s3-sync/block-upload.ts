import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlockDto, PrombackupClient } from '@prombackup/client';
import type { ArchiveFormat } from '@prombackup/contract';
import { openDownload } from '../archive-download';
import { verify, waitForOutcome } from '../download-outcome';
import { MultipartArchiveUpload, partBytesFor } from '../s3';
import { COMPRESSION, checkAgainstListing } from '../sync/block-fetch';
import { readBlockArchive } from '../tsdb';
import { type StoredBlock, type StoredFile, fileKey, markerKey, serializeMarker } from './bucket-layout';
import type { SyncBucket } from './sync-bucket';

export interface UploadOptions {
  snapshot: string;
  format: ArchiveFormat;
  /** Files already in the bucket under this block, by path: not uploaded again when their key is the same. */
  stored?: readonly StoredFile[];
  signal?: AbortSignal;
  onBytes?: (n: number) => void;
}

export interface UploadedBlock {
  block: StoredBlock;
  archiveBytes: number;
  /** Bytes of the files sent to the bucket (the others were there already). */
  uploadedBytes: number;
}

interface Pending {
  file: StoredFile;
  upload: MultipartArchiveUpload;
}

/**
 * Downloads one block (`blocks=ULID`) and streams each of its files into its own multipart upload
 * while hashing it; files the bucket has already (same key: same path, time and size) are read
 * and dropped. The uploads are completed only once the archive matched the listing and the
 * server confirmed its SHA-256, then the block's marker is written; on any failure before that,
 * every upload is aborted, so nothing of the block appears.
 */
export async function uploadBlock(api: PrombackupClient, bucket: SyncBucket, block: BlockDto, options: UploadOptions): Promise<UploadedBlock> {
  const have = new Map((options.stored ?? []).map((f) => [f.key, f]));
  const listed = new Map(block.files.map((f) => [f.path, f]));
  const pending: Pending[] = [];
  const files: StoredFile[] = [];
  const hash = createHash('sha256');
  let archiveBytes = 0;
  try {
    const { id, body } = await openDownload(api, { name: options.snapshot, format: options.format, blocks: [block.ulid] }, options.signal);
    const archive = await readBlockArchive(body, {
      compression: COMPRESSION[options.format],
      onArchiveBytes: (chunk) => {
        hash.update(chunk);
        archiveBytes += chunk.length;
        options.onBytes?.(chunk.length);
      },
      onFile: async (visit, stream) => {
        if (visit.ulid !== block.ulid) throw new Error(`the archive holds block ${visit.ulid}, which was not asked for`);
        const entry = listed.get(visit.path);
        if (!entry) return; // checked against the listing below
        const key = fileKey(block.ulid, entry);
        const known = have.get(key);
        if (known) return void files.push(known);
        const upload = new MultipartArchiveUpload(bucket.client, { bucket: bucket.bucket, key: bucket.prefix + key, write: bucket.write }, partBytesFor(entry.size));
        const file: StoredFile = { path: entry.path, size: entry.size, mtime_ms: entry.mtime_ms, sha256: '', key };
        pending.push({ file, upload });
        const fileHash = createHash('sha256');
        await pipeline(stream, hashing(fileHash), upload).catch((err: Error) => {
          throw upload.failure ?? err;
        });
        file.sha256 = fileHash.digest('hex');
        files.push(file);
      },
    });
    checkAgainstListing(archive.blocks, block);
    verify(await waitForOutcome(api, id), hash.digest('hex'), id);
    if (options.signal?.aborted) throw new Error('stopped');
  } catch (err) {
    await abortAll(pending, err as Error);
    throw err;
  }
  // Verified: the objects may appear. One that fails to complete aborts those after it; the ones
  // before stay as objects no marker names, which no later sync trusts and forget removes.
  for (let i = 0; i < pending.length; i++) {
    try {
      await pending[i].upload.complete({ exclusive: false, metadata: { sha256: pending[i].file.sha256 } });
    } catch (err) {
      await abortAll(pending.slice(i + 1), err as Error);
      throw err;
    }
  }
  const stored: StoredBlock = {
    ulid: block.ulid,
    min_time: block.min_time,
    max_time: block.max_time,
    num_series: block.num_series,
    num_samples: block.num_samples,
    num_chunks: block.num_chunks,
    compaction_level: block.compaction_level,
    bytes: block.bytes,
    files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
  await bucket.putJson(bucket.prefix + markerKey(block.ulid, stored.files), serializeMarker(stored), false);
  return { block: stored, archiveBytes, uploadedBytes: pending.reduce((s, p) => s + p.file.size, 0) };
}

function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

/** Aborts every upload; an abort that fails is added to `cause`'s message (it names the pending upload). */
async function abortAll(pending: readonly Pending[], cause: Error): Promise<void> {
  for (const { upload } of pending) {
    await upload.abort().catch((err: Error) => {
      cause.message += `; ${err.message}`;
    });
  }
}
