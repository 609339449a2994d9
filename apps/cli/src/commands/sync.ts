import fs from 'node:fs/promises';
import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { ApiError, type SnapshotContentsDto } from '@prombackup/client';
import { ARCHIVE_FORMAT_NAMES, type ArchiveFormat, formatBytes } from '@prombackup/contract';
import { createClient } from '../api';
import { ApiCommand } from '../api-command';
import { exitOnInterrupt } from '../interruption';
import { S3_FLAGS, checkBucket, createS3Client, isS3Url, parseS3Url, s3FlagsGiven, s3Settings } from '../s3';
import { LOCK_FLAGS, PrefixLock, lockFlagsGiven, lockStaleMs } from '../s3-sync/prefix-lock';
import { S3Syncer } from '../s3-sync/s3-syncer';
import { SyncBucket } from '../s3-sync/sync-bucket';
import { type Removal, removeSnapshot } from '../snapshot-removal';
import { DirBusyError, lockDir } from '../sync/dir-lock';
import { LocalSyncTarget } from '../sync/local-target';
import type { SyncPlan } from '../sync/sync-plan';
import type { SyncTarget } from '../sync/sync-target';
import { isUlid } from '../tsdb';
import { type SyncTallies, Syncer } from '../sync/syncer';
import { DEFAULT_SNAPSHOT_TIMEOUT, snapshotTimeoutMs, takeSnapshot } from '../take-snapshot';

/** The exit code of a sync that finished but left blocks out (their meta.json unreadable on the server). */
const PARTIAL_EXIT = 3;

export interface SyncResult extends SyncTallies {
  /** DIR, or the s3:// URL of the prefix. */
  dir: string;
  /** s3:// only: the manifest this sync wrote. */
  manifest?: string;
  snapshot_name: string;
  format: ArchiveFormat;
  /** Bytes of the snapshot's contents listing (its JSON), which every sync fetches. */
  listing_bytes: number;
  seconds: number;
  snapshot_removed: boolean;
  /** Blocks of the snapshot the server could not list (their meta.json unreadable there): not synced; an earlier copy is kept. */
  unreadable_blocks: { ulid: string; earlier_copy_kept: boolean }[];
}

/** As create: how long a snapshot still held by a download the CLI broke off is retried for removal. */
const REMOVE_BUSY_WAIT_MS = 5_000;

export default class Sync extends ApiCommand<typeof Sync> {
  static override summary = 'Keep a folder or an s3:// prefix a copy of the TSDB, downloading only the blocks it lacks.';
  static override description =
    'Takes a snapshot, lists its blocks and downloads, one archive per block, each block DIR does not have with the same files, sizes and ' +
    "modification times. Each block is written into a hidden folder inside DIR, checked against the server's SHA-256, fsynced and only then renamed " +
    'into place, so DIR only ever holds complete blocks and Prometheus can start on it at any moment. Blocks the snapshot no longer has are removed ' +
    'once every new block is in place (not with --keep-removed); files that are not block folders are never touched. Then the snapshot is removed ' +
    'from the server, unless --keep-snapshot. ' +
    'Into s3://BUCKET/PREFIX, each block file is stored once under PREFIX/blocks/ULID/, uploaded while it downloads and completed only once ' +
    "the block is verified, and each sync ends by writing PREFIX/manifests/SNAPSHOT.json naming the blocks it needs: restore takes any manifest.";
  static override examples = [
    '<%= config.bin %> sync /backups/prometheus --server http://prombackupserver:8080',
    '<%= config.bin %> sync /backups/prometheus --skip-head --keep-removed --json',
    '<%= config.bin %> sync s3://my-backups/prometheus --s3-region eu-west-1',
    'prometheus --storage.tsdb.path=/backups/prometheus --storage.tsdb.retention.time=10y   # start on the copy',
  ];
  static override args = {
    dir: Args.string({ description: 'The folder to keep a copy in (created when missing), or s3://BUCKET/PREFIX', required: true }),
  };
  static override flags = {
    format: Flags.option({
      char: 'f',
      options: ARCHIVE_FORMAT_NAMES,
      default: 'tar' as ArchiveFormat,
      summary: 'Archive format of each transfer: tar is fastest where the network is not the limit; tzst sends about a quarter fewer bytes of TSDB data (chunks are compressed already), for CPU on both ends.',
    })(),
    'skip-head': Flags.boolean({ summary: 'Leave out the in-memory head block (the most recent hours not yet in a block).' }),
    'keep-removed': Flags.boolean({ summary: 'Keep block folders that the snapshot no longer has (compacted away or past retention on the server).' }),
    'keep-snapshot': Flags.boolean({ summary: 'Leave the snapshot on the server. By default it is removed at the end, whatever the outcome.' }),
    'snapshot-timeout': Flags.string({
      summary: "How long to wait for the server to take the snapshot, as a Go duration; keep it above the server's -prometheus_timeout (10m by default).",
      default: DEFAULT_SNAPSHOT_TIMEOUT,
      helpValue: 'DURATION',
    }),
    ...S3_FLAGS,
    ...LOCK_FLAGS,
    parallel: Flags.integer({ summary: 'Blocks downloaded at the same time (1-8); 2 was about a fifth faster on a 2-core machine running both ends, at twice the load on the server.', default: 1, min: 1, max: 8, helpValue: 'N' }),
  };

