import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../config/version';

/** The server's own metrics, all named prombackup_*, beside process and Node defaults. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly downloadsInFlight = new Gauge({
    name: 'prombackup_downloads_in_flight',
    help: 'Downloads being streamed right now.',
    registers: [this.registry],
  });
  readonly downloadsTracked = new Gauge({
    name: 'prombackup_downloads_tracked',
    help: 'Download statuses held in memory.',
    registers: [this.registry],
  });
  readonly downloadBytes = new Counter({
    name: 'prombackup_download_bytes_total',
    help: 'Archive bytes sent, by format.',
    labelNames: ['format'],
    registers: [this.registry],
  });
  readonly downloads = new Counter({
    name: 'prombackup_downloads_total',
    help: 'Finished downloads, by format and outcome.',
    labelNames: ['format', 'outcome'],
    registers: [this.registry],
  });
  readonly downloadsRejected = new Counter({
    name: 'prombackup_downloads_rejected_total',
    help: 'Downloads refused before streaming, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly downloadDuration = new Histogram({
    name: 'prombackup_download_duration_seconds',
    help: 'Time to stream one archive, by format.',
    labelNames: ['format'],
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
    registers: [this.registry],
  });
  readonly snapshotRequests = new Counter({
    name: 'prombackup_snapshot_requests_total',
    help: 'Snapshot requests to Prometheus, by outcome.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly snapshotDuration = new Histogram({
    name: 'prombackup_snapshot_duration_seconds',
    help: 'Time Prometheus took to write a snapshot.',
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900],
    registers: [this.registry],
  });
  readonly pruneRuns = new Counter({
    name: 'prombackup_prune_runs_total',
    help: 'Prune runs, by trigger (request or schedule) and outcome.',
    labelNames: ['trigger', 'outcome'],
    registers: [this.registry],
  });
  readonly snapshotsRemoved = new Counter({
    name: 'prombackup_snapshots_removed_total',
    help: 'Snapshot folders removed, by reason: prune, delete (on request), abandoned (its requester went away).',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly lastPruneSuccess = new Gauge({
    name: 'prombackup_last_successful_prune_timestamp_seconds',
    help: 'When a prune run last succeeded.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'prombackup_build_info',
      help: 'Always 1; labels say which build runs.',
      labelNames: ['version', 'nodejs'],
      registers: [this.registry],
    }).set({ version: VERSION, nodejs: process.versions.node }, 1);
  }
}
