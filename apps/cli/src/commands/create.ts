import path from 'node:path';
import { Flags } from '@oclif/core';
import { ARCHIVE_FORMAT_NAMES, type ArchiveFormat, archiveFileName, compressionLevelProblem } from '@prombackup/contract';
import { createClient } from '../api';
import { ApiCommand } from '../api-command';
import { receiveToStdout, receiveWith } from '../archive-receive';
import { AtomicFile } from '../atomic-file';
import { HashingFileWriter } from '../hashing-file-writer';
import { checksumFileFor, writeChecksumFile } from '../checksum-file';
import { verify, waitForOutcome } from '../download-outcome';
import { exitOnInterrupt } from '../interruption';
import { metricsFileProblem, writeMetricsFile } from '../metrics-file';
import { checkTarget, outputKind } from '../output-target';
import { formatBytes } from '../progress';
import { type Removal, removeSnapshot } from '../snapshot-removal';
import { removeStalePartials } from '../stale-partials';
import { DEFAULT_SNAPSHOT_TIMEOUT, snapshotTimeoutMs, takeSnapshot } from '../take-snapshot';

export interface CreateResult {
  path: string;
  bytes: number;
  sha256: string;
  snapshot_name: string;
  download_id: string;
  format: ArchiveFormat;
  seconds: number;
  /** Whether the snapshot was removed from the server after the download (false with --keep-snapshot). */
  snapshot_removed: boolean;
  /** ARCHIVE.sha256 beside the archive; null for standard output, a device or a pipe, or with --no-checksum-file. */
  checksum_file: string | null;
}


/** How long a snapshot still held by the server's side of a broken-off download is retried for removal. */
const REMOVE_BUSY_WAIT_MS = 5_000;

export default class Create extends ApiCommand<typeof Create> {
  static override summary = 'Take a snapshot, download it and verify it end to end.';
  static override description =
    'Asks the server for a new snapshot, streams it as an archive to a temporary file beside the target, and ' +
    "moves it into place only after the server confirms the download and the SHA-256 of the received bytes matches the server's.";
  static override examples = [
    '<%= config.bin %> -server http://prombackupserver:8080 create',
    'PROMBACKUP_ENDPOINT=http://prombackupserver:8080 <%= config.bin %> create -format tgz -output /tmp/mybackup.tar.gz',
    '<%= config.bin %> create --server http://localhost:8080 --format tzst --output - > backup.tar.zst',
    '<%= config.bin %> create --server http://localhost:8080 --format tzst --output /backups/',
  ];

  static override flags = {
    format: Flags.option({ char: 'f', options: ARCHIVE_FORMAT_NAMES, default: 'tar' as ArchiveFormat, summary: 'Archive format.' })(),
    output: Flags.string({
      char: 'o',
      summary: "Where to write the archive: a file, a folder (the server's file name goes in it), a device or named pipe, or '-' for standard output. Default: the server's file name in the current folder.",
      helpValue: 'PATH',
    }),
    'skip-head': Flags.boolean({ summary: 'Leave out the in-memory head block (the most recent hours not yet in a block).' }),
    level: Flags.integer({ summary: 'Compression level for tgz (1-9, default 1) or tzst (1-19, default 3).', min: 1, max: 19 }),
    force: Flags.boolean({ summary: 'Replace an existing file at the output path.' }),
    'checksum-file': Flags.boolean({
      summary: 'Write ARCHIVE.sha256 beside the archive, for `sha256sum -c` (not for standard output, devices or pipes).',
      default: true,
      allowNo: true,
    }),
    'keep-snapshot': Flags.boolean({
      summary: 'Leave the snapshot on the server. By default it is removed once its download has ended, verified or not: snapshots keep compacted-away blocks on disk.',
    }),
    'snapshot-timeout': Flags.string({
      summary: "How long to wait for the server to take the snapshot, as a Go duration; keep it above the server's -prometheus_timeout (10m by default).",
      default: DEFAULT_SNAPSHOT_TIMEOUT,
      helpValue: 'DURATION',
    }),
    'metrics-file': Flags.string({
      summary: "Also record the run in node_exporter's textfile format (a .prom file, replaced atomically): last success time, duration, bytes, outcome.",
      helpValue: 'PATH',
    }),
  };

  // What is under way, for the one line an interrupting signal prints and for its cleanup.
  private snapshotName?: string;
  private target?: string;
  private file?: AtomicFile;
  private writer?: HashingFileWriter;
  private committing?: Promise<void>;
  private stopping?: Promise<never>;
  // What --metrics-file records: set once the flags were found good, and when the backup is saved.
  private runStarted?: number;
  private saved?: { bytes: number };

