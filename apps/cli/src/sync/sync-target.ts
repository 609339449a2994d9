import type { BlockDto } from '@prombackup/client';
import type { SyncPlan } from './sync-plan';
import type { SyncTallies } from './syncer';

/** Where sync keeps its copy: a folder (DIR) or a prefix in a bucket; the command drives either the same way. */
export interface SyncTarget {
  /** DIR, or the s3:// URL of the prefix. */
  readonly where: string;
  /** Removes what runs that did not end left behind; one line per thing removed. */
  clearLeftovers(): Promise<string[]>;
  /** `unlisted`: ULIDs the snapshot has that the server could not list (see planSync). */
  plan(blocks: readonly BlockDto[], unlisted: readonly string[]): Promise<SyncPlan>;
  apply(snapshot: string, blocks: readonly BlockDto[], plan: SyncPlan): Promise<SyncTallies & { manifest?: string }>;
  /** For an interruption: downloads and uploads cut, nothing half-made left. */
  stop(): Promise<void>;
  /** After the run, whatever its outcome (not after stop()). */
  close(): Promise<void>;
  /** For a process about to exit. */
  closeNow(): void;
}
