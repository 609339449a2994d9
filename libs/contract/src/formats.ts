/** The archive formats the server can stream and the CLI can ask for. */
export const ARCHIVE_FORMATS = {
  tar: { contentType: 'application/x-tar', extension: '.tar', compression: 'none' },
  tgz: { contentType: 'application/gzip', extension: '.tar.gz', compression: 'gzip' },
  tzst: { contentType: 'application/zstd', extension: '.tar.zst', compression: 'zstd' },
} as const;

export type ArchiveFormat = keyof typeof ARCHIVE_FORMATS;

export const ARCHIVE_FORMAT_NAMES = Object.keys(ARCHIVE_FORMATS) as ArchiveFormat[];

export const DEFAULT_ARCHIVE_FORMAT: ArchiveFormat = 'tar';

export function isArchiveFormat(value: unknown): value is ArchiveFormat {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ARCHIVE_FORMATS, value);
}

/** The file name the server suggests for a snapshot in a given format. */
export function archiveFileName(snapshotName: string, format: ArchiveFormat): string {
  return snapshotName + ARCHIVE_FORMATS[format].extension;
}
