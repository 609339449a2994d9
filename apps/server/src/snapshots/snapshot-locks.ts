import { Injectable } from '@nestjs/common';

export type RemoveLock = 'acquired' | 'in-use' | 'being-removed';

/**
 * Which snapshots are being streamed, and which are being removed. Downloads and pruning
 * check each other here, so a prune never removes what a download is reading.
 */
@Injectable()
export class SnapshotLocks {
  private readonly readers = new Map<string, number>();
  private readonly removing = new Set<string>();

  /** Marks a snapshot as being read; false when it is being removed. */
  acquireRead(name: string): boolean {
    if (this.removing.has(name)) return false;
    this.readers.set(name, (this.readers.get(name) ?? 0) + 1);
    return true;
  }

  releaseRead(name: string): void {
    const count = (this.readers.get(name) ?? 0) - 1;
    if (count > 0) this.readers.set(name, count);
    else this.readers.delete(name);
  }

  inUse(name: string): boolean {
    return this.readers.has(name);
  }

  /**
   * Marks a snapshot as being removed. Says why not otherwise: a download is reading it, or
   * another remover (a concurrent prune) holds it, which must not be mistaken for "in use".
   */
  acquireRemove(name: string): RemoveLock {
    if (this.readers.has(name)) return 'in-use';
    if (this.removing.has(name)) return 'being-removed';
    this.removing.add(name);
    return 'acquired';
  }

  releaseRemove(name: string): void {
    this.removing.delete(name);
  }
}
