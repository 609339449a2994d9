import { ApiError, type PrombackupClient } from '@prombackup/client';
import { describeApiFailure } from './api';

export type Removal =
  | { removed: true }
  /** Not removed; `reason` says why in words, `unsupported` marks a server without DELETE /api/snapshot. */
  | { removed: false; reason: string; gone?: boolean; unsupported?: boolean; inUse?: boolean };

export interface RemoveOptions {
  /**
   * How long a 409 (a download still streams it) is retried. After a download the CLI broke off,
   * the server needs a moment to notice the closed connection and let go of the snapshot.
   */
  busyWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Asks the server to remove one snapshot. Never throws: the caller decides whether a snapshot
 * left behind is an error (`delete`) or a warning beside the download's own result (`create`).
 */
export async function removeSnapshot(client: PrombackupClient, name: string, server: string, options: RemoveOptions = {}): Promise<Removal> {
  const deadline = Date.now() + (options.busyWaitMs ?? 0);
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    try {
      await client.snapshots.deleteSnapshot({ name });
      return { removed: true };
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && Date.now() < deadline) {
        await (options.sleep ?? wait)(delay);
        continue;
      }
      return describeRefusal(err, server);
    }
  }
}

function describeRefusal(err: unknown, server: string): Removal {
  if (err instanceof ApiError) {
    // The Go original routes /api/snapshot for POST only and answers any other method with 405.
    if (err.status === 405) {
      return { removed: false, unsupported: true, reason: 'the server has no DELETE /api/snapshot (an older prombackup-server); prune removes it later' };
    }
    if (err.status === 404) return { removed: false, gone: true, reason: describeApiFailure(err, server) };
    if (err.status === 409) return { removed: false, inUse: true, reason: describeApiFailure(err, server) };
  }
  return { removed: false, reason: describeApiFailure(err, server) };
}
