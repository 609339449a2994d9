import fs from 'node:fs/promises';
import path from 'node:path';
import { isUlid } from '../tsdb';

/** Hidden names in DIR that belong to sync: Prometheus only opens ULID-named folders, so it passes them by. */
export const TEMP_PREFIX = '.prombackup-tmp-';
/** The file a sync holds an flock on, so that two syncs never work on one DIR at once. */
export const SYNC_LOCK_FILE = '.prombackup-sync.lock';

/** One regular file of a block as it is on disk: size, and modification time in whole milliseconds (rounded down, as the server lists it). */
export interface LocalFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** A ULID-named folder in DIR. */
export interface LocalBlock {
  ulid: string;
  /** Regular files below it, '/'-separated paths relative to it, sorted. */
  files: LocalFile[];
  /** Anything below it that is not a regular file or a folder (a link, a socket…): such a block is never "the same". */
  odd: string[];
  bytes: number;
}

export interface LocalState {
  /** By ULID. */
  blocks: Map<string, LocalBlock>;
  /** Temporary folders that an earlier sync left behind (only meaningful while the sync lock is held). */
  staleTemps: string[];
  /** ULID names taken by something other than a folder (a file, a link): never read, replaced or removed. */
  notFolders: string[];
}

/**
 * Reads what DIR holds: every ULID-named folder (not a link to one) with its files, sizes and
 * modification times, and sync's own temporary folders. Anything else in DIR is none of sync's
 * business and is not even looked into.
 */
export async function readLocalState(dir: string): Promise<LocalState> {
  const blocks = new Map<string, LocalBlock>();
  const staleTemps: string[] = [];
  const notFolders: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(TEMP_PREFIX) && entry.isDirectory()) staleTemps.push(entry.name);
    else if (isUlid(entry.name) && entry.isDirectory()) blocks.set(entry.name, await readBlock(path.join(dir, entry.name), entry.name));
    else if (isUlid(entry.name)) notFolders.push(entry.name);
  }
  return { blocks, staleTemps: staleTemps.sort(), notFolders: notFolders.sort() };
}

/** The files of one block folder, found by walking it without following links. */
export async function readBlock(folder: string, ulid: string): Promise<LocalBlock> {
  const files: LocalFile[] = [];
  const odd: string[] = [];
  const walk = async (abs: string, rel: string) => {
    for (const entry of await fs.readdir(abs, { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const absPath = path.join(abs, entry.name);
      if (entry.isDirectory()) await walk(absPath, relPath);
      else if (entry.isFile()) {
        const stats = await fs.lstat(absPath, { bigint: true });
        files.push({ path: relPath, size: Number(stats.size), mtimeMs: Number(stats.mtimeNs / 1_000_000n) });
      } else odd.push(relPath);
    }
  };
  await walk(folder, '');
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { ulid, files, odd: odd.sort(), bytes: files.reduce((sum, f) => sum + f.size, 0) };
}
