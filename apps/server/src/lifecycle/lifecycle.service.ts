import { Injectable, Logger } from '@nestjs/common';
import { formatDuration } from '@prombackup/contract';

/** What a running download (or snapshot request) offers the shutdown: a way to stop it. */
export interface ActiveWork {
  abort(reason: string): void;
  /** Its client asks for download_status once it ends (a download does), so the shutdown lingers for it. */
  statusFollows: boolean;
}

/**
 * How long the server keeps answering (download_status above all) after the last download
 * ended: a client that has just received its last byte asks for the outcome next, and an
 * archive it cannot verify is thrown away.
 */
export const STATUS_LINGER_MS = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The server's life after SIGTERM: new downloads are refused, running ones may finish within
 * the grace period, and whatever still runs then is cut off and recorded as failed.
 */
@Injectable()
export class LifecycleService {
  private readonly logger = new Logger('shutdown');
  // Each piece of running work, with the promise that its untrack function resolves.
  private readonly running = new Map<ActiveWork, Promise<void>>();
  private drainingSince: number | undefined;
  private lastDownloadEnded: number | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /**
   * Registers a running download, or a snapshot request waiting for Prometheus; the returned
   * function unregisters it once its outcome is recorded.
   */
  track(work: ActiveWork): () => void {
    let ended!: () => void;
    this.running.set(work, new Promise<void>((resolve) => (ended = resolve)));
    return () => {
      if (this.running.delete(work) && work.statusFollows) this.lastDownloadEnded = Date.now();
      ended();
    };
  }

  /**
   * Refuses new downloads and waits up to `graceMs` for running ones, then cuts them off. After
   * a download ended, lingers up to STATUS_LINGER_MS so its client can ask for the outcome, but
   * never past the grace deadline.
   */
  async drain(graceMs: number): Promise<void> {
    this.drainingSince ??= Date.now();
    if (this.running.size > 0) {
      this.logger.log(`waiting up to ${formatDuration(graceMs)} for ${this.running.size} running request(s) (downloads, snapshots) to finish`);
    }
    const deadline = this.drainingSince + graceMs;
    await this.allEnded(deadline - Date.now());
    for (const work of this.running.keys()) work.abort('the server shut down before the archive was complete');
    // Give the aborted downloads a moment to record their outcome.
    await this.allEnded(1_000);

    const lingerUntil = Math.min(deadline, (this.lastDownloadEnded ?? -Infinity) + STATUS_LINGER_MS);
    if (lingerUntil > Date.now()) {
      this.logger.log(`downloads done; still answering download_status for ${Math.ceil((lingerUntil - Date.now()) / 1000)}s`);
      await sleep(lingerUntil - Date.now());
    }
  }

  /** Resolves once every work running now has ended, or after `ms`. */
  private async allEnded(ms: number): Promise<void> {
    if (this.running.size === 0 || ms <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([Promise.all(this.running.values()), timeout]);
    clearTimeout(timer);
  }
}
