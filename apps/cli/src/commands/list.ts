import type { SnapshotInfoDto } from '@prombackup/client';
import { ApiCommand } from '../api-command';
import { formatBytes } from '@prombackup/contract';

export default class List extends ApiCommand<typeof List> {
  static override summary = "List the snapshots on the server's disk.";
  static override examples = ['<%= config.bin %> list --server http://prombackupserver:8080'];

  async run(): Promise<SnapshotInfoDto[]> {
    const { snapshots } = await this.client.snapshots.listSnapshots();
    if (snapshots.length === 0) {
      this.log('no snapshots');
      return snapshots;
    }
    const rows = snapshots.map((s) => [s.name, s.created_at ?? '?', formatBytes(s.size_bytes), s.in_use ? 'yes' : 'no']);
    const header = ['NAME', 'TAKEN', 'SIZE', 'IN USE'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const row of [header, ...rows]) this.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
    return snapshots;
  }
}