  private snapshotName?: string;
  private stopping?: Promise<never>;

  async run(): Promise<SyncResult> {
    const { args } = await this.parse(Sync);
    const snapshotTimeout = this.flags['snapshot-timeout'];
    this.client = createClient(this.server, this.token, snapshotTimeoutMs(snapshotTimeout));
    const target = isS3Url(args.dir) ? await this.s3Target(args.dir) : await this.localTarget(args.dir);
    const dir = target.where;
    const stopWatching = exitOnInterrupt({ cleanUp: (signal) => this.cleanUpAfter(signal, target), lastResort: () => target.closeNow() }, (stopping) => (this.stopping = stopping));
    try {
      for (const line of await target.clearLeftovers()) this.logToStderr(line);
      const started = Date.now();
      const name = (this.snapshotName = await takeSnapshot(this.client, this.flags['skip-head'], this.flags.format, snapshotTimeout));
      let tallies: SyncTallies;
      let listingBytes: number;
      let plan: SyncPlan;
      try {
        const contents = await this.contentsOf(name);
        listingBytes = Buffer.byteLength(JSON.stringify(contents));
        // A ULID folder the server lists among `other` is a block whose meta.json it could not read: it cannot be synced, and must not pass unseen.
        const unlisted = contents.other.filter((o) => o.type === 'directory' && isUlid(o.name)).map((o) => o.name);
        plan = await target.plan(contents.blocks, unlisted);
        for (const u of plan.unreadable) {
          // Written directly: with --json oclif silences logToStderr, and this must reach the operator.
          process.stderr.write(`prombackup: warning: block ${u.ulid} is in the snapshot, but the server could not read its meta.json (missing, damaged or not this block's): it is not synced${u.earlier_copy_kept ? `; the copy in ${dir} is kept` : ''}\n`);
        }
        for (const b of plan.fetch) if (b.action === 'replace') this.logToStderr(`block ${b.ulid} differs from the snapshot's (${b.reason}): replacing it`);
        tallies = await target.apply(name, contents.blocks, plan);
      } catch (err) {
        if (!this.stopping) await this.dropSnapshot(name);
        throw err;
      }
      const removal = await this.dropSnapshot(name);
      const result: SyncResult = { dir, snapshot_name: name, format: this.flags.format, ...tallies, listing_bytes: listingBytes, seconds: (Date.now() - started) / 1000, snapshot_removed: removal?.removed === true, unreadable_blocks: plan.unreadable };
      this.report(result);
      // Done, but not whole: a job that only checks the exit code must notice (rsync's "partial transfer" idea).
      if (plan.unreadable.length > 0) process.exitCode = PARTIAL_EXIT;
      return result;
    } finally {
      stopWatching();
      if (!this.stopping) await target.close();
    }
  }

