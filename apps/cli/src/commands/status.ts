import { Args } from '@oclif/core';
import type { DownloadStatusDto } from '@prombackup/client';
import { escapeControls } from '@prombackup/contract';
import { ApiCommand } from '../api-command';

export default class Status extends ApiCommand<typeof Status> {
  static override summary = "Show a download's outcome and SHA-256 as the server recorded it.";
  static override examples = ['<%= config.bin %> status 20261126T120536123Z-0000a1b2c3 --server http://prombackupserver:8080'];
  static override args = {
    id: Args.string({ description: 'Download id, from the X-Prombackup-Download-Id header', required: true }),
  };

  async run(): Promise<DownloadStatusDto> {
    const { args } = await this.parse(Status);
    const status = await this.client.downloads.downloadStatus({ id: args.id });
    this.log(`download ${status.id} of snapshot ${status.snapshot_name}`);
    if (!status.finished) this.log('still streaming');
    else if (status.finished.success) this.log(`finished successfully, SHA-256 ${status.finished.sha256_hex}`);
    else this.log(`failed: ${escapeControls(status.finished.error_text ?? 'no reason given')}\nSHA-256 of what was sent: ${status.finished.sha256_hex}`);
    return status;
  }
}
