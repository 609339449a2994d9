import path from 'node:path';
import { type Command, Flags } from '@oclif/core';
import { ARCHIVE_FORMAT_NAMES, type ArchiveFormat, archiveFileName, compressionLevelProblem, formatBytes } from '@prombackup/contract';
import { ApiCommand } from './api-command';
import { receiveInto, receiveToStdout, receiveWith } from './archive-receive';
import { AtomicFile } from './atomic-file';
import { checksumFileFor, writeChecksumFile } from './checksum-file';
import { verify, waitForOutcome } from './download-outcome';
import { HashingFileWriter } from './hashing-file-writer';
import { exitOnInterrupt } from './interruption';
import { metricsFileProblem, writeMetricsFile } from './metrics-file';
import { type OutputKind, checkTarget, outputKind } from './output-target';
import { S3_FLAGS, type S3FlagValues, isS3Url, s3FlagsGiven } from './s3';
import { S3OutputTarget } from './s3-output-target';
import { removeStalePartials } from './stale-partials';

/** The flags of every command that saves an archive (create, download). */
export const ARCHIVE_FLAGS = {
  format: Flags.option({ char: 'f', options: ARCHIVE_FORMAT_NAMES, default: 'tar' as ArchiveFormat, summary: 'Archive format.' })(),
  output: Flags.string({
    char: 'o',
    summary:
      "Where to write the archive: a file, a folder (the server's file name goes in it), a device or named pipe, '-' for standard output, " +
      "or s3://BUCKET/KEY or s3://BUCKET/PREFIX/ (the server's file name goes under the prefix). Default: the server's file name in the current folder.",
    helpValue: 'PATH',
  }),
  level: Flags.integer({ summary: 'Compression level for tgz (1-9, default 1) or tzst (1-19, default 3).', min: 1, max: 19 }),
  force: Flags.boolean({ summary: 'Replace an existing file at the output path (with --output -: write to a terminal too).' }),
  'checksum-file': Flags.boolean({
    summary: 'Write ARCHIVE.sha256 beside the archive, for `sha256sum -c` (not for standard output, devices or pipes).',
    default: true,
    allowNo: true,
  }),
  'metrics-file': Flags.string({
    summary: "Also record the run in node_exporter's textfile format (a .prom file, replaced atomically): last success time, duration, bytes, outcome.",
    helpValue: 'PATH',
  }),
  ...S3_FLAGS,
};

interface ArchiveFlagValues extends S3FlagValues {
  format: ArchiveFormat;
  output?: string;
  level?: number;
  force: boolean;
  'checksum-file': boolean;
  'metrics-file'?: string;
}

export interface SavedArchive {
  path: string;
  bytes: number;
  sha256: string;
  download_id: string;
  format: ArchiveFormat;
  /** ARCHIVE.sha256 beside the archive; null for standard output, a device or a pipe, or with --no-checksum-file. */
  checksum_file: string | null;
  /** s3:// only: whether the object carries the SHA-256 as x-amz-meta-sha256 too. */
  sha256_metadata?: boolean;
}

/**
 * Downloads a snapshot as an archive and keeps it only once verified: into a temporary file
 * beside the target, checked against the server's status and SHA-256, then put in place with its
 * checksum file. Also what a signal interrupting that undoes, and --metrics-file.
 */
export abstract class ArchiveCommand<T extends typeof Command> extends ApiCommand<T> {
  /** Aborted by an interrupting signal: closes the download's connection. */
  private readonly cancel = new AbortController();
  // What is under way, for the one line an interrupting signal prints and for its cleanup.
  protected snapshotName?: string;
  protected kind: OutputKind | 'stdout' | 's3' = 'folder';
  private s3?: S3OutputTarget;
  private target?: string;
  private file?: AtomicFile;
  private writer?: HashingFileWriter;
  private committing?: Promise<unknown>;
  private stopping?: Promise<never>;
  // What --metrics-file records: set once the flags were found good, and when the archive is saved.
  private runStarted?: number;
  private saved?: { bytes: number };

  protected get archiveFlags(): ArchiveFlagValues {
    return this.flags as unknown as ArchiveFlagValues;
  }

