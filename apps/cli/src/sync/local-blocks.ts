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
  /** ULID names taken by something other than a folder (a file, a link): never read, replaced or removed. */
  notFolders: string[];
}

/**
 * What DIR holds: its blocks, read as restore reads them (ULID-named folders, links not
 * followed), and sync's own temporary folders. Anything else in DIR is none of sync's business.
 */
export async function readLocalState(dir: string): Promise<LocalState> {
  const staleTemps = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.name.startsWith(TEMP_PREFIX) && e.isDirectory()).map((e) => e.name);
  const { blocks, notFolders } = await readTsdbBlocks(dir);
  return { blocks, staleTemps: staleTemps.sort(), notFolders: [...notFolders].sort() };
}
