import fs from 'node:fs/promises';
import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { formatBytes } from '@prombackup/contract';
import { exitOnInterrupt } from '../interruption';
import { LocalCommand } from '../local-command';
import { FolderSource } from '../restore/folder-source';
import { RETENTION_MARGIN_DAYS, parseTime } from '../restore/restore-plan';
import { ArchiveSource, type RestoreSource } from '../restore/restore-source';
import { type RestoreResult, Restorer } from '../restore/restorer';
import { S3_FLAGS, isS3Url, parseS3Url, s3FlagsGiven, s3Settings } from '../s3';
import { S3SourceUsageError, openS3Source } from '../s3-sync/s3-source';

export default class Restore extends LocalCommand {
  static override summary = 'Put the blocks of a backup into a Prometheus data folder.';
  static override description =
    'SOURCE is an archive made by create or download (tar, tar.gz or tar.zst, recognised by content) or a folder kept by sync; ' +
    'or s3://BUCKET/KEY (an archive object, checked against KEY.sha256) or s3://BUCKET/PREFIX kept by sync (its newest manifest, or --manifest). ' +
    'The whole source is checked (only complete blocks, no links, devices or names outside them; SOURCE.sha256 when present) ' +
    'and nothing is written into TSDB_DIR before it passes: a local archive is extracted in one pass into a hidden folder beside TSDB_DIR, and its blocks, synced to disk, ' +
    'are renamed in at the end; when TSDB_DIR is a mount point, and for other sources, the source is read twice (checked, then extracted) instead. ' +
    'A TSDB_DIR that a running Prometheus uses is refused, an existing block that differs is never replaced, and blocks that overlap existing ones in time are reported. ' +
    'Ends with the command line that starts Prometheus on TSDB_DIR with a retention long enough to keep every block.';
  static override examples = [
    '<%= config.bin %> restore 20221109T202035Z-355a5b4970d5a906.tar.zst --to /prometheus',
    '<%= config.bin %> restore /backups/sync --to /prometheus --from 2024-01-01T00:00:00Z --until 2024-01-08T00:00:00Z',
    '<%= config.bin %> restore s3://my-backups/prometheus --to /prometheus --manifest 20240101T000000Z-0123456789abcdef',
  ];
  static override args = {
    source: Args.string({ description: 'An archive (tar, tar.gz, tar.zst) or a folder kept by sync; or s3://BUCKET/KEY or s3://BUCKET/PREFIX', required: true }),
  };
  static override flags = {
    to: Flags.string({ summary: "Prometheus' data folder (--storage.tsdb.path); created when missing.", required: true, helpValue: 'TSDB_DIR' }),
    verify: Flags.boolean({ summary: 'Check the archive against SOURCE.sha256 when that file exists (--no-verify skips it).', default: true, allowNo: true }),
    from: Flags.string({ summary: 'Restore only blocks with data at or after this time: Unix seconds or RFC 3339 (2024-01-02T03:04:05Z).', helpValue: 'TIME' }),
    until: Flags.string({ summary: 'Restore only blocks with data at or before this time: Unix seconds or RFC 3339.', helpValue: 'TIME' }),
    manifest: Flags.string({ summary: 'For an s3:// sync prefix: the manifest to restore (its snapshot name); default the newest.', helpValue: 'SNAPSHOT' }),
    ...S3_FLAGS,
  };

  private stopping?: Promise<never>;

