import { NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { escapeControls } from '@prombackup/contract';

/** Thrown when a name does not lead to a snapshot folder under snapshot_dir: a 404. */
export class SnapshotNotFoundError extends NotFoundException {}

/** Thrown when snapshot_dir itself cannot be read: a 503, the server cannot serve snapshots. */
export class SnapshotDirError extends ServiceUnavailableException {}

/**
 * Thrown when a path inside a snapshot is something we must not archive (a link, a FIFO, …).
 * Control characters in the names it quotes are escaped: it reaches logs, statuses and terminals.
 */
export class UnsupportedEntryError extends Error {
  constructor(message: string) {
    super(escapeControls(message));
  }
}

/**
 * Thrown when a snapshot's content cannot be read, or changes while it is read (a file removed,
 * truncated or grown, the folder removed). The message names the entry by its snapshot-relative
 * path, never an absolute one, with control characters escaped; `code` keeps the errno code when
 * there was one.
 */
export class SnapshotReadError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(escapeControls(message));
  }
}

/** An errno code in words, e.g. "permission denied (EACCES)". */
export function describeCode(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'ENOENT':
      return 'it does not exist (ENOENT)';
    case 'ENOTDIR':
      return 'a part of its path is not a folder (ENOTDIR)';
    case 'EIO':
      return 'input/output error (EIO)';
    case 'ELOOP':
      return 'too many symbolic links (ELOOP)';
    case 'EXDEV':
      return 'another file system is mounted inside it, and is left alone; unmount it first (EXDEV)';
    default:
      return code ?? 'unknown error';
  }
}

/** Node's errno messages quote the path: 'ENOENT: …, open '/x/y''. Drop the path. */
export function scrubPaths(message: string): string {
  return message.replace(/'\/[^']*'/g, "'…'").replace(/"\/[^"]*"/g, '"…"');
}
