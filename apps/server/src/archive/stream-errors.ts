import { SnapshotDirError, SnapshotReadError, UnsupportedEntryError, describeCode, scrubPaths } from '../snapshots/snapshot-errors';

/** What went wrong with a download, in words for its status; never an absolute path. */
export function describeStreamError(err: NodeJS.ErrnoException): string {
  // Our own errors name the entry by its snapshot-relative path and say what happened to it.
  if (err instanceof SnapshotReadError || err instanceof UnsupportedEntryError || err instanceof SnapshotDirError) {
    return scrubPaths(err.message);
  }
  if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') {
    return 'client closed the connection before the archive was complete';
  }
  if (err.code === 'ENOENT') return 'a file of the snapshot was removed while it was being streamed';
  if (err.code === 'EACCES' || err.code === 'EPERM') return `a file of the snapshot cannot be read: ${describeCode(err.code)}`;
  // tar-stream's words when an entry's bytes differ from the size in its header.
  if (/^size mismatch$/i.test(err.message)) {
    return 'a file of the snapshot changed size (was truncated or grew) while it was being streamed';
  }
  // Keep messages free of absolute paths: only snapshot-relative names appear in our own errors.
  return scrubPaths(err.message);
}
