import { randomBytes } from 'node:crypto';

/**
 * Download ids sort by time as plain strings: a UTC timestamp to the millisecond, a counter for
 * ids made in the same millisecond, and a random tail so ids from a restarted server differ.
 */
export class DownloadIdGenerator {
  private lastMs = -1;
  private sequence = 0;

  next(nowMs: number): string {
    this.sequence = nowMs === this.lastMs ? this.sequence + 1 : 0;
    this.lastMs = nowMs;
    const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace('.', '');
    return `${stamp}-${this.sequence.toString(36).padStart(4, '0')}${randomBytes(3).toString('hex')}`;
  }
}
