import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { snapshotTime } from '@prombackup/contract';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { MetricsService } from '../metrics/metrics.service';
import { PrometheusAdminClient, PrometheusError } from '../prometheus/prometheus-admin.client';
import type { SnapshotInfoDto } from './dto/snapshot.dto';
import { SnapshotLocks } from './snapshot-locks';
import { SnapshotStore } from './snapshot-store';

@Injectable()
export class SnapshotsService {
  private readonly logger = new Logger(SnapshotsService.name);

  constructor(
    private readonly prometheus: PrometheusAdminClient,
    private readonly store: SnapshotStore,
    private readonly locks: SnapshotLocks,
    private readonly metrics: MetricsService,
    private readonly lifecycle: LifecycleService,
  ) {}

  /** Asks Prometheus for a snapshot and returns its name. */
  async create(skipHead: boolean): Promise<string> {
    // Its download would be refused: a snapshot taken now would be left behind for nobody.
    if (this.lifecycle.draining) throw new ServiceUnavailableException('the server is shutting down; try another replica or again shortly');
    const stopTimer = this.metrics.snapshotDuration.startTimer();
    try {
      const name = await this.prometheus.snapshot(skipHead);
      stopTimer();
      this.metrics.snapshotRequests.inc({ outcome: 'success' });
      this.logger.log(`snapshot ${name} taken${skipHead ? ' without head block' : ''}`);
      return name;
    } catch (err) {
      this.metrics.snapshotRequests.inc({ outcome: err instanceof PrometheusError ? err.failure : 'error' });
      throw err;
    }
  }

  async list(): Promise<SnapshotInfoDto[]> {
    const result: SnapshotInfoDto[] = [];
    for (const folder of await this.store.folders()) {
      let size: number;
      try {
        size = await this.store.size(folder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // pruned while we looked
        throw err;
      }
      result.push({
        name: folder.name,
        created_at: snapshotTime(folder.name)?.toISOString() ?? null,
        size_bytes: size,
        in_use: this.locks.inUse(folder.name),
      });
    }
    return result;
  }
}
