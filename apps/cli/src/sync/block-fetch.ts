import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlockDto, PrombackupClient } from '@prombackup/client';
import type { ArchiveFormat } from '@prombackup/contract';
import { openDownload } from '../archive-download';
import { serverFailure, verify, waitForOutcome } from '../download-outcome';
import { REWRITTEN_FILES } from './sync-plan';
import { type ArchivedBlock, type Compression, readBlockArchive } from '../tsdb';

const isRewritten = (file: string) => (REWRITTEN_FILES as readonly string[]).includes(file);
export const COMPRESSION: Record<ArchiveFormat, Compression> = { tar: 'none', tgz: 'gzip', tzst: 'zstd' };

export interface FetchedBlock {
  downloadId: string;
  /** Bytes of the archive as they came over the wire. */
  archiveBytes: number;
  sha256: string;
}

export interface FetchOptions {
  snapshot: string;
  format: ArchiveFormat;
  /** Where the block folder is written: `<into>/<ulid>/…`. */
  into: string;
  /** Write only tombstones and meta.json (the rest of the archive is read, checked and dropped). */
  onlyTombstones?: boolean;
  signal?: AbortSignal;
  /** Sees the archive's bytes go by (for progress). */
  onBytes?: (n: number) => void;
}

/**
 * Downloads one block of a snapshot (`blocks=ULID`) into `<into>/<ulid>`: each file is checked
 * by the archive reader, written and fsynced; then the archive must hold exactly the files the
 * listing names, with their sizes, and the server must confirm the download with the SHA-256 of
 * the bytes received. Only then do the files get the listing's modification times and the
 * folders are fsynced. Throws naming the block; what is left in `into` is for the caller to drop.
 */
export async function fetchBlock(client: PrombackupClient, block: BlockDto, options: FetchOptions): Promise<FetchedBlock> {
  const folder = path.join(options.into, block.ulid);
  await fs.mkdir(path.join(folder, 'chunks'), { recursive: true });
  const hash = createHash('sha256');
  let archiveBytes = 0;
  const { id, body } = await openDownload(client, { name: options.snapshot, format: options.format, blocks: [block.ulid] }, options.signal);
  const listing = await withServerReason(client, id, body, options.signal, () =>
    readBlockArchive(body, {
      compression: COMPRESSION[options.format],
      onArchiveBytes: (chunk) => {
        hash.update(chunk);
        archiveBytes += chunk.length;
        options.onBytes?.(chunk.length);
      },
      onFile: async (file, stream) => {
        if (file.ulid !== block.ulid) throw new Error(`the archive holds block ${file.ulid}, which was not asked for`);
        if (options.onlyTombstones && !isRewritten(file.path)) return;
        await writeFile(path.join(folder, file.path), stream);
      },
    }),
  );
  checkAgainstListing(listing.blocks, block);
  const sha256 = hash.digest('hex');
  verify(await waitForOutcome(client, id), sha256, id);
  for (const file of block.files) {
    if (options.onlyTombstones && !isRewritten(file.path)) continue;
    // Half a millisecond in: utimes takes seconds as a double and keeps microseconds, so an exact
    // millisecond can come back as the one before it; the listing rounds down, and so does DIR's reading.
    const when = (file.mtime_ms + 0.5) / 1000;
    await fs.utimes(path.join(folder, file.path), when, when);
  }
  await syncFolder(path.join(folder, 'chunks'));
  await syncFolder(folder);
  return { downloadId: id, archiveBytes, sha256 };
}

/** A read that fails because the server broke `body` off says the server's reason too, when it recorded one. */
async function withServerReason<T>(client: PrombackupClient, id: string, body: Readable, signal: AbortSignal | undefined, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    // Only a body cut on the server's side: a local failure (a full disk) or a signal here ends it otherwise.
    const reason = body.errored && !signal?.aborted ? await serverFailure(client, id) : undefined;
    if (reason && err instanceof Error) err.message += `; the server reports: ${reason}`;
    throw err;
  }
}

async function writeFile(target: string, body: Readable): Promise<void> {
  // flush: fsync before close, so a block is on disk before its folder gets its name.
  await pipeline(body, createWriteStream(target, { flags: 'wx', mode: 0o644, flush: true }));
}

/** fsync on a folder makes the names in it (files created, renamed in) durable. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await fs.open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The archive must hold this one block, with the listing's files and sizes, and their times to the second (tar's resolution). */
export function checkAgainstListing(blocks: ArchivedBlock[], block: BlockDto): void {
  if (blocks.length !== 1 || blocks[0].ulid !== block.ulid) {
    throw new Error(`the archive for block ${block.ulid} holds ${blocks.map((b) => b.ulid).join(', ') || 'no block'}`);
  }
  const got = new Map(blocks[0].files.map((f) => [f.path, f]));
  for (const file of block.files) {
    const found = got.get(file.path);
    if (!found) throw new Error(`block ${block.ulid}: the archive lacks ${file.path}, which the snapshot's listing has`);
    if (found.size !== file.size) throw new Error(`block ${block.ulid}: ${file.path} has ${found.size} bytes in the archive, ${file.size} in the listing`);
    if (Math.floor(found.mtimeMs / 1000) !== Math.floor(file.mtime_ms / 1000)) throw new Error(`block ${block.ulid}: ${file.path} has another modification time in the archive than in the listing`);
    got.delete(file.path);
  }
  if (got.size > 0) throw new Error(`block ${block.ulid}: the archive holds ${[...got.keys()].join(', ')}, which the snapshot's listing does not`);
}
