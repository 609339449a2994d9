import { pipeline } from 'node:stream/promises';
import { BadRequestException, HttpException, HttpStatus, Injectable, Logger, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { ARCHIVE_FORMATS, type ArchiveFormat, DOWNLOAD_ID_HEADER, SNAPSHOT_BYTES_HEADER, archiveFileName, formatDuration } from '@prombackup/contract';
import type { Response } from 'express';
import { ArchiveService } from '../archive/archive.service';
import { DEFAULT_SLOTS, ReadSlots, SlotMemory } from '../archive/read-slots';
import { ServerConfig } from '../config/server-config';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { MetricsService } from '../metrics/metrics.service';
import { SnapshotContents } from '../snapshots/snapshot-contents';
import { SnapshotLocks } from '../snapshots/snapshot-locks';
import { type SnapshotFolder, SnapshotStore } from '../snapshots/snapshot-store';
import { DownloadRegistry } from './download-registry';
import { DownloadSink } from './download-sink';
import { HashingPool } from './offthread-sha256';
import { describeStreamError } from './stream-errors';

export interface DownloadRequest {
  name: string;
  format: ArchiveFormat;
  level?: number;
  /** Only these blocks (ULIDs), not the whole snapshot. */
  blocks?: readonly string[];
}

@Injectable()
export class DownloadsService {
  private readonly logger = new Logger(DownloadsService.name);

  constructor(
    private readonly store: SnapshotStore,
    private readonly locks: SnapshotLocks,
    private readonly archive: ArchiveService,
    private readonly registry: DownloadRegistry,
    private readonly metrics: MetricsService,
    private readonly config: ServerConfig,
    private readonly lifecycle: LifecycleService,
    private readonly hashing: HashingPool,
    private readonly slotMemory: SlotMemory,
    private readonly contents: SnapshotContents,
  ) {}

  /**
   * Streams a snapshot as an archive into `res` and records the outcome under a download id.
   * Resolves once the stream has ended, successfully or not.
   */
  async stream(request: DownloadRequest, res: Response): Promise<void> {
    if (this.lifecycle.draining) {
      this.metrics.downloadsRejected.inc({ reason: 'shutting_down' });
      throw new ServiceUnavailableException('the server is shutting down; try another replica or again shortly');
    }
    const folder = await this.store.folder(request.name);
    const blockBytes = request.blocks && (await this.blockBytes(folder, request.blocks));
    if (this.registry.activeCount >= this.config.maxConcurrentDownloads) {
      this.metrics.downloadsRejected.inc({ reason: 'busy' });
      res.setHeader('Retry-After', '10');
      throw new HttpException(
        `already streaming ${this.registry.activeCount} downloads (max_concurrent_downloads); try again shortly`,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    if (!this.locks.acquireRead(folder.name)) {
      this.metrics.downloadsRejected.inc({ reason: 'pruning' });
      throw new NotFoundException(`snapshot ${folder.name} is being pruned`);
    }
    const record = this.registry.start(folder.name, request.format);
    // Tracked from here, before the first await: a shutdown that begins now waits for this download.
    const abort = new AbortController();
    const untrack = this.lifecycle.track({ abort: (reason) => abort.abort(new Error(reason)), statusFollows: true });
    const stopTimer = this.metrics.downloadDuration.startTimer({ format: request.format });
    const bytesSent = this.metrics.downloadBytes.labels({ format: request.format });
    // Metadata only, and a failure here only costs the client its progress total.
    const snapshotBytes = blockBytes ?? (await this.store.size(folder).catch(() => undefined));
    const slots = new ReadSlots(DEFAULT_SLOTS, this.slotMemory);
    const sink = new DownloadSink(res, slots, this.hashing, (n) => bytesSent.inc(n));

    res.status(200);
    res.setHeader('Content-Type', ARCHIVE_FORMATS[request.format].contentType);
    res.setHeader('Content-Disposition', `attachment; filename="${archiveFileName(folder.name, request.format)}"`);
    res.setHeader(DOWNLOAD_ID_HEADER, record.id);
    res.setHeader('Cache-Control', 'no-store');
    if (snapshotBytes !== undefined) res.setHeader(SNAPSHOT_BYTES_HEADER, String(snapshotBytes));
    // The client learns the download id even if the archive fails before its first byte.
    res.flushHeaders();

    const idle = this.watchProgress(sink, abort);
    let errorText: string | null = null;
    try {
      const stages = this.archive.stages(folder, request.format, request.level, slots, request.blocks);
      await pipeline([...stages, sink], { signal: abort.signal });
      // pipeline() settles on 'finish'; a peer that went away before reading everything shows as not ended.
      if (!res.writableFinished) errorText = 'client closed the connection before the archive was complete';
    } catch (err) {
      // An abort carries our own reason (idle client, shutdown); anything else is described.
      errorText = abort.signal.aborted ? (abort.signal.reason as Error).message : describeStreamError(err as NodeJS.ErrnoException);
      res.destroy();
    } finally {
      clearInterval(idle);
      this.locks.releaseRead(folder.name);
    }
    slots.close();
    record.bytes = sink.bytes;
    let sha256Hex = '';
    try {
      sha256Hex = await sink.digestHex();
    } catch (err) {
      errorText ??= `the SHA-256 of the download could not be computed: ${(err as Error).message}`;
    }
    this.registry.finish(record, { success: errorText === null, error_text: errorText, sha256_hex: sha256Hex });
    // Only now: a shutdown waiting for this download must not stop before its status is final.
    untrack();
    stopTimer();
    this.metrics.downloads.inc({ format: request.format, outcome: errorText === null ? 'success' : 'failure' });
    if (errorText === null) this.metrics.lastDownloadSuccess.set(Date.now() / 1000);
    const what = request.blocks ? ` (${request.blocks.length} blocks)` : '';
    if (errorText) this.logger.warn(`download ${record.id} of ${folder.name}${what} failed: ${errorText}`);
    else this.logger.log(`download ${record.id} of ${folder.name}${what} (${request.format}) sent ${sink.bytes} bytes`);
  }

  /**
   * The bytes of the asked blocks; a 400 naming those that are not blocks of the snapshot (no
   * such folder, or one without a meta.json naming it, or a link: see SnapshotContents).
   */
  private async blockBytes(folder: SnapshotFolder, ulids: readonly string[]): Promise<number> {
    const { blocks } = await this.contents.read(folder, new Set(ulids));
    const found = new Set(blocks.map((block) => block.ulid));
    const unknown = ulids.filter((ulid) => !found.has(ulid));
    if (unknown.length > 0) {
      const shown = unknown.length > 10 ? `${unknown.slice(0, 10).join(', ')} and ${unknown.length - 10} more` : unknown.join(', ');
      throw new BadRequestException(`snapshot ${folder.name} has no block ${shown} (snapshot_contents lists its blocks)`);
    }
    return blocks.reduce((sum, block) => sum + block.bytes, 0);
  }

  /** Cuts a download off when its client has taken no bytes for download_idle_timeout. */
  private watchProgress(sink: DownloadSink, abort: AbortController): NodeJS.Timeout {
    const limit = this.config.downloadIdleTimeoutMs;
    let lastBytes = -1;
    let lastChange = Date.now();
    const timer = setInterval(
      () => {
        if (sink.bytes !== lastBytes) {
          lastBytes = sink.bytes;
          lastChange = Date.now();
        } else if (Date.now() - lastChange >= limit) {
          abort.abort(new Error(`the client took no data for ${formatDuration(limit)} (download_idle_timeout)`));
        }
      },
      Math.max(10, Math.min(limit / 4, 5_000)),
    );
    timer.unref();
    return timer;
  }
}
