import { Injectable } from '@nestjs/common';
import type { ArchiveFormat } from '@prombackup/contract';
import { Clock } from '../common/clock';
import { MetricsService } from '../metrics/metrics.service';
import { DownloadIdGenerator } from './download-id';
import type { DownloadOutcomeDto } from './dto/download.dto';

/** How a download ended, as its status reports it. */
export type DownloadOutcome = DownloadOutcomeDto;

export interface DownloadRecord {
  id: string;
  snapshotName: string;
  format: ArchiveFormat;
  startedAt: number;
  finishedAt?: number;
  bytes: number;
  outcome: DownloadOutcome | null;
}

/** How long a finished download's status stays readable. */
export const STATUS_RETENTION_MS = 15 * 60 * 1000;
/** Most statuses kept at once; past it the oldest finished ones go first. */
export const MAX_TRACKED_DOWNLOADS = 10_000;

/** Status of every recent download, keyed by download id. */
@Injectable()
export class DownloadRegistry {
  // Map iteration order is insertion order, which is start order: oldest first.
  private readonly records = new Map<string, DownloadRecord>();
  private readonly ids = new DownloadIdGenerator();
  private active = 0;

  constructor(
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  get activeCount(): number {
    return this.active;
  }

  start(snapshotName: string, format: ArchiveFormat): DownloadRecord {
    this.expire(1);
    const now = this.clock.now();
    const record: DownloadRecord = { id: this.ids.next(now), snapshotName, format, startedAt: now, bytes: 0, outcome: null };
    this.records.set(record.id, record);
    this.active++;
    this.updateGauges();
    return record;
  }

  finish(record: DownloadRecord, outcome: DownloadOutcome): void {
    if (record.outcome) return;
    record.outcome = outcome;
    record.finishedAt = this.clock.now();
    this.active--;
    this.updateGauges();
  }

  get(id: string): DownloadRecord | undefined {
    this.expire();
    return this.records.get(id);
  }

  /** Newest first. */
  recent(limit: number): DownloadRecord[] {
    this.expire();
    return [...this.records.values()].slice(-limit).reverse();
  }

  /** Drops statuses past their retention, and the oldest finished ones until `room` more fit. */
  private expire(room = 0): void {
    const cutoff = this.clock.now() - STATUS_RETENTION_MS;
    let excess = this.records.size + room - MAX_TRACKED_DOWNLOADS;
    for (const [id, record] of this.records) {
      if (!record.outcome) continue;
      if (record.finishedAt! < cutoff || excess > 0) {
        this.records.delete(id);
        excess--;
      } else {
        break; // finished in start order is close enough to finish order: stop at the first keeper
      }
    }
    this.updateGauges();
  }

  private updateGauges(): void {
    this.metrics.downloadsInFlight.set(this.active);
    this.metrics.downloadsTracked.set(this.records.size);
  }
}
