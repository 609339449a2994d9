import type { ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { type ArchiveFormat, COMPRESSION_LEVELS } from '@prombackup/contract';
import type { SnapshotFolder } from '../snapshots/snapshot-store';
import { createTarCompressor } from './compressors';
import { DownloadSink } from './download-sink';
import { FileBoundaries } from './file-boundaries';
import { HashingPool } from './offthread-sha256';
import { DEFAULT_SLOTS, ReadSlots, SlotMemory } from './read-slots';
import { SnapshotArchiver } from './snapshot-archiver';
import { describeStreamError } from './stream-errors';

export interface ArchiveRequest {
  format: ArchiveFormat;
  level?: number;
  /** Only these blocks (ULIDs), not the whole snapshot. */
  blocks?: readonly string[];
}

/** Who runs the archive: stops it with `signal`, hears of every chunk sent and of the last file read. */
export interface ArchiveProgress {
  readonly signal: AbortSignal;
  sent(bytes: number): void;
  /** The snapshot's files are no longer read (the hash may still be finishing). */
  doneReading(): void;
}

/** What was sent and how it ended: `errorText` is null for a complete archive. */
export interface ArchiveResult {
  bytes: number;
  sha256Hex: string;
  errorText: string | null;
}

/**
 * Everything that touches the bytes of a download, behind one call: the files are read into the
 * download's slots, archived, compressed, hashed on the hashing threads and written to the
 * socket, in one pipeline().
 */
@Injectable()
export class ArchivePipeline {
  constructor(
    private readonly archiver: SnapshotArchiver,
    private readonly slotMemory: SlotMemory,
    private readonly hashing: HashingPool,
  ) {}

  /** Streams `folder` as an archive into `out`. Never rejects: a failure is the result's errorText. */
  async run(folder: SnapshotFolder, request: ArchiveRequest, out: ServerResponse, progress: ArchiveProgress): Promise<ArchiveResult> {
    const slots = new ReadSlots(DEFAULT_SLOTS, this.slotMemory);
    const sink = new DownloadSink(out, slots, this.hashing, (n) => progress.sent(n));
    let errorText: string | null = null;
    try {
      await pipeline([...this.stages(folder, request, slots), sink], { signal: progress.signal });
      // pipeline() settles on 'finish'; a peer that went away before reading everything shows as not ended.
      if (!out.writableFinished) errorText = 'client closed the connection before the archive was complete';
    } catch (err) {
      // An abort carries its own reason (idle client, shutdown); anything else is described.
      errorText = progress.signal.aborted ? (progress.signal.reason as Error).message : describeStreamError(err as NodeJS.ErrnoException);
      out.destroy();
    }
    progress.doneReading();
    slots.close();
    let sha256Hex = '';
    try {
      sha256Hex = await sink.digestHex();
    } catch (err) {
      errorText ??= `the SHA-256 of the download could not be computed: ${(err as Error).message}`;
    }
    return { bytes: sink.bytes, sha256Hex, errorText };
  }

  /** The stages before the sink; chunks the last one puts out may lie in `slots`. */
  private stages(folder: SnapshotFolder, { format, level, blocks }: ArchiveRequest, slots: ReadSlots): [Readable, ...Duplex[]] {
    if (format === 'tar') return [this.archiver.tar(folder, slots, blocks)];
    const boundaries = new FileBoundaries();
    const tar = this.archiver.tar(folder, slots, blocks, boundaries);
    return [tar, createTarCompressor(format, level ?? COMPRESSION_LEVELS[format].default, slots, boundaries)];
  }
}
