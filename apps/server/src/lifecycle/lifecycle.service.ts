import { Injectable, Logger } from '@nestjs/common';

/** What a running download offers the shutdown: a way to stop it. */
export interface ActiveDownload {
  abort(reason: string): void;
}

/**
 * The server's life after SIGTERM: new downloads are refused, running ones may finish within
 * the grace period, and whatever still runs then is cut off and recorded as failed.
 */
@Injectable()
export class LifecycleService {
  private readonly logger = new Logger('shutdown');
  private readonly downloads = new Set<ActiveDownload>();
  private drainingSince: number | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Registers a running download; the returned function unregisters it. */
  track(download: ActiveDownload): () => void {
    this.downloads.add(download);
    return () => this.downloads.delete(download);
  }

  /** Refuses new downloads and waits up to `graceMs` for running ones, then cuts them off. */
  async drain(graceMs: number): Promise<void> {
    this.drainingSince ??= Date.now();
    if (this.downloads.size > 0) {
      this.logger.log(`waiting up to ${graceMs / 1000}s for ${this.downloads.size} download(s) to finish`);
    }
    const deadline = Date.now() + graceMs;
    while (this.downloads.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(1, deadline - Date.now()))));
    }
    for (const download of this.downloads) download.abort('the server shut down before the archive was complete');
    // Give the aborted downloads a moment to record their outcome.
    for (let i = 0; i < 50 && this.downloads.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
