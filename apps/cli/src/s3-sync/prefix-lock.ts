import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Flags } from '@oclif/core';
import { formatDuration, parseDuration } from '@prombackup/contract';
import { describeS3Failure, s3Status } from '../s3';
import type { SyncBucket } from './sync-bucket';

/** PREFIX/.prombackup-sync.lock: who holds the prefix (the same name as DIR's lock file). */
export const LOCK_KEY = '.prombackup-sync.lock';
const LOCK_FORMAT = 'prombackup-sync-lock/1';
export const DEFAULT_LOCK_STALE = '15m';
const MAX_LOCK_STALE_MS = 7 * 24 * 3600_000;
/** How often a holder rewrites its lock, at most: the stale age must pass several times over. */
const MAX_RENEW_MS = 60_000;

/** The lock flags of sync and forget; they mean something only for s3://. */
export const LOCK_FLAGS = {
  'break-lock': Flags.boolean({ summary: "Take over an s3:// prefix's lock that another sync or forget holds: only when you know that run is gone.", helpGroup: 'S3' }),
  'lock-stale': Flags.string({
    summary: `An s3:// prefix's lock not renewed for this long (a Go duration) was left by a run that died, and is taken over. Default: ${DEFAULT_LOCK_STALE}.`,
    helpValue: 'DURATION',
    helpGroup: 'S3',
  }),
};

/** The lock flags given on a command line whose target is not s3:// (they would do nothing). */
export function lockFlagsGiven(flags: { 'break-lock'?: boolean; 'lock-stale'?: string }): string[] {
  return [flags['break-lock'] ? '--break-lock' : '', flags['lock-stale'] !== undefined ? '--lock-stale' : ''].filter(Boolean);
}

/** What the lock object says: who holds the prefix, since when. */
export interface LockHolder {
  format: typeof LOCK_FORMAT;
  command: string;
  host: string;
  pid: number;
  started_at: string;
  renewed_at: string;
  /** Random, per run: how a holder knows the lock is still its own. */
  token: string;
}

/** The prefix is locked by another run that is neither stale nor broken with --break-lock. */
export class PrefixLockedError extends Error {}

/** --lock-stale as milliseconds; throws naming the flag. */
export function lockStaleMs(value: string | undefined): number {
  const text = value ?? DEFAULT_LOCK_STALE;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new Error(`--lock-stale: ${(err as Error).message}`);
  }
  if (ms < 1000) throw new Error(`--lock-stale must be at least 1s, got ${JSON.stringify(text)}`);
  if (ms > MAX_LOCK_STALE_MS) throw new Error(`--lock-stale must be at most 168h (a week), got ${JSON.stringify(text)}`);
  return ms;
}

interface Found {
  holder?: LockHolder;
  /** The server's time of the last write: what staleness goes by (renewals rewrite it). */
  written: Date;
  /** Why the object is not a lock we can read, if it is not. */
  unreadable?: string;
}

/**
 * One sync or forget at a time on a sync prefix. The lock object is created with If-None-Match: *
 * (only one of several creators gets it) and read back; its holder rewrites it every so often, so
 * one that no one renewed for the stale age was left by a run that died and may be taken over.
 */
export class PrefixLock {
  private timer?: NodeJS.Timeout;
  private renewing?: Promise<void>;
  /** Set once the lock is found to be someone else's: what the holder must not go on without. */
  private lost?: string;
  private released = false;

  private constructor(
    private readonly bucket: SyncBucket,
    private readonly holder: LockHolder,
    private readonly staleMs: number,
  ) {}

  get url(): string {
    return this.bucket.url(this.bucket.prefix + LOCK_KEY);
  }

  /** Takes the lock, or throws PrefixLockedError saying who holds it; `onTakeOver` hears of a stale or broken lock taken over. */
  static async acquire(bucket: SyncBucket, command: string, options: { staleMs: number; breakLock: boolean; onTakeOver?: (line: string) => void }): Promise<PrefixLock> {
    const now = new Date().toISOString();
    const lock = new PrefixLock(bucket, { format: LOCK_FORMAT, command, host: os.hostname(), pid: process.pid, started_at: now, renewed_at: now, token: randomUUID() }, options.staleMs);
    for (let attempt = 0; attempt < 3; attempt++) {
      // Looked at first, so that a store that ignores If-None-Match overwrites a lock only in a race.
      const found = await lock.read();
      if (found) {
        const age = bucket.storeNow() - found.written.getTime();
        if (!options.breakLock && age < options.staleMs) throw new PrefixLockedError(lock.heldBy(found, age));
        options.onTakeOver?.(`took over ${lock.url} (${describeHolder(found)}, last written ${formatAge(age)} ago): ${options.breakLock ? '--break-lock' : `not renewed for --lock-stale ${formatDuration(options.staleMs)}`}`);
        await lock.remove();
      }
      if (!(await lock.create())) continue; // someone else created it in between: look again
      const back = await lock.read();
      if (back?.holder?.token !== lock.holder.token) {
        if (back) throw new PrefixLockedError(lock.heldBy(back, bucket.storeNow() - back.written.getTime()));
        continue;
      }
      lock.timer = setInterval(() => void lock.renew(), Math.min(MAX_RENEW_MS, options.staleMs / 4)).unref();
      return lock;
    }
    throw new PrefixLockedError(`cannot take ${lock.url}: other runs keep creating and removing it`);
  }

