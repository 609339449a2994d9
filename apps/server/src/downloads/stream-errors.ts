/** What went wrong with a download, in words for its status; never an absolute path. */
export function describeStreamError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') {
    return 'client closed the connection before the archive was complete';
  }
  if (err.code === 'ENOENT') return 'a file of the snapshot vanished while it was being streamed';
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'a file of the snapshot cannot be read (permission denied)';
  // Keep messages free of absolute paths: only snapshot-relative names appear in our own errors.
  return err.message.replace(/'\/[^']*'/g, "'…'");
}
