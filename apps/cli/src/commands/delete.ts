import { Args } from '@oclif/core';
import { isSnapshotName } from '@prombackup/contract';
import { ApiCommand } from '../api-command';
import { removeSnapshot } from '../snapshot-removal';

export default class Delete extends ApiCommand<typeof Delete> {
  static override summary = "Remove one snapshot from the server's disk.";
  static override description = 'Refused while a download streams the snapshot. `create` does this by itself unless --keep-snapshot is given.';
  static override examples = ['<%= config.bin %> delete 20221109T202035Z-355a5b4970d5a906 --server http://prombackupserver:8080'];
  static override args = {
    name: Args.string({ description: 'Snapshot folder name, as `list` shows it', required: true }),
  };

  async run(): Promise<{ name: string; removed: true }> {
    const { args } = await this.parse(Delete);
    if (!isSnapshotName(args.name)) {
      this.error(`${JSON.stringify(args.name)} is not a snapshot name; expected one like 20221109T202035Z-355a5b4970d5a906`, { exit: 2 });
    }
    const removal = await removeSnapshot(this.client, args.name, this.server);
    if (!removal.removed) this.error(`snapshot ${args.name} not removed: ${removal.reason}`, { exit: 1 });
    this.log(`removed ${args.name}`);
    return { name: args.name, removed: true };
  }
}
