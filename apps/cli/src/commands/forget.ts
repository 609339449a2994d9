import fs from 'node:fs/promises';
import path from 'node:path';
import { Args, Command, Flags } from '@oclif/core';
import { type FolderArchive, type ForgetArchive, type ForgetResult, NOTES, type RemovalOutcome, archiveLine, describeArchive, describeFsError, entryExists, readArchiveFolder, removeListedFile } from '../archive-folder';
import { S3_FLAGS, checkBucket, createS3Client, isS3Url, parseS3Url, s3FlagsGiven, s3Settings } from '../s3';
import { exitOnInterrupt } from '../interruption';
import { type BucketForgetResult, forgetInBucket } from '../s3-sync/bucket-forget';
import { LOCK_FLAGS, PrefixLock, lockFlagsGiven, lockStaleMs } from '../s3-sync/prefix-lock';
import { SyncBucket } from '../s3-sync/sync-bucket';
import { RETENTION_RULES, type RetentionPolicy, applyRetention, describePolicy, describeReasons } from '../retention-policy';
import { type ErrorJson, errorJson } from '../error-json';

/** Beyond this past now an archive's time is not believed (a wrong clock, a stray name): kept, but not counted by any rule. */
const FUTURE_TOLERANCE_MS = 24 * 3600_000;
const FUTURE_NOTE = 'dated more than a day in the future: kept, and not counted by the policy (else it would stay "the newest" for good)';

const keepFlag = (what: string) =>
  Flags.string({ summary: `Keep the newest archive of each of the last N ${what} that have archives.`, helpValue: 'N' });

/** `prombackup forget DIR --keep-…`: restic-style retention for the archives `create` writes into a folder. */
export default class Forget extends Command {
  static override summary = 'Remove old archives from a folder or an s3:// prefix, or old sync manifests and their blocks, by a retention policy (restic-style --keep-* rules).';
  static override description =
    'Looks only at regular files named as create names them (SNAPSHOT.tar, .tar.gz, .tar.zst) and their .sha256 files; ' +
    'the time comes from the snapshot name (UTC), never from the file. Periods are UTC hours, days, ISO weeks, months and years. ' +
    'An archive kept by any rule stays. Links, folders, partial downloads and every other name are never touched.';
  static override examples = [
    '<%= config.bin %> forget /backups --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --dry-run',
    '<%= config.bin %> forget /backups --keep-last 3 --json',
    '<%= config.bin %> forget s3://my-backups/prometheus --keep-daily 7 --keep-weekly 5   # archives or a sync prefix',
  ];
  static override enableJsonFlag = true;

  /** A failure under --json: message and exit code only (see errorJson). */
  protected override toErrorJson(err: unknown): ErrorJson {
    return errorJson(err);
  }
  static override args = {
    dir: Args.string({ description: 'The folder create writes archives into, or s3://BUCKET/PREFIX (archives, or a sync prefix)', required: true }),
  };
  static override flags = {
    'keep-last': Flags.string({ summary: 'Keep the N newest archives.', helpValue: 'N' }),
    'keep-hourly': keepFlag('hours (UTC)'),
    'keep-daily': keepFlag('days (UTC)'),
    'keep-weekly': keepFlag('ISO weeks (UTC)'),
    'keep-monthly': keepFlag('months (UTC)'),
    'keep-yearly': keepFlag('years (UTC)'),
    'dry-run': Flags.boolean({ summary: 'Only list what would be removed.' }),
    ...S3_FLAGS,
    ...LOCK_FLAGS,
  };

  private stopping?: Promise<never>;

