import { Injectable, Logger } from '@nestjs/common';
import { formatDuration, snapshotTime } from '@prombackup/contract';
import { Clock } from '../common/clock';
import { MetricsService } from '../metrics/metrics.service';
import { SnapshotLocks } from '../snapshots/snapshot-locks';
import { SnapshotStore } from '../snapshots/snapshot-store';
import type { PruneResultDto } from './dto/prune.dto';

export type PruneTrigger = 'request' | 'schedule';

@Injectable()
export class PruneService {
  private readonly logger = new Logger(PruneService.name);

  constructor(
    private readonly store: SnapshotStore,
    private readonly locks: SnapshotLocks,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Removes every snapshot folder whose name says it was made more than `keepWithinMs` ago,
   * except those being streamed. Folders without a snapshot timestamp are never touched.
   */
  async prune(keepWithinMs: number, trigger: PruneTrigger): Promise<PruneResultDto> {
    const cutoff = this.clock.now() - keepWithinMs;
    const result: PruneResultDto = { removed: [], skipped_in_use: [] };
    try {
      for (const folder of await this.store.folders({ zonedNames: true })) {
        const created = snapshotTime(folder.name);
        if (!created || created.getTime() >= cutoff) continue;
        const lock = this.locks.acquireRemove(folder.name);
        if (lock === 'in-use') result.skipped_in_use.push(folder.name);
        // Another prune is removing it and reports it; claiming it here too would count it twice.
        if (lock !== 'acquired') continue;
        let removedHere: boolean;
        try {
          // A prune that listed the folder before another one removed it must not report it again.
          removedHere = await this.store.remove(folder);
        } finally {
          this.locks.releaseRemove(folder.name);
        }
        if (!removedHere) continue;
        result.removed.push(folder.name);
        this.metrics.snapshotsRemoved.inc({ reason: 'prune' });
      }
    } catch (err) {
      this.metrics.pruneRuns.inc({ trigger, outcome: 'failure' });
      throw err;
    }
    this.metrics.pruneRuns.inc({ trigger, outcome: 'success' });
    this.metrics.lastPruneSuccess.set(this.clock.now() / 1000);
    // Every run, also one that found nothing: the log then shows that pruning runs at all.
    this.logger.log(
      `prune (${trigger}, keeping ${formatDuration(keepWithinMs)}) removed ${result.removed.length} snapshot(s)` +
        (result.removed.length ? `: ${result.removed.join(', ')}` : '') +
        (result.skipped_in_use.length ? `; kept ${result.skipped_in_use.length} being streamed` : ''),
    );
    return result;
  }
}
