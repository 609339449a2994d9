// What may stand in a TSDB folder, an archive of a snapshot or a sync folder, by name alone.

/** A block folder's name: a ULID, 26 characters of Crockford's base32 (the first at most 7). */
export const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

export function isUlid(name: string): boolean {
  return ULID_PATTERN.test(name);
}

/** The files a block holds besides its chunk segments. */
export const BLOCK_FILES = ['meta.json', 'index', 'tombstones'] as const;
/**
 * A chunk segment inside `chunks/`: six digits from 000001, as Prometheus names them (`%0.6d`).
 * Prometheus reads every name that parses as a number and takes the n-th in sorted order as
 * segment n, so `1` beside `000001`, or any other spelling, would make it read the wrong file.
 */
export const CHUNK_SEGMENT_PATTERN = /^(?!000000)[0-9]{6}$/;

/** Why a block's chunk segments (paths `chunks/NNNNNN`) are not 000001 up to the last without a gap, or undefined. */
export function segmentGap(paths: Iterable<string>): string | undefined {
  const numbers = [...paths].filter((p) => p.startsWith('chunks/')).map((p) => Number(p.slice('chunks/'.length))).sort((a, b) => a - b);
  const name = (n: number) => `chunks/${String(n).padStart(6, '0')}`;
  const missing = numbers.findIndex((n, i) => n !== i + 1);
  return missing < 0 ? undefined : `${name(numbers[missing])} without ${name(missing + 1)} (Prometheus would read each segment after the gap as the one before it)`;
}

/**
 * Top-level names that Prometheus keeps in a data folder next to its blocks (the write-ahead log,
 * the head's chunks, the lock, the query log, snapshots) and a block it was still writing or
 * deleting. A backup of a live data folder may hold them; restore leaves them out, with a note.
 */
export function isPrometheusWorkName(name: string): boolean {
  return ['wal', 'chunks_head', 'lock', 'queries.active', 'snapshots'].includes(name) || /^[0-7][0-9A-HJKMNP-TV-Z]{25}\.tmp(-for-[a-z]+)?$/.test(name);
}

/** What an entry is, by its path below the top (the snapshot folder, or the archive's root). */
export type EntryPlace =
  | { kind: 'root' }
  | { kind: 'block-dir'; ulid: string }
  | { kind: 'chunks-dir'; ulid: string }
  | { kind: 'block-file'; ulid: string; file: string }
  | { kind: 'skipped'; top: string };

/** An entry that a restore must not write; the message names it. */
export class BlockEntryError extends Error {}

/**
 * Splits an archive entry's name into safe components: no absolute name, no `.` or `..`, no
 * empty component, no NUL or backslash; a leading `./` (tar's spelling of "here") is dropped.
 * `[]` is the archive's root itself.
 */
export function splitEntryName(name: string): string[] {
  if (name.includes('\0')) throw new BlockEntryError(`${JSON.stringify(name)}: a NUL character in a name`);
  if (name.startsWith('/')) throw new BlockEntryError(`${JSON.stringify(name)}: an absolute name`);
  const parts = name.replace(/^(\.\/)+/, '').replace(/\/$/, '').split('/');
  if (parts.length === 1 && (parts[0] === '' || parts[0] === '.')) return [];
  for (const part of parts) {
    if (part === '..') throw new BlockEntryError(`${JSON.stringify(name)}: a ".." component`);
    if (part === '' || part === '.' || part.includes('\\')) throw new BlockEntryError(`${JSON.stringify(name)}: not a plain relative name`);
  }
  return parts;
}

/**
 * Where `parts` (below the top) may go, for an entry of `type` (regular file or folder; any
 * other type is refused before this). Anything but a block's own files and folders, or a
 * Prometheus work name at the top, is an error naming the entry.
 */
export function placeEntry(parts: string[], type: 'file' | 'directory', name: string): EntryPlace {
  const refuse = (why: string): never => {
    throw new BlockEntryError(`${JSON.stringify(name)}: ${why}`);
  };
  if (parts.length === 0) return type === 'directory' ? { kind: 'root' } : refuse('a file where the top folder should be');
  const [top, ...rest] = parts;
  if (isPrometheusWorkName(top)) return { kind: 'skipped', top };
  if (!isUlid(top)) refuse('neither a block folder (a ULID) nor a name Prometheus keeps beside its blocks');
  const ulid = top;
  const dir = type === 'directory';
  if (rest.length === 0) return dir ? { kind: 'block-dir', ulid } : refuse('a file where a block folder should be');
  if (rest.length === 1 && rest[0] === 'chunks') return dir ? { kind: 'chunks-dir', ulid } : refuse('chunks must be a folder');
  const file = rest.join('/');
  const known = (rest.length === 1 && (BLOCK_FILES as readonly string[]).includes(rest[0])) || (rest.length === 2 && rest[0] === 'chunks' && CHUNK_SEGMENT_PATTERN.test(rest[1]));
  if (!known) refuse(`not a file a block holds (meta.json, index, tombstones, chunks/NNNNNN)`);
  return dir ? refuse('a folder where a block file should be') : { kind: 'block-file', ulid, file };
}
