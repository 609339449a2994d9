import { Injectable, Logger } from '@nestjs/common';
import { ARCHIVE_FORMAT_NAMES } from '@prombackup/contract';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../config/version';
import { PROMETHEUS_FAILURES } from '../prometheus/prometheus-admin.client';

/**
 * prom-client's defaults name three gauges *_total, which `promtool check metrics` rejects (the
 * suffix is for counters); their per-type siblings (nodejs_active_handles{type} …) remain.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export const REJECT_REASONS = ['busy', 'pruning', 'shutting_down'] as const;
export const REMOVE_REASONS = ['prune', 'delete', 'abandoned'] as const;

/**
 * The server's own metrics, all named prombackup_*, beside process and Node defaults. Every
 * labelled series a failure can produce exists at 0 from the start, so that increase() and
 * rate() see the first failure rather than a series appearing out of nowhere.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly logger = new Logger('metrics');
  private readonly refreshers: (() => Promise<void>)[] = [];

  readonly downloadsInFlight = this.gauge('prombackup_downloads_in_flight', 'Downloads being streamed right now.');
  readonly downloadsTracked = this.gauge('prombackup_downloads_tracked', 'Download statuses held in memory.');
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
  readonly lastDownloadSuccess = this.gauge(
    'prombackup_last_successful_download_timestamp_seconds',
    'When a download last finished successfully (0: none since the server started).',
  );
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
  readonly lastSnapshot = this.gauge('prombackup_last_snapshot_timestamp_seconds', 'When Prometheus last took a snapshot for this server (0: none since it started).');
  readonly snapshotsOnDisk = this.gauge('prombackup_snapshots', 'Snapshot folders in snapshot_dir.');
  readonly snapshotsExclusiveBytes = this.gauge(
    'prombackup_snapshots_exclusive_bytes',
    'Bytes of the files in snapshot_dir that Prometheus no longer holds (only snapshots link to them); each file counted once however many snapshots share it.',
  );
  readonly prometheusUp = this.gauge('prombackup_prometheus_up', 'Whether Prometheus answers its API (1) or not (0).');
  readonly prometheusAdminApi = this.gauge(
    'prombackup_prometheus_admin_api_enabled',
    'Whether Prometheus runs with --web.enable-admin-api (1) or not (0); 0 also while it cannot be asked (see prombackup_prometheus_up).',
  );
  readonly ready = this.gauge('prombackup_ready', 'Whether /readyz passes (1) or not (0); /readyz and the log say which check fails.');
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
  readonly lastPruneSuccess = this.gauge('prombackup_last_successful_prune_timestamp_seconds', 'When a prune run last succeeded.');

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const name of MISNAMED_DEFAULTS) this.registry.removeSingleMetric(name);
    this.gauge('prombackup_build_info', 'Always 1; labels say which build runs.', ['version', 'nodejs']).set({ version: VERSION, nodejs: process.versions.node }, 1);
    for (const format of ARCHIVE_FORMAT_NAMES) {
      this.downloadBytes.inc({ format }, 0);
      this.downloadDuration.zero({ format });
      for (const outcome of ['success', 'failure']) this.downloads.inc({ format, outcome }, 0);
    }
    for (const reason of REJECT_REASONS) this.downloadsRejected.inc({ reason }, 0);
    for (const outcome of ['success', 'abandoned', 'error', 'not_in_snapshot_dir', ...PROMETHEUS_FAILURES]) this.snapshotRequests.inc({ outcome }, 0);
    for (const trigger of ['request', 'schedule']) for (const outcome of ['success', 'failure']) this.pruneRuns.inc({ trigger, outcome }, 0);
    for (const reason of REMOVE_REASONS) this.snapshotsRemoved.inc({ reason }, 0);
  }

  /** Registers work that brings gauges up to date before each scrape (the state of the disk, of Prometheus). */
  beforeScrape(refresh: () => Promise<void>): void {
    this.refreshers.push(refresh);
  }

  /** The exposition text, after every refresher has run; one failing leaves its gauges as they were. */
  async scrape(): Promise<string> {
    for (const result of await Promise.allSettled(this.refreshers.map((refresh) => refresh()))) {
      if (result.status === 'rejected') this.logger.warn(`a metric could not be brought up to date: ${(result.reason as Error).message}`);
    }
    return this.registry.metrics();
  }

  private gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
