import { HttpException, HttpStatus, Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { type ArchiveFormat, formatDuration } from '@prombackup/contract';
import type { ArchiveProgress, ArchiveResult } from '../archive/archive-pipeline';
import { ServerConfig } from '../config/server-config';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { MetricsService } from '../metrics/metrics.service';
import { SnapshotLocks } from '../snapshots/snapshot-locks';
import type { SnapshotFolder } from '../snapshots/snapshot-store';
import { type DownloadRecord, DownloadRegistry } from './download-registry';

/**
 * Admission of downloads: the shutdown, the concurrency limit and pruning each may refuse one;
 * an admitted download gets a handle that holds its place until finish().
 */
@Injectable()
export class ActiveDownloads {
  constructor(
    private readonly locks: SnapshotLocks,
    private readonly registry: DownloadRegistry,
    private readonly lifecycle: LifecycleService,
    private readonly config: ServerConfig,
    private readonly metrics: MetricsService,
  ) {}

  /** Refuses with a 503 once the server is shutting down. */
  refuseIfDraining(): void {
    if (!this.lifecycle.draining) return;
    this.metrics.downloadsRejected.inc({ reason: 'shutting_down' });
    throw new ServiceUnavailableException('the server is shutting down; try another replica or again shortly');
  }

  /**
   * A download of `folder`, admitted: counted against max_concurrent_downloads, holding the
   * snapshot's read lock (pruning waits), under a new download id, and awaited by a shutdown.
   * Throws the HTTP error that says why not.
   */
  acquire(folder: SnapshotFolder, format: ArchiveFormat): DownloadHandle {
    this.refuseIfDraining();
    if (this.registry.activeCount >= this.config.maxConcurrentDownloads) {
      this.metrics.downloadsRejected.inc({ reason: 'busy' });
      throw new HttpException(
        `already streaming ${this.registry.activeCount} downloads (max_concurrent_downloads); try again shortly`,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    if (!this.locks.acquireRead(folder.name)) {
      this.metrics.downloadsRejected.inc({ reason: 'pruning' });
      throw new NotFoundException(`snapshot ${folder.name} is being pruned`);
    }
    return new DownloadHandle(this.registry.start(folder.name, format), this.locks, this.registry, this.lifecycle, this.metrics, this.config.downloadIdleTimeoutMs);
  }
}

/**
 * One admitted download, from acquire() to finish(): its status record, its read lock, its place
 * in the shutdown's wait, its metrics, and the signal that stops it when the client takes no
 * data for download_idle_timeout or the shutdown's grace runs out.
 */
export class DownloadHandle implements ArchiveProgress {
  private readonly abort = new AbortController();
  private readonly untrack: () => void;
  private readonly stopTimer: () => void;
  private readonly countBytes: (bytes: number) => void;
  private readonly idleWatch: NodeJS.Timeout;
  private lastSent = Date.now();
  private reading = true;
  private finished = false;

  constructor(
    readonly record: DownloadRecord,
    private readonly locks: SnapshotLocks,
    private readonly registry: DownloadRegistry,
    lifecycle: LifecycleService,
    private readonly metrics: MetricsService,
    idleTimeoutMs: number,
  ) {
    this.untrack = lifecycle.track({ abort: (reason) => this.abort.abort(new Error(reason)), statusFollows: true });
    this.stopTimer = metrics.downloadDuration.startTimer({ format: record.format });
    const bytesSent = metrics.downloadBytes.labels({ format: record.format });
    this.countBytes = (bytes) => bytesSent.inc(bytes);
    const idleMessage = `the client took no data for ${formatDuration(idleTimeoutMs)} (download_idle_timeout)`;
    this.idleWatch = setInterval(
      () => {
        if (Date.now() - this.lastSent >= idleTimeoutMs) this.abort.abort(new Error(idleMessage));
      },
      Math.max(10, Math.min(idleTimeoutMs / 4, 5_000)),
    );
    this.idleWatch.unref();
  }

  get id(): string {
    return this.record.id;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  sent(bytes: number): void {
    this.record.bytes += bytes;
    this.lastSent = Date.now();
    this.countBytes(bytes);
  }

  /** Lets pruning have the snapshot again: a download that has sent its last byte does not hold it. */
  doneReading(): void {
    if (!this.reading) return;
    this.reading = false;
    clearInterval(this.idleWatch);
    this.locks.releaseRead(this.record.snapshotName);
  }

  /** Records how the download ended and gives up its place; a shutdown waiting for it goes on. */
  finish({ sha256Hex, errorText }: ArchiveResult): void {
    if (this.finished) return;
    this.finished = true;
    this.doneReading();
    this.registry.finish(this.record, { success: errorText === null, error_text: errorText, sha256_hex: sha256Hex });
    // Only after the status is final: a shutdown waiting for this download must not stop before.
    this.untrack();
    this.stopTimer();
    this.metrics.downloads.inc({ format: this.record.format, outcome: errorText === null ? 'success' : 'failure' });
    if (errorText === null) this.metrics.lastDownloadSuccess.set(Date.now() / 1000);
  }
}
