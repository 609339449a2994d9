import { HttpException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
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

  /**
   * Asks Prometheus for a snapshot and returns its name. `requesterGone` aborts when the client
   * has hung up: a snapshot that arrives after that is nobody's, and is removed again.
   */
  async create(skipHead: boolean, requesterGone?: AbortSignal): Promise<string> {
    // Its download would be refused: a snapshot taken now would be left behind for nobody.
    if (this.lifecycle.draining) throw new ServiceUnavailableException('the server is shutting down; try another replica or again shortly');
    const stopTimer = this.metrics.snapshotDuration.startTimer();
    let name: string;
    try {
      name = await this.prometheus.snapshot(skipHead);
    } catch (err) {
      this.metrics.snapshotRequests.inc({ outcome: err instanceof PrometheusError ? err.failure : 'error' });
      throw err;
    }
    stopTimer();
    if (requesterGone?.aborted) {
      this.metrics.snapshotRequests.inc({ outcome: 'abandoned' });
      await this.removeAbandoned(name);
      // Nobody reads this answer; 499 (client closed request) tells the access log what happened.
      throw new HttpException(`the client went away before snapshot ${name} was taken`, 499);
    }
    this.metrics.snapshotRequests.inc({ outcome: 'success' });
    this.logger.log(`snapshot ${name} taken${skipHead ? ' without head block' : ''}`);
    return name;
  }

  /** Removes a snapshot whose requester hung up (it would stay for weeks otherwise), unless a download holds it. */
  private async removeAbandoned(name: string): Promise<void> {
    const why = `snapshot ${name} taken, but the client that asked for it went away before Prometheus answered`;
    const lock = this.locks.acquireRemove(name);
    if (lock !== 'acquired') {
      this.logger.warn(`${why}; kept it: ${lock === 'in-use' ? 'a download is streaming it' : 'a prune is removing it'}`);
      return;
    }
    try {
      await this.store.remove(await this.store.folder(name));
      this.logger.log(`${why}; removed it`);
    } catch (err) {
      this.logger.error(`${why}; could not remove it: ${(err as Error).message}`);
    } finally {
      this.locks.releaseRemove(name);
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