  async run(): Promise<ForgetResult | BucketForgetResult> {
    const { args, flags } = await this.parse(Forget);
    const policy = this.policyFrom(flags);
    if (isS3Url(args.dir)) return this.forgetInBucket(args.dir, policy, flags);
    const given = [...s3FlagsGiven(flags), ...lockFlagsGiven(flags)];
    if (given.length > 0) this.error(`${given.join(', ')} only apply to an s3:// URL`, { exit: 2 });
    const dir = await this.checkFolder(args.dir);
    const dryRun = flags['dry-run'] === true;
    const folder = await readArchiveFolder(dir).catch((err) => this.error(`cannot read ${dir}: ${describeFsError(err)}`, { exit: 1 }));
    const horizon = Date.now() + FUTURE_TOLERANCE_MS;
    const future = folder.archives.filter((a) => a.time.getTime() > horizon);
    const decisions = applyRetention(folder.archives.filter((a) => !future.includes(a)), policy);
    const toRemove = decisions.filter((d) => !d.keep).length + folder.orphanChecksums.length;
    if (!dryRun && toRemove > 0) {
      // Refused up front (for users other than root), so that nothing is half done.
      await fs.access(dir, fs.constants.W_OK | fs.constants.X_OK).catch((err) => this.error(`cannot remove files in ${dir}: ${describeFsError(err)}; nothing was removed`, { exit: 1 }));
    }
    const result: ForgetResult = { dir, dry_run: dryRun, policy, archives: [], orphan_checksums: [], ignored: folder.ignored, kept: 0, removed: 0 };
    const json = this.jsonEnabled();
    if (!json) this.log(`${dryRun ? 'dry run: ' : ''}${describePolicy(policy)} in ${dir}`);
    for (const { item, keep, reasons } of decisions) {
      const entry = describeArchive(item, keep, reasons);
      result.archives.push(entry);
      if (keep) {
        result.kept++;
      } else if (dryRun) {
        entry.outcome = 'would-remove';
        entry.checksum_outcome = item.checksum ? 'would-remove' : null;
      } else {
        await this.removeArchive(dir, item, entry, result);
      }
      if (!json) this.log(archiveLine(entry));
    }
    for (const item of future) {
      const entry = { ...describeArchive(item, true, []), note: FUTURE_NOTE };
      result.archives.push(entry);
      result.kept++;
      if (!json) this.log(`${'keep'.padEnd(12)} ${entry.name}  ${FUTURE_NOTE}`);
    }
    for (const orphan of folder.orphanChecksums) {
      let outcome: ForgetResult['orphan_checksums'][number]['outcome'] = 'would-remove';
      if (!dryRun) {
        // Its archive may have appeared since the listing (create writes the archive first).
        const archiveName = orphan.name.slice(0, -'.sha256'.length);
        outcome = (await entryExists(dir, archiveName)) ? 'kept' : await this.remove(dir, orphan, result);
      }
      result.orphan_checksums.push({ name: orphan.name, outcome });
      if (!json) this.log(`${outcome.padEnd(12)} ${orphan.name}  (checksum without its archive${NOTES[outcome] ? `; ${NOTES[outcome]}` : ''})`);
    }
    if (!json) {
      for (const entry of folder.ignored) this.log(`ignored ${entry.name}: ${entry.why}`);
      const going = result.archives.filter((a) => a.action === 'remove').length;
      this.log(dryRun ? `would remove ${going} of ${result.archives.length} archives; nothing was removed (dry run)` : `kept ${result.kept} archives, removed ${result.removed} files`);
    }
    return result;
  }

