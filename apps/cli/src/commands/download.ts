import { Args } from '@oclif/core';
import { isSnapshotName } from '@prombackup/contract';
import { ARCHIVE_FLAGS, ArchiveCommand, type SavedArchive } from '../archive-command';

export interface DownloadResult extends SavedArchive {
  snapshot_name: string;
  seconds: number;
}

export default class Download extends ArchiveCommand<typeof Download> {
  static override summary = 'Download an existing snapshot and verify it end to end.';
  static override description =
    'As create does, but for a snapshot already on the server (see `list`), which it leaves there.';
  static override examples = ['<%= config.bin %> download 20221109T202035Z-355a5b4970d5a906 --format tzst --output /backups/'];
  static override args = {
    name: Args.string({ description: 'Snapshot folder name, as `list` shows it', required: true }),
  };
  static override flags = { ...ARCHIVE_FLAGS };

  async run(): Promise<DownloadResult> {
    const { args } = await this.parse(Download);
    if (!isSnapshotName(args.name)) {
      this.error(`${JSON.stringify(args.name)} is not a snapshot name; expected one like 20221109T202035Z-355a5b4970d5a906`, { exit: 2 });
    }
    await this.checkArchiveFlags();
    const stopWatching = this.watchInterrupts();
    try {
      const started = Date.now();
      const saved = await this.fetchArchive(args.name);
      this.report(saved);
      return { ...saved, snapshot_name: args.name, seconds: (Date.now() - started) / 1000 };
    } finally {
      stopWatching();
    }
  }
}
