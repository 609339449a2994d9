import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type ArchiveFormat, parseArchiveFileName, snapshotTime } from '@prombackup/contract';
import { checksumFileFor } from './checksum-file';
import { type KeepReason, type RetentionPolicy, describeReasons } from './retention-policy';

/** A regular file as it was when the folder was read, so that removal can tell it was swapped. */
export interface ListedFile {
  name: string;
  dev: number;
  ino: number;
}

/** A backup archive that `create` could have written, recognised by its name and type. */
export interface FolderArchive extends ListedFile {
  snapshotName: string;
  format: ArchiveFormat;
  /** From the snapshot name, never from the file's mtime. */
  time: Date;
  size: number;
  /** Its `NAME.sha256` when that is a regular file. */
  checksum?: ListedFile;
}

/** An entry left alone, and why. */
export interface IgnoredEntry {
  name: string;
  why: string;
}

export interface ArchiveFolder {
  archives: FolderArchive[];
  /** `ARCHIVE.sha256` files whose archive name is recognised but has no entry at all. */
  orphanChecksums: ListedFile[];
  /** Entries named like an archive or its checksum that are not regular files, or whose name has no valid time. */
  ignored: IgnoredEntry[];
}

/**
 * Reads `dir` and sorts out what a retention run may consider: regular files named
 * `SNAPSHOT.tar|.tar.gz|.tar.zst` whose snapshot name starts with a valid time, and their
 * `.sha256`. Links are never followed (lstat); folders, links and other types named like an
 * archive are reported as ignored; every other name (partials, temporary files, `.verified`
 * backups, anything else) is not even looked at.
 */
export async function readArchiveFolder(dir: string): Promise<ArchiveFolder> {
  const names = await fs.readdir(dir);
  const present = new Set(names);
  const archives: FolderArchive[] = [];
  const orphanChecksums: ListedFile[] = [];
  const ignored: IgnoredEntry[] = [];
  for (const name of names) {
    const parsed = parseArchiveFileName(name, { zoned: true });
    if (parsed) {
      const time = snapshotTime(parsed.snapshotName);
      if (!time) {
        ignored.push({ name, why: 'the snapshot name holds no valid time' });
        continue;
      }
      const stats = await lstatIfPresent(path.join(dir, name));
      if (!stats) continue; // gone since the listing
      if (!stats.isFile()) {
        ignored.push({ name, why: `${kindOf(stats)}, not a regular file: never followed or removed` });
        continue;
      }
      const archive: FolderArchive = { ...listed(name, stats), snapshotName: parsed.snapshotName, format: parsed.format, time, size: stats.size };
      const checksumName = checksumFileFor(name);
      if (present.has(checksumName)) {
        const sum = await lstatIfPresent(path.join(dir, checksumName));
        if (sum?.isFile()) archive.checksum = listed(checksumName, sum);
        else if (sum) ignored.push({ name: checksumName, why: `${kindOf(sum)}, not a regular file: never followed or removed` });
      }
      archives.push(archive);
      continue;
    }
    const archiveName = name.endsWith('.sha256') ? name.slice(0, -'.sha256'.length) : undefined;
    const archiveParsed = archiveName === undefined ? undefined : parseArchiveFileName(archiveName, { zoned: true });
    if (!archiveName || !archiveParsed || present.has(archiveName)) continue; // not ours, or handled with its archive
    if (!snapshotTime(archiveParsed.snapshotName)) {
      ignored.push({ name, why: 'the snapshot name holds no valid time' });
      continue;
    }
    const stats = await lstatIfPresent(path.join(dir, name));
    if (!stats) continue;
    if (stats.isFile()) orphanChecksums.push(listed(name, stats));
    else ignored.push({ name, why: `${kindOf(stats)}, not a regular file: never followed or removed` });
  }
  return { archives, orphanChecksums, ignored };
}

export type RemovalOutcome = 'removed' | 'vanished' | 'changed';

/**
 * Removes `file` from `dir` if it is still the regular file that was listed; 'vanished' when it
 * is already gone, 'changed' (left alone) when something else now has its name. I/O errors
 * such as EACCES or EROFS are thrown.
 */
export async function removeListedFile(dir: string, file: ListedFile): Promise<RemovalOutcome> {
  const full = path.join(dir, file.name);
  const now = await lstatIfPresent(full);
  if (!now) return 'vanished';
  if (!now.isFile() || now.dev !== file.dev || now.ino !== file.ino) return 'changed';
  try {
    await fs.unlink(full);
    return 'removed';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'vanished';
    throw err;
  }
}

/**
 * Whether an entry named `name` exists in `dir` right now (a link counts, followed or not). An
 * orphan checksum is removed only after this says its archive is still missing.
 */
export async function entryExists(dir: string, name: string): Promise<boolean> {
  return (await lstatIfPresent(path.join(dir, name))) !== undefined;
}

async function lstatIfPresent(file: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function listed(name: string, stats: Stats): ListedFile {
  return { name, dev: stats.dev, ino: stats.ino };
}

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** One archive in forget's report. */
export interface ForgetArchive {
  name: string;
  snapshot_name: string;
  format: string;
  /** The time in the snapshot name, in UTC. */
  time: string;
  size: number;
  checksum_file: string | null;
  action: 'keep' | 'remove';
  reasons: KeepReason[];
  /** What happened: kept, removed, would-remove (dry run), vanished (gone before us), changed (swapped for something else: left alone). */
  outcome: 'kept' | 'would-remove' | RemovalOutcome;
  checksum_outcome: 'kept' | 'would-remove' | RemovalOutcome | null;
  /** Why an archive is kept outside the policy (one dated in the future). */
  note?: string;
}

export interface ForgetResult {
  dir: string;
  dry_run: boolean;
  policy: RetentionPolicy;
  archives: ForgetArchive[];
  orphan_checksums: { name: string; outcome: 'would-remove' | 'kept' | RemovalOutcome }[];
  ignored: IgnoredEntry[];
  kept: number;
  removed: number;
}

export function describeArchive(item: FolderArchive, keep: boolean, reasons: KeepReason[]): ForgetArchive {
  return {
    name: item.name,
    snapshot_name: item.snapshotName,
    format: item.format,
    time: item.time.toISOString(),
    size: item.size,
    checksum_file: item.checksum?.name ?? null,
    action: keep ? 'keep' : 'remove',
    reasons,
    outcome: 'kept',
    checksum_outcome: item.checksum ? 'kept' : null,
  };
}

/** What the less obvious outcomes mean, for the human output. */
export const NOTES: Record<string, string> = {
  vanished: 'already gone',
  changed: 'no longer the file that was listed: left alone',
  kept: 'its archive appeared meanwhile',
};

export function archiveLine(entry: ForgetArchive): string {
  if (entry.action === 'keep') return `${'keep'.padEnd(12)} ${entry.name}  ${describeReasons(entry.reasons)}`;
  const sum = entry.checksum_outcome ? ` (+ .sha256: ${entry.checksum_outcome})` : '';
  const note = NOTES[entry.outcome] ? `  (${NOTES[entry.outcome]})` : '';
  return `${entry.outcome.padEnd(12)} ${entry.name}${sum}${note}`;
}

/** "permission denied (EACCES)" from a Node fs error. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    ENOENT: 'no such file or folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOTDIR: 'not a folder',
    EBUSY: 'busy',
  };
  return e?.code && words[e.code] ? `${words[e.code]} (${e.code})` : (e?.message ?? String(err));
}
