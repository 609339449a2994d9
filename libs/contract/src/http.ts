/** Response header that carries the id under which a download's outcome is recorded. */
export const DOWNLOAD_ID_HEADER = 'X-Prombackup-Download-Id';

/** API paths, relative to the server's base URL. */
export const API_PATHS = {
  snapshot: '/api/snapshot',
  snapshots: '/api/snapshots',
  download: '/api/download',
  downloadStatus: '/api/download_status',
  prune: '/api/prune',
} as const;

/** keep_within used by prune when the request names none: a bare POST must not wipe fresh snapshots. */
export const DEFAULT_KEEP_WITHIN = '1h';