  /** s3://BUCKET/PREFIX: archives there, and a sync prefix's manifests and the block objects only they named. */
  private async forgetInBucket(url: string, policy: RetentionPolicy, flags: Parameters<typeof s3Settings>[0] & { 'dry-run'?: boolean; 'break-lock': boolean; 'lock-stale'?: string }): Promise<BucketForgetResult> {
    let bucket: SyncBucket;
    let staleMs: number;
    try {
      staleMs = lockStaleMs(flags['lock-stale']);
      const location = parseS3Url(url);
      bucket = new SyncBucket(createS3Client(s3Settings(flags)), location.bucket, location.key === undefined ? location.prefix : `${location.key}/`);
    } catch (err) {
      this.error((err as Error).message, { exit: 2 });
    }
    const dryRun = flags['dry-run'] === true;
    let lock: PrefixLock | undefined;
    let acquiring: Promise<PrefixLock> | undefined;
    const stop = new AbortController();
    let running: Promise<unknown> | undefined;
    // Removing needs the prefix to itself (a sync may be about to name what would go); a dry run only reads.
    const stopWatching = exitOnInterrupt(
      {
        cleanUp: async (signal) => {
          stop.abort();
          await Promise.race([running?.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
          // A signal inside acquire: the lock may already be written, and is ours to remove.
          lock ??= await acquiring?.catch(() => undefined);
          const warning = await lock?.release();
          return `stopped by ${signal} during forget on ${bucket.url()}; what was removed stays removed, nothing more is${lock ? ', and the lock is released' : ''}${warning ? `; ${warning}` : ''}`;
        },
        lastResort: () => lock?.stopRenewing(),
      },
      (stopping) => (this.stopping = stopping),
    );
    try {
      await checkBucket(bucket.client, bucket.bucket);
      if (this.stopping) return this.stopping;
      if (!dryRun) lock = await (acquiring = PrefixLock.acquire(bucket, 'forget', { staleMs, breakLock: flags['break-lock'], onTakeOver: (line) => process.stderr.write(`prombackup: ${line}\n`) }));
      if (this.stopping) return this.stopping;
      const held = lock;
      running = forgetInBucket(bucket, policy, dryRun, held && { signal: stop.signal, confirm: () => held.confirm() });
      const result = (await running) as BucketForgetResult;
      if (!this.jsonEnabled()) {
        this.log(`${dryRun ? 'dry run: ' : ''}${describePolicy(policy)} in ${result.target}`);
        for (const item of [...result.archives, ...result.manifests]) {
          this.log(`${item.outcome.padEnd(12)} ${item.key}${item.checksum_key ? ' (+ .sha256)' : ''}${item.action === 'keep' ? `  ${describeReasons(item.reasons)}` : ''}`);
        }
        const b = result.block_objects;
        if (result.manifests.length > 0) {
          this.log(`block objects: ${b.removed} ${dryRun ? 'would be removed' : 'removed'} (${b.removed_bytes} bytes), ${b.kept} kept${b.recent_left ? `, ${b.recent_left} named by no manifest but younger than an hour left (a sync may be writing them)` : ''}`);
        }
      }
      return result;
    } catch (err) {
      if (this.stopping) return this.stopping;
      return this.error((err as Error).message, { exit: 1 });
    } finally {
      if (!this.stopping) {
        stopWatching();
        const warning = await lock?.release();
        if (warning) this.logToStderr(warning);
        bucket.client.destroy();
      }
    }
  }

  /** Archive first, then its checksum: an interruption between the two leaves an orphan checksum, never an unverifiable archive. */
  private async removeArchive(dir: string, item: FolderArchive, entry: ForgetArchive, result: ForgetResult): Promise<void> {
    entry.outcome = await this.remove(dir, item, result);
    // A name that now holds something else is left alone, and so is that thing's checksum.
    if (item.checksum && entry.outcome !== 'changed') entry.checksum_outcome = await this.remove(dir, item.checksum, result);
  }

  private async remove(dir: string, file: { name: string; dev: number; ino: number }, result: ForgetResult): Promise<RemovalOutcome> {
    try {
      const outcome = await removeListedFile(dir, file);
      if (outcome === 'removed') result.removed++;
      return outcome;
    } catch (err) {
      return this.error(`cannot remove ${path.join(dir, file.name)}: ${describeFsError(err)}; ${result.removed} files were removed before this, nothing after`, { exit: 1 });
    }
  }

  private policyFrom(flags: Record<string, unknown>): RetentionPolicy {
    const policy: RetentionPolicy = {};
    for (const rule of RETENTION_RULES) {
      const text = flags[`keep-${rule}`];
      if (typeof text !== 'string') continue;
      const n = /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : NaN;
      if (!Number.isSafeInteger(n)) this.error(`--keep-${rule} must be a whole number of 0 or more, got ${JSON.stringify(text)}`, { exit: 2 });
      policy[rule] = n;
    }
    const given = Object.keys(policy);
    if (given.length === 0) {
      this.error(`no retention policy given: pass at least one of ${RETENTION_RULES.map((r) => `--keep-${r}`).join(', ')}; without one every archive would be removed`, { exit: 2 });
    }
    if (!given.some((rule) => policy[rule as keyof RetentionPolicy]! > 0)) {
      this.error(`every --keep-* given is 0: that would remove every archive; give at least one a value above 0`, { exit: 2 });
    }
    return policy;
  }

  /** The folder as given, checked to be one (a link to a folder is fine: the user named it). */
  private async checkFolder(dir: string): Promise<string> {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) this.error(`${dir}: forget works on a local folder or an s3:// URL; other URLs are not supported`, { exit: 2 });
    const stats = await fs.stat(dir).catch((err) => this.error(`${dir}: ${describeFsError(err)}`, { exit: 2 }));
    if (!stats.isDirectory()) this.error(`${dir} is not a folder`, { exit: 2 });
    return dir;
  }

  /** As the other commands do: under --json the exit code in the error object is the process's too. */
  protected override async catch(err: Error & { oclif?: { exit?: number } }): Promise<unknown> {
    if (this.stopping) return this.stopping;
    if (this.jsonEnabled() && typeof err.oclif?.exit === 'number') process.exitCode = err.oclif.exit;
    return super.catch(err);
  }
}
