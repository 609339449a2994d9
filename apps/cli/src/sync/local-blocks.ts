import fs from 'node:fs/promises';
import { type LocalBlock, readTsdbBlocks } from '../tsdb';

export type { LocalBlock, LocalFile } from '../tsdb';

/** Hidden names in DIR that belong to sync: Prometheus only opens ULID-named folders, so it passes them by. */
export const TEMP_PREFIX = '.prombackup-tmp-';
/** The file a sync holds an flock on, so that two syncs never work on one DIR at once. */
export const SYNC_LOCK_FILE = '.prombackup-sync.lock';

export interface LocalState {
  /** By ULID. */
  blocks: Map<string, LocalBlock>;
  /** Temporary folders that an earlier sync left behind (only meaningful while the sync lock is held). */
  staleTemps: string[];
}

/**
 * What DIR holds: its blocks, read as restore reads them (ULID-named folders, links not
 * followed), and sync's own temporary folders. Anything else in DIR is none of sync's business.
 */
export async function readLocalState(dir: string): Promise<LocalState> {
  const staleTemps = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.name.startsWith(TEMP_PREFIX) && e.isDirectory()).map((e) => e.name);
  return { blocks: (await readTsdbBlocks(dir)).blocks, staleTemps: staleTemps.sort() };
}