  async run(): Promise<CreateResult> {
    const { format, output, level, force } = this.flags;
    const toStdout = output === '-';
    if (toStdout && this.jsonEnabled()) this.error('--json cannot be combined with --output -: standard output carries the archive', { exit: 2 });
    const levelProblem = level === undefined ? undefined : compressionLevelProblem(format, level);
    // Checked here as well as by the server, so a bad level does not leave a snapshot behind.
    if (levelProblem) this.error(`--${levelProblem}`, { exit: 2 });
    const snapshotTimeout = this.flags['snapshot-timeout'];
    this.client = createClient(this.server, this.token, snapshotTimeoutMs(snapshotTimeout));
    const kind = toStdout ? 'stdout' : await outputKind(output);
    if (kind === 'file') await checkTarget(path.resolve(output!), force);
    const metricsProblem = this.flags['metrics-file'] && (await metricsFileProblem(this.flags['metrics-file']));
    if (metricsProblem) this.error(metricsProblem, { exit: 2 });
    this.runStarted = Date.now();

    const stopWatching = exitOnInterrupt(
      {
        cleanUp: async (signal) => {
          const line = await this.cleanUpAfter(signal, kind);
          await this.recordRun();
          return line;
        },
        lastResort: () => this.file?.discardNow(),
      },
      (stopping) => (this.stopping = stopping),
    );
    try {
      const started = Date.now();
      const name = await takeSnapshot(this.client, this.flags['skip-head'], format, snapshotTimeout);
      this.snapshotName = name;
      let target = toStdout ? '-' : path.resolve(output ?? '.');
      let bytes: number, sha256: string, id: string;
      let checksumFile: string | null = null;
      try {
        if (kind === 'folder') {
          target = path.join(target, archiveFileName(name, format));
          await checkTarget(target, force);
        }
        this.target = target;
        const params = { name, format, level };
        const label = `${name}${archiveFileName('', format)}`;
        if (kind === 'file' || kind === 'folder') {
          for (const stale of await removeStalePartials(target, { anyArchive: kind === 'folder' })) this.logToStderr(`removed ${stale}, a partial download its CLI left behind`);
          this.file = new AtomicFile(target);
          await this.file.create();
        }
        const file = this.file;
        // The writer is made before the request, so its worker thread starts up meanwhile.
        if (kind !== 'stdout') this.writer = new HashingFileWriter(file?.tempPath ?? target, { sequential: !file, exclusive: false });
        ({ id, bytes, sha256 } = this.writer ? await receiveWith(this.client, params, this.writer, label) : await receiveToStdout(this.client, params, label));
        verify(await waitForOutcome(this.client, id), sha256, id);
        this.committing = file?.commit(force);
        await this.committing;
        if (file && this.flags['checksum-file']) checksumFile = await this.saveChecksum(target, sha256);
      } catch (err) {
        // The download's own failure is what the exit code reports; the snapshot goes either way.
        if (!this.stopping) await this.dropSnapshot(name);
        throw err;
      }
      this.saved = { bytes };
      const removal = await this.dropSnapshot(name);
      const result: CreateResult = {
        path: target,
        bytes,
        sha256,
        snapshot_name: name,
        download_id: id,
        format,
        seconds: (Date.now() - started) / 1000,
        snapshot_removed: removal?.removed === true,
        checksum_file: checksumFile,
      };
      const removed = removal?.removed ? '; snapshot removed from the server' : '';
      const line = `${toStdout ? 'archive' : target}: ${formatBytes(bytes)} from snapshot ${name}, SHA-256 ${sha256} verified with the server (download ${id})${removed}`;
      if (toStdout) this.logToStderr(line);
      else this.log(line);
      return result;
    } finally {
      await this.file?.discard();
      stopWatching();
    }
  }

  /**
   * Removes the snapshot this run took, unless --keep-snapshot. One line on stderr when it stays
   * (a server without DELETE /api/snapshot, such as the Go original, says so here); never fails the run.
   */
  private async dropSnapshot(name: string): Promise<Removal | undefined> {
    if (this.flags['keep-snapshot']) return undefined;
    const removal = await removeSnapshot(this.client, name, this.server, { busyWaitMs: REMOVE_BUSY_WAIT_MS });
    // Straight to stderr: oclif silences logToStderr under --json, and this must be seen.
    if (!removal.removed && !removal.gone) process.stderr.write(`prombackup: snapshot ${name} was left on the server: ${removal.reason}\n`);
    return removal;
  }

  /** The backup is verified and in place by now: a failure here says so, and leaves it. */
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

  /** Writes --metrics-file once per run; a failure to write it is said, but does not undo a saved backup. */
  private async recordRun(): Promise<void> {
    const file = this.flags?.['metrics-file'];
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
  private async cleanUpAfter(signal: NodeJS.Signals, kind: 'stdout' | 'folder' | 'stream' | 'file'): Promise<string> {
    const stopped = `stopped by ${signal}`;
    const snapshot = `snapshot ${this.snapshotName}`;
    if (!this.snapshotName) return `${stopped} while the server was taking a snapshot; nothing was written (the server may still finish the snapshot)`;
    if (this.committing) {
      // A rename cannot be taken back half way: let it end and say how it ended.
      const outcome = await this.committing.then(() => undefined, (err: Error) => err);
      return outcome ? `${stopped} while saving ${snapshot}: ${outcome.message}` : `${stopped} after ${snapshot} was verified and saved as ${this.target}`;
    }
    await this.writer?.abort();
    await this.file?.discard();
    const after = await this.snapshotFate(this.snapshotName);
    if (kind === 'stdout') return `${stopped} while downloading ${snapshot} to standard output; what was written is incomplete${after}`;
    if (kind === 'stream') return `${stopped} while downloading ${snapshot} into ${this.target}; what was written is incomplete${after}`;
    return `${stopped} while downloading ${snapshot} to ${this.target}; the partial file is removed and nothing was saved${after}`;
  }

  /**
   * After an interruption: removes the snapshot as a finished run would, if the server has let
   * go of it. The download's connection closes only when this process exits, so a server still
   * streaming it refuses (409): then the line names the command that removes it.
   */
  private async snapshotFate(name: string): Promise<string> {
    if (this.flags['keep-snapshot']) return '';
    const removal = await removeSnapshot(this.client, name, this.server);
    if (removal.removed || removal.gone) return '; the snapshot is removed from the server';
    if (removal.inUse) return `; the snapshot was left on the server, which was still sending it: \`prombackup delete ${name}\` removes it`;
    return `; the snapshot was left on the server: ${removal.reason}`;
  }



}