  async run(): Promise<RestoreResult> {
    const { args, flags } = await this.parse(Restore);
    const usage = (message: string): never => this.error(message, { exit: 2 });
    const time = (value: string | undefined, flag: string) => {
      try {
        return value === undefined ? undefined : parseTime(value, flag);
      } catch (err) {
        return usage((err as Error).message);
      }
    };
    const from = time(flags.from, 'from');
    const until = time(flags.until, 'until');
    if (from !== undefined && until !== undefined && from > until) usage('--from is after --until');
    const to = path.resolve(flags.to);
    // A link to nothing would fail deep inside the restore with a bare ENOENT; said here, before anything is read.
    if ((await fs.lstat(to).then((s) => s.isSymbolicLink(), () => false)) && !(await fs.stat(to).then(() => true, () => false))) {
      usage(`--to ${to} is a link to ${await fs.readlink(to)}, which does not exist; create that folder, or give --to the folder itself`);
    }
    const source = isS3Url(args.source) ? await this.s3Source(args.source, flags) : await this.sourceAt(path.resolve(args.source), to, flags);

    const restorer = new Restorer({ source, to, verify: flags.verify, from, until, note: (line) => this.log(line) });
    const stopWatching = exitOnInterrupt(
      {
        cleanUp: async (signal) => {
          await restorer.stop();
          const placed = restorer.placed;
          return `stopped by ${signal} while restoring into ${to}; its temporary folders are removed${placed.length > 0 ? `; complete blocks already in place: ${placed.join(', ')}` : '; nothing was put in place'}`;
        },
        lastResort: () => restorer.stopNow(),
      },
      (stopping) => (this.stopping = stopping),
    );
    try {
      const result = await restorer.run();
      this.report(result);
      return result;
    } finally {
      stopWatching();
    }
  }

  /** An archive file or a sync folder; anything else, or TSDB_DIR itself, is a usage error. */
  private async sourceAt(sourcePath: string, to: string, flags: Parameters<typeof s3FlagsGiven>[0] & { manifest?: string }): Promise<RestoreSource> {
    const given = [...s3FlagsGiven(flags), ...(flags.manifest === undefined ? [] : ['--manifest'])];
    if (given.length > 0) this.error(`${given.join(', ')} only apply to an s3:// SOURCE`, { exit: 2 });
    const stats = await fs.stat(sourcePath).catch(() => this.error(`${sourcePath} does not exist`, { exit: 2 }));
    if (stats.isDirectory()) {
      const real = (p: string) => fs.realpath(p).catch(() => p);
      if (sourcePath === to || (await real(sourcePath)) === (await real(to))) this.error('SOURCE and --to are the same folder', { exit: 2 });
      return new FolderSource(sourcePath);
    }
    if (!stats.isFile()) this.error(`${sourcePath} is neither an archive file nor a folder`, { exit: 2 });
    return new ArchiveSource(sourcePath);
  }

  private async s3Source(url: string, flags: Parameters<typeof s3Settings>[0] & { manifest?: string }): Promise<RestoreSource> {
    let settings;
    try {
      parseS3Url(url);
      settings = s3Settings(flags);
    } catch (err) {
      this.error((err as Error).message, { exit: 2 });
    }
    try {
      return await openS3Source(url, settings, flags.manifest);
    } catch (err) {
      this.error((err as Error).message, { exit: err instanceof S3SourceUsageError ? 2 : 1 });
    }
  }

  private report(r: RestoreResult): void {
    const checksum = { verified: `, SHA-256 verified against ${r.source}.sha256`, absent: `; no ${r.source}.sha256 to verify against`, skipped: '; SHA-256 not checked (--no-verify)', none: '' }[r.checksum];
    this.log(`restored ${r.blocks_restored.length} block(s), ${formatBytes(r.bytes)}, from ${r.source} into ${r.to} in ${r.seconds.toFixed(1)}s${checksum}`);
    if (r.blocks_outside_range.length > 0) this.log(`left out ${r.blocks_outside_range.length} block(s) outside --from/--until`);
    if (r.prometheus_command) {
      this.log(`start Prometheus on it with a retention that keeps the oldest block (its age plus ${RETENTION_MARGIN_DAYS} days):`);
      this.log(`  ${r.prometheus_command}`);
    }
  }

  /** An interrupted run stands aside: the signal handler cleans up, reports and exits. */
  protected override async catch(err: Error & { oclif?: { exit?: number } }): Promise<unknown> {
    if (this.stopping) return this.stopping;
    return super.catch(err);
  }
}
