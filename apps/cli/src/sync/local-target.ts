import path from 'node:path';
import type { BlockDto } from '@prombackup/client';
import type { DirLock } from './dir-lock';
import type { SyncPlan } from './sync-plan';
import type { SyncTarget } from './sync-target';
import type { SyncTallies, Syncer } from './syncer';

/** sync into a folder: the Syncer, run while DIR's lock is held. */
export class LocalSyncTarget implements SyncTarget {
  constructor(
    readonly where: string,
    private readonly syncer: Syncer,
    private readonly lock: DirLock,
  ) {}

  async clearLeftovers(): Promise<string[]> {
    return (await this.syncer.removeStaleTemps()).map((stale) => `removed ${path.join(this.where, stale)}, left behind by a sync that did not end`);
  }

  plan(blocks: readonly BlockDto[], unlisted: readonly string[]): Promise<SyncPlan> {
    return this.syncer.plan(blocks, unlisted);
  }

  apply(snapshot: string, blocks: readonly BlockDto[], plan: SyncPlan): Promise<SyncTallies> {
    return this.syncer.apply(snapshot, blocks, plan);
  }

  async stop(): Promise<void> {
    await this.syncer.stop();
    await this.lock.release();
  }

  async close(): Promise<void> {
    await this.syncer.removeWork();
    await this.lock.release();
  }

  closeNow(): void {
    this.lock.releaseNow();
  }
}