  private async localTarget(arg: string): Promise<SyncTarget> {
    const given = [...s3FlagsGiven(this.flags), ...lockFlagsGiven(this.flags)];
    if (given.length > 0) this.error(`${given.join(', ')} only apply to an s3:// target`, { exit: 2 });
    const dir = path.resolve(arg);
    await this.prepareDir(dir);
    try {
      const lock = await lockDir(dir);
      return new LocalSyncTarget(dir, new Syncer(this.client, dir, { format: this.flags.format, parallel: this.flags.parallel, keepRemoved: this.flags['keep-removed'] }), lock);
    } catch (err) {
      this.error((err as Error).message, { exit: err instanceof DirBusyError ? 1 : 2 });
    }
  }

  /** s3://BUCKET/PREFIX (a trailing '/' or not: it is a prefix either way), checked against the store before a snapshot is taken. */
  private async s3Target(url: string): Promise<SyncTarget> {
    if (this.flags['keep-removed']) this.error('--keep-removed has no meaning for s3://: sync never removes blocks from a bucket (forget does, by manifest)', { exit: 2 });
    let bucket: SyncBucket;
    let staleMs: number;
    try {
      staleMs = lockStaleMs(this.flags['lock-stale']);
      const location = parseS3Url(url);
      const settings = s3Settings(this.flags);
      bucket = new SyncBucket(createS3Client(settings), location.bucket, location.key === undefined ? location.prefix : `${location.key}/`, settings.write);
    } catch (err) {
      this.error((err as Error).message, { exit: 2 });
    }
    let lock: PrefixLock;
    let acquiring: Promise<PrefixLock> | undefined;
    // A signal inside acquire: the lock may already be written, and is ours to remove.
    const stopWatching = exitOnInterrupt(
      {
        cleanUp: async (signal) => {
          const warning = await (await acquiring?.catch(() => undefined))?.release();
          return `stopped by ${signal} while taking the lock on ${bucket.url()}; nothing was changed${warning ? `; ${warning}` : ''}`;
        },
        lastResort: () => undefined,
      },
      (stopping) => (this.stopping = stopping),
    );
    try {
      await checkBucket(bucket.client, bucket.bucket);
      if (this.stopping) return this.stopping;
      lock = await (acquiring = PrefixLock.acquire(bucket, 'sync', { staleMs, breakLock: this.flags['break-lock'], onTakeOver: (line) => process.stderr.write(`prombackup: ${line}\n`) }));
    } catch (err) {
      if (this.stopping) return this.stopping;
      bucket.client.destroy();
      this.error((err as Error).message, { exit: 1 });
    } finally {
      stopWatching();
    }
    if (this.stopping) return this.stopping;
    return new S3Syncer(this.client, bucket, { format: this.flags.format, parallel: this.flags.parallel }, lock);
  }

  /** DIR is created when missing; anything but a folder (or a link to one) is refused before a snapshot is taken. */
  private async prepareDir(dir: string): Promise<void> {
    try {
      await fs.mkdir(dir, { recursive: true });
      const stats = await fs.stat(dir);
      if (!stats.isDirectory()) this.error(`${dir} is not a folder`, { exit: 2 });
      await fs.access(dir, fs.constants.W_OK | fs.constants.X_OK);
    } catch (err) {
      if ((err as { oclif?: unknown }).oclif) throw err;
      const e = err as NodeJS.ErrnoException;
      this.error(e.code === 'EEXIST' || e.code === 'ENOTDIR' ? `${dir} is not a folder` : `cannot use ${dir}: ${e.message}`, { exit: 2 });
    }
  }