  /** Throws unless the lock is still this run's: called before a step another run must not interleave with. */
  async confirm(): Promise<void> {
    await this.renewing;
    if (!this.lost) {
      const found = await this.read();
      if (found?.holder?.token !== this.holder.token) this.lost = found ? `it now belongs to ${describeHolder(found)}` : 'it was removed';
    }
    if (this.lost) throw new Error(`${this.url} is no longer this run's lock (${this.lost}; --break-lock or --lock-stale elsewhere?)`);
  }

  /** Removes the lock if it is still this run's; returns a warning instead of throwing. */
  async release(): Promise<string | undefined> {
    if (this.released) return undefined;
    this.released = true;
    clearInterval(this.timer);
    await this.renewing;
    try {
      const found = await this.read();
      if (found?.holder?.token !== this.holder.token) return found ? `${this.url} was left alone: it now belongs to ${describeHolder(found)}` : undefined;
      await this.remove();
      return undefined;
    } catch (err) {
      return `${(err as Error).message}; remove ${this.url} by hand if no sync or forget is running, or pass --break-lock next time`;
    }
  }

  /** For a process about to exit: no more renewals, so that the lock goes stale. */
  stopRenewing(): void {
    clearInterval(this.timer);
  }

  private renew(): void {
    if (this.renewing || this.lost || this.released) return;
    this.renewing = (async () => {
      try {
        const found = await this.read();
        if (found?.holder?.token !== this.holder.token) {
          this.lost = found ? `it now belongs to ${describeHolder(found)}` : 'it was removed';
          clearInterval(this.timer);
          return;
        }
        this.holder.renewed_at = new Date().toISOString();
        await this.put(false);
      } catch {
        // A store briefly out of reach: the next renewal tries again, and confirm() decides.
      } finally {
        this.renewing = undefined;
      }
    })();
  }

  private heldBy(found: Found, age: number): string {
    return (
      `${this.bucket.url()} is locked by ${describeHolder(found)}, last written ${formatAge(age)} ago (${this.url}): another sync or forget on this prefix is running, or died. ` +
      `If none is running, pass --break-lock; a lock not renewed for --lock-stale (${formatDuration(this.staleMs)}) is taken over by the next run`
    );
  }

  private async read(): Promise<Found | undefined> {
    try {
      const answer = await this.bucket.client.send(new GetObjectCommand({ Bucket: this.bucket.bucket, Key: this.bucket.prefix + LOCK_KEY, Range: 'bytes=0-65535' }));
      const written = answer.LastModified ?? new Date(0);
      const text = await answer.Body!.transformToString();
      try {
        const holder = JSON.parse(text) as LockHolder;
        if (holder?.format === LOCK_FORMAT && typeof holder.token === 'string') return { holder, written };
      } catch {
        // said below
      }
      return { written, unreadable: 'not a prombackup lock' };
    } catch (err) {
      if (s3Status(err) === 404 && (err as Error).name !== 'NoSuchBucket') return undefined;
      // A range of an empty object is unsatisfiable (416): it is there, but no lock.
      if (s3Status(err) === 416) return this.readEmpty();
      throw new Error(`cannot read ${this.url}: ${describeS3Failure(err)}`);
    }
  }

  /** The empty object at the lock's key, as Found (or undefined, gone meanwhile). */
  private async readEmpty(): Promise<Found | undefined> {
    try {
      const head = await this.bucket.client.send(new HeadObjectCommand({ Bucket: this.bucket.bucket, Key: this.bucket.prefix + LOCK_KEY }));
      return { written: head.LastModified ?? new Date(0), unreadable: 'not a prombackup lock (it is empty)' };
    } catch (err) {
      if (s3Status(err) === 404) return undefined;
      throw new Error(`cannot read ${this.url}: ${describeS3Failure(err)}`);
    }
  }

  /** Creates the lock where there is none; false when the store says one is there (412). */
  private async create(): Promise<boolean> {
    try {
      await this.put(true);
      return true;
    } catch (err) {
      if (s3Status(err) === 412 || s3Status(err) === 409) return false;
      throw new Error(`cannot write ${this.url}: ${describeS3Failure(err)}`);
    }
  }

  private async put(exclusive: boolean): Promise<void> {
    const body = `${JSON.stringify(this.holder, null, 1)}\n`;
    await this.bucket.client.send(
      new PutObjectCommand({ Bucket: this.bucket.bucket, Key: this.bucket.prefix + LOCK_KEY, Body: body, ContentType: 'application/json', ServerSideEncryption: this.bucket.write.ServerSideEncryption, SSEKMSKeyId: this.bucket.write.SSEKMSKeyId, IfNoneMatch: exclusive ? '*' : undefined }),
    );
  }

  private async remove(): Promise<void> {
    try {
      await this.bucket.client.send(new DeleteObjectCommand({ Bucket: this.bucket.bucket, Key: this.bucket.prefix + LOCK_KEY }));
    } catch (err) {
      throw new Error(`cannot remove ${this.url}: ${describeS3Failure(err)}`);
    }
  }
}

function describeHolder(found: Found): string {
  const h = found.holder;
  if (!h) return `an object that is ${found.unreadable}`;
  return `${h.command} (pid ${h.pid} on host ${h.host}, started ${h.started_at})`;
}

function formatAge(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms / 1000) * 1000));
}
