/** Response header that carries the id under which a download's outcome is recorded. */
export const DOWNLOAD_ID_HEADER = 'X-Prombackup-Download-Id';

/**
 * Response header of a download: bytes of the snapshot's files. A tar archive is a little larger
 * (headers), a compressed one smaller; a client shows it as the total, or as an estimate of it.
 */
export const SNAPSHOT_BYTES_HEADER = 'X-Prombackup-Snapshot-Bytes';

/** API paths, relative to the server's base URL. */
export const API_PATHS = {
  snapshot: '/api/snapshot',
  snapshots: '/api/snapshots',
  download: '/api/download',
  snapshotContents: '/api/snapshot_contents',
  downloadStatus: '/api/download_status',
  prune: '/api/prune',
} as const;

/** keep_within used by prune when the request names none: a bare POST must not wipe fresh snapshots. */
export const DEFAULT_KEEP_WITHIN = '1h';