  /** Checks the archive flags before anything happens on the server; exits 2 (or 1) naming the problem. */
  protected async checkArchiveFlags(): Promise<void> {
    const { format, output, level, force } = this.archiveFlags;
    if (output === '-' && this.jsonEnabled()) this.error('--json cannot be combined with --output -: standard output carries the archive', { exit: 2 });
    // Megabytes of binary on a terminal are a mistake, and its escape bytes garble it (gzip and zstd refuse too).
    if (output === '-' && process.stdout.isTTY && !force) this.error('standard output is a terminal; not writing a binary archive to it (redirect or pipe it, or use --force)', { exit: 2 });
    const levelProblem = level === undefined ? undefined : compressionLevelProblem(format, level);
    if (levelProblem) this.error(`--${levelProblem}`, { exit: 2 });
    const s3Flags = s3FlagsGiven(this.archiveFlags);
    if (s3Flags.length > 0 && !isS3Url(output)) this.error(`${s3Flags.join(', ')} only apply to an s3:// --output`, { exit: 2 });
    const metricsProblem = this.archiveFlags['metrics-file'] && (await metricsFileProblem(this.archiveFlags['metrics-file']));
    if (metricsProblem) this.error(metricsProblem, { exit: 2 });
    if (isS3Url(output)) {
      this.kind = 's3';
      this.s3 = await S3OutputTarget.prepare(output, this.archiveFlags, force);
    } else {
      this.kind = output === '-' ? 'stdout' : await outputKind(output);
      if (this.kind === 'file') await checkTarget(path.resolve(output!), force);
    }
    this.runStarted = Date.now();
  }

  /** Until the returned function is called, a signal undoes the work under way (see interruption.ts). */
  protected watchInterrupts(): () => void {
    return exitOnInterrupt(
      {
        cleanUp: async (signal) => {
          const line = await this.cleanUpAfter(signal);
          await this.recordRun();
          return line;
        },
        lastResort: () => this.file?.discardNow(),
      },
      (stopping) => (this.stopping = stopping),
    );
  }

  protected get interrupted(): boolean {
    return this.stopping !== undefined;
  }

  /** Downloads snapshot `name`, verifies it with the server and saves it where --output says. */
  protected async fetchArchive(name: string): Promise<SavedArchive> {
    const { format, output, level, force } = this.archiveFlags;
    this.snapshotName = name;
    if (this.s3) return this.uploadArchive(name, this.s3);
    try {
      let target = this.kind === 'stdout' ? '-' : path.resolve(output ?? '.');
      if (this.kind === 'folder') {
        target = path.join(target, archiveFileName(name, format));
        await checkTarget(target, force);
      }
      this.target = target;
      const params = { name, format, level };
      const label = `${name}${archiveFileName('', format)}`;
      if (this.kind === 'file' || this.kind === 'folder') {
        for (const stale of await removeStalePartials(target, { anyArchive: this.kind === 'folder' })) this.logToStderr(`removed ${stale}, a partial download its CLI left behind`);
        this.file = new AtomicFile(target);
        await this.file.create();
      }
      const file = this.file;
      // The writer is made before the request, so its worker thread starts up meanwhile.
      if (this.kind !== 'stdout') this.writer = new HashingFileWriter(file?.tempPath ?? target, { sequential: !file, exclusive: false });
      const cancel = this.cancel.signal;
      const { id, bytes, sha256 } = this.writer
        ? await receiveWith(this.client, params, this.writer, label, cancel)
        : await receiveToStdout(this.client, params, label, cancel);
      verify(await waitForOutcome(this.client, id), sha256, id);
      this.committing = file?.commit(force);
      await this.committing;
      const checksumFile = file && this.archiveFlags['checksum-file'] ? await this.saveChecksum(target, sha256) : null;
      this.saved = { bytes };
      return { path: target, bytes, sha256, download_id: id, format, checksum_file: checksumFile };
    } finally {
      await this.file?.discard();
    }
  }

