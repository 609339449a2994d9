import { Flags } from '@oclif/core';
import type { PruneResultDto } from '@prombackup/client';
import { DEFAULT_KEEP_WITHIN, parseDuration } from '@prombackup/contract';
import { ApiCommand } from '../api-command';

export default class Prune extends ApiCommand<typeof Prune> {
  static override summary = 'Remove snapshots older than --keep-within from the server.';
  static override examples = ['PROMBACKUP_ENDPOINT=http://prombackupserver:8080 <%= config.bin %> prune -keep_within 12h'];

  static override flags = {
    'keep-within': Flags.string({
      char: 'k',
      summary: 'Keep snapshots younger than this Go duration (90m, 12h, 1h30m).',
      default: DEFAULT_KEEP_WITHIN,
      helpValue: 'DURATION',
    }),
  };

  async run(): Promise<Partial<PruneResultDto>> {
    const keepWithin = this.flags['keep-within'];
    let ms: number;
    try {
      ms = parseDuration(keepWithin);
    } catch (err) {
      this.error(`--keep-within: ${(err as Error).message}`, { exit: 2 });
    }
    if (ms < 0) this.error(`--keep-within must not be negative, got ${JSON.stringify(keepWithin)}`, { exit: 2 });
    const result = await this.client.snapshots.prune({ keepWithin });
    // The original Go server answers {}; it does not say what it removed.
    if (!Array.isArray(result?.removed)) this.log(`pruned snapshots older than ${keepWithin}`);
    else if (result.removed.length === 0) this.log(`no snapshots older than ${keepWithin}`);
    else for (const name of result.removed) this.log(`removed ${name}`);
    for (const name of result?.skipped_in_use ?? []) this.log(`kept ${name}: a download is streaming it`);
    return result ?? {};
  }
}
