// One entry of a snapshot tree: what it is, whether its name can be archived exactly, and how it
// differs from the same entry listed again.
import type { BigIntStats } from 'node:fs';

const BACKSLASH = 0x5c;

export interface TreeEntry {
  kind: 'directory' | 'file' | 'other';
  /** `<snapshot>/a/b`, the entry's archive name; bytes that are not UTF-8 are shown as \xNN. */
  relativePath: string;
  /** Why the entry cannot be archived as it is (its name, or another file system), when it cannot. */
  problem?: string;
  /** 0 for the snapshot folder itself. */
  depth: number;
  /** The name in its folder, byte for byte. */
  name: Buffer;
  /** The whole path in bytes, one string per entry: tells entries apart whatever their names. */
  key: string;
  stats: BigIntStats;
}

/** How `now` differs from what was sent, in words, or undefined when it does not. */
export function differs(sent: TreeEntry, now: TreeEntry | undefined): string | undefined {
  if (!now) return 'was removed';
  if (now.kind !== sent.kind || !sameNode(now.stats, sent.stats)) return now.stats.isSymbolicLink() ? 'was replaced by a symbolic link' : 'was replaced';
  if (sent.kind !== 'file') return undefined;
  if (now.stats.size !== sent.stats.size) return `changed size (${sent.stats.size} bytes were sent, it has ${now.stats.size} now)`;
  if (now.stats.mtimeNs !== sent.stats.mtimeNs) return 'was modified (its modification time changed)';
  // Only for a file nothing else links to: other snapshots, and the block it was linked from,
  // add and remove hard links all the time, and each moves the change time of the shared file.
  if (now.stats.ctimeNs !== sent.stats.ctimeNs && now.stats.nlink === 1n && sent.stats.nlink === 1n) return 'was changed (its change time moved)';
  return undefined;
}

export function sameNode(a: BigIntStats, b: BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function isUtf8(name: Buffer): boolean {
  return Buffer.from(name.toString('utf8'), 'utf8').equals(name);
}

export function displayName(name: Buffer): string {
  if (isUtf8(name)) return name.toString('utf8');
  return Array.from(name, (byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('');
}

export function nameProblem(name: Buffer, relativePath: string): string | undefined {
  if (!isUtf8(name)) return `${relativePath} has a name that is not valid UTF-8, which a tar entry cannot keep exactly: it is not archived`;
  if (name.includes(BACKSLASH)) {
    return `${relativePath} has a backslash in its name, which the archive writer would turn into a folder separator: it is not archived`;
  }
  return undefined;
}