  /** As fetchArchive, into an S3 multipart upload that is completed only once verified, and aborted otherwise. */
  private async uploadArchive(name: string, s3: S3OutputTarget): Promise<SavedArchive> {
    const { format, level, force } = this.archiveFlags;
    this.target = await s3.choose(archiveFileName(name, format), force);
    try {
      const label = `${name}${archiveFileName('', format)}`;
      const { id, bytes, sha256 } = await receiveInto(this.client, { name, format, level }, (size) => s3.open(size), label, this.cancel.signal);
      verify(await waitForOutcome(this.client, id), sha256, id);
      const saved = await (this.committing = s3.commit(sha256, force, this.archiveFlags['checksum-file']));
      this.saved = { bytes };
      if (saved.warning) process.stderr.write(`prombackup: warning: ${saved.warning}\n`);
      return { path: this.target, bytes, sha256, download_id: id, format, checksum_file: saved.checksumFile, sha256_metadata: saved.metadata };
    } catch (err) {
      const leftOver = await s3.discard();
      if (leftOver && err instanceof Error) err.message += `; ${leftOver}`;
      throw err;
    }
  }

  /** The one line that says what was saved: on stdout, or on stderr when stdout carries the archive. */
  protected report(saved: SavedArchive, suffix = ''): void {
    const line = `${saved.path === '-' ? 'archive' : saved.path}: ${formatBytes(saved.bytes)} from snapshot ${this.snapshotName}, SHA-256 ${saved.sha256} verified with the server (download ${saved.download_id})${suffix}`;
    if (saved.path === '-') this.logToStderr(line);
    else this.log(line);
  }

  /** What else an interruption leaves to say after the download was stopped (create: the snapshot's fate). */
  protected async afterInterrupt(): Promise<string> {
    return '';
  }

  /** The archive is verified and in place by now: a failure here says so, and leaves it. */
  private async saveChecksum(target: string, sha256: string): Promise<string> {
    try {
      return await writeChecksumFile(target, sha256);
    } catch (err) {
      this.error(`${target} is verified and saved, but ${checksumFileFor(target)} could not be written: ${(err as Error).message}`, { exit: 1 });
    }
  }

  public override async finally(err: Error | undefined): Promise<unknown> {
    await this.recordRun();
    return super.finally(err);
  }

  /** Writes --metrics-file once per run; a failure to write it is said, but does not undo a saved archive. */
  private async recordRun(): Promise<void> {
    const file = this.flags === undefined ? undefined : this.archiveFlags['metrics-file'];
    if (!file || this.runStarted === undefined) return;
    const started = this.runStarted;
    this.runStarted = undefined;
    const endedAt = Date.now();
    const record = { success: this.saved !== undefined, endedAt, seconds: (endedAt - started) / 1000, bytes: this.saved?.bytes ?? this.writer?.bytes ?? 0 };
    await writeMetricsFile(file, record).catch((err: Error) => process.stderr.write(`prombackup: --metrics-file ${file} not written: ${err.message}\n`));
  }

  /** An interrupted run stands aside: the signal handler cleans up, reports and exits. */
  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (this.stopping) return this.stopping;
    return super.catch(err);
  }

  /** Undoes what an interrupting signal cut short; returns the line saying what that was. */
  private async cleanUpAfter(signal: NodeJS.Signals): Promise<string> {
    const stopped = `stopped by ${signal}`;
    const snapshot = `snapshot ${this.snapshotName}`;
    if (!this.snapshotName) return `${stopped} while the server was taking a snapshot; nothing was written (the server may still finish the snapshot)`;
    if (this.committing) {
      // A rename cannot be taken back half way: let it end and say how it ended.
      const outcome = await this.committing.then(() => undefined, (err: Error) => err);
      return outcome ? `${stopped} while saving ${snapshot}: ${outcome.message}` : `${stopped} after ${snapshot} was verified and saved as ${this.target}`;
    }
    // The connection closes first: the server then ends the download and lets go of the snapshot.
    this.cancel.abort();
    await this.writer?.abort();
    await this.file?.discard();
    const leftOver = await this.s3?.discard();
    const after = await this.afterInterrupt();
    if (this.kind === 's3') {
      return `${stopped} while uploading ${snapshot} to ${this.target}; ${leftOver ?? 'the multipart upload is aborted and nothing was saved'}${after}`;
    }
    if (this.kind === 'stdout') return `${stopped} while downloading ${snapshot} to standard output; what was written is incomplete${after}`;
    if (this.kind === 'stream') return `${stopped} while downloading ${snapshot} into ${this.target}; what was written is incomplete${after}`;
    return `${stopped} while downloading ${snapshot} to ${this.target}; the partial file is removed and nothing was saved${after}`;
  }
}