  private async contentsOf(name: string): Promise<SnapshotContentsDto> {
    try {
      return await this.client.snapshots.snapshotContents({ name });
    } catch (err) {
      // The Go original and servers before this endpoint answer 404 for the path itself.
      if (err instanceof ApiError && err.status === 404 && !/snapshot/i.test(JSON.stringify(err.body ?? ''))) {
        throw new Error(`the server has no GET /api/snapshot_contents (an older prombackup-server?); sync needs it`);
      }
      throw err;
    }
  }

  private report(r: SyncResult): void {
    const t = (x: { blocks: number; bytes: number }) => `${x.blocks} block${x.blocks === 1 ? '' : 's'} (${formatBytes(x.bytes)})`;
    const extra = [r.tombstones_replaced ? `${r.tombstones_replaced} only for new tombstones` : '', r.replaced ? `${r.replaced} replaced whole` : ''].filter(Boolean).join(', ');
    this.log(
      `${r.dir}: transferred ${t(r.transferred)}${extra ? ` [${extra}]` : ''} in ${formatBytes(r.transferred.archive_bytes + r.listing_bytes)} over the wire, ` +
        (r.manifest
          ? `uploaded ${formatBytes(r.uploaded_bytes ?? 0)}, kept ${t(r.kept)}${r.left.blocks ? `, ${t(r.left)} no longer named (they stay for older manifests until forget)` : ''}; ` +
            `${r.manifest} names ${t(r.total)}`
          : `kept ${t(r.kept)}, removed ${t(r.removed)}${r.left.blocks ? `, left ${t(r.left)} the snapshot no longer has (--keep-removed)` : ''}; now ${t(r.total)}`) +
        ` from snapshot ${r.snapshot_name} in ${r.seconds.toFixed(1)}s${r.snapshot_removed ? '; snapshot removed from the server' : ''}` +
        (r.unreadable_blocks.length ? `; NOT synced: ${r.unreadable_blocks.map((u) => u.ulid).join(', ')} (meta.json unreadable on the server, see above)` : ''),
    );
  }

  /** Removes the snapshot this run took, unless --keep-snapshot; a snapshot left behind is said, not failed on. */
  private async dropSnapshot(name: string): Promise<Removal | undefined> {
    if (this.flags['keep-snapshot']) return undefined;
    const removal = await removeSnapshot(this.client, name, this.server, { busyWaitMs: REMOVE_BUSY_WAIT_MS });
    if (!removal.removed && !removal.gone) process.stderr.write(`prombackup: snapshot ${name} was left on the server: ${removal.reason}\n`);
    return removal;
  }

  /** After SIGINT, SIGTERM or SIGHUP: downloads cut, the work folder removed, the snapshot removed, the lock let go. */
  private async cleanUpAfter(signal: NodeJS.Signals, target: SyncTarget): Promise<string> {
    const stopped = `stopped by ${signal}`;
    await target.stop();
    const name = this.snapshotName;
    if (!name) return `${stopped} before a snapshot was taken; nothing in the folder changed (the server may still finish a snapshot)`;
    let after = '';
    if (!this.flags['keep-snapshot']) {
      const removal = await removeSnapshot(this.client, name, this.server, { busyWaitMs: REMOVE_BUSY_WAIT_MS });
      if (removal.removed || removal.gone) after = '; the snapshot is removed from the server';
      else after = `; the snapshot was left on the server: ${removal.reason}${removal.inUse ? ` (\`prombackup delete ${name}\` removes it)` : ''}`;
    }
    const kept = target instanceof S3Syncer ? 'blocks already uploaded stay, unfinished uploads are aborted, no manifest was written and the lock is released' : 'blocks already in place stay, the partial ones are removed';
    return `${stopped} while syncing snapshot ${name}; ${kept}${after}`;
  }

  /** An interrupted run stands aside: the signal handler cleans up, reports and exits. */
  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (this.stopping) return this.stopping;
    return super.catch(err);
  }
}
