import { Flags } from '@oclif/core';
import { createClient } from '../api';
import { ARCHIVE_FLAGS, ArchiveCommand, type SavedArchive } from '../archive-command';
import { type Removal, removeSnapshot } from '../snapshot-removal';
import { DEFAULT_SNAPSHOT_TIMEOUT, snapshotTimeoutMs, takeSnapshot } from '../take-snapshot';

export interface CreateResult extends SavedArchive {
  snapshot_name: string;
  seconds: number;
  /** Whether the snapshot was removed from the server after the download (false with --keep-snapshot). */
  snapshot_removed: boolean;
}

/** How long a snapshot still held by the server's side of a broken-off download is retried for removal. */
const REMOVE_BUSY_WAIT_MS = 5_000;

export default class Create extends ArchiveCommand<typeof Create> {
  static override summary = 'Take a snapshot, download it and verify it end to end.';
  static override description =
    'Asks the server for a new snapshot, streams it as an archive to a temporary file beside the target, and ' +
    "moves it into place only after the server confirms the download and the SHA-256 of the received bytes matches the server's. " +
    'To s3://BUCKET/KEY or s3://BUCKET/PREFIX/ it streams into a multipart upload, completed only then and aborted otherwise. ' +
    'Then removes the snapshot from the server, unless --keep-snapshot.';
  static override examples = [
    '<%= config.bin %> -server http://prombackupserver:8080 create',
    'PROMBACKUP_ENDPOINT=http://prombackupserver:8080 <%= config.bin %> create -format tgz -output /tmp/mybackup.tar.gz',
    '<%= config.bin %> create --server http://localhost:8080 --format tzst --output - > backup.tar.zst',
    '<%= config.bin %> create --server http://localhost:8080 --format tzst --output /backups/',
    'AWS_REGION=eu-west-1 <%= config.bin %> create --format tzst --output s3://my-backups/prometheus/',
  ];

  static override flags = {
    ...ARCHIVE_FLAGS,
    'skip-head': Flags.boolean({ summary: 'Leave out the in-memory head block (the most recent hours not yet in a block).' }),
    'keep-snapshot': Flags.boolean({
      summary: 'Leave the snapshot on the server. By default it is removed once its download has ended, verified or not: snapshots keep compacted-away blocks on disk.',
    }),
    'snapshot-timeout': Flags.string({
      summary: "How long to wait for the server to take the snapshot, as a Go duration; keep it above the server's -prometheus_timeout (10m by default).",
      default: DEFAULT_SNAPSHOT_TIMEOUT,
      helpValue: 'DURATION',
    }),
  };

  async run(): Promise<CreateResult> {
    const snapshotTimeout = this.flags['snapshot-timeout'];
    this.client = createClient(this.server, this.token, snapshotTimeoutMs(snapshotTimeout));
    // Checked before the snapshot is taken, so that a bad flag does not leave one behind.
    await this.checkArchiveFlags();
    const stopWatching = this.watchInterrupts();
    try {
      const started = Date.now();
      const name = await this.takeSnapshot(snapshotTimeout);
      let saved: SavedArchive;
      try {
        saved = await this.fetchArchive(name);
      } catch (err) {
        // The download's own failure is what the exit code reports; the snapshot goes either way.
        if (!this.interrupted) await this.dropSnapshot(name);
        throw err;
      }
      const removal = await this.dropSnapshot(name);
      this.report(saved, removal?.removed ? '; snapshot removed from the server' : '');
      return { ...saved, snapshot_name: name, seconds: (Date.now() - started) / 1000, snapshot_removed: removal?.removed === true };
    } finally {
      stopWatching();
    }
  }

  /** Asks for the snapshot; on a terminal, a line says that this is what the wait is for. */
  private async takeSnapshot(timeout: string): Promise<string> {
    const tty = process.stderr.isTTY && !this.jsonEnabled();
    const started = Date.now();
    if (tty) process.stderr.write('taking a snapshot…');
    try {
      const name = await takeSnapshot(this.client, this.flags['skip-head'], this.flags.format, timeout);
      if (tty) process.stderr.write(`\r\x1b[Ksnapshot ${name} taken in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
      return name;
    } catch (err) {
      if (tty) process.stderr.write('\n');
      throw err;
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

  /**
   * After an interruption: removes the snapshot as a finished run would. The download's
   * connection is closed by then; the server takes a moment to end the download and let go of
   * the snapshot, and if it still holds it (409) the line names the command that removes it.
   */
  protected override async afterInterrupt(): Promise<string> {
    const name = this.snapshotName!;
    if (this.flags['keep-snapshot']) return '';
    const removal = await removeSnapshot(this.client, name, this.server, { busyWaitMs: REMOVE_BUSY_WAIT_MS });
    if (removal.removed || removal.gone) return '; the snapshot is removed from the server';
    if (removal.inUse) return `; the snapshot was left on the server, which was still sending it: \`prombackup delete ${name}\` removes it`;
    return `; the snapshot was left on the server: ${removal.reason}`;
  }
}
