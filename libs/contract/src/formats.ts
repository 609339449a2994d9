import { isSnapshotName, isZonedSnapshotName } from './snapshot-name';

/** The archive formats the server can stream and the CLI can ask for. */
export const ARCHIVE_FORMATS = {
  tar: { contentType: 'application/x-tar', extension: '.tar' },
  tgz: { contentType: 'application/gzip', extension: '.tar.gz' },
  tzst: { contentType: 'application/zstd', extension: '.tar.zst' },
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

/**
 * The snapshot and format of an archive file named as the server names them ("NAME.tar.gz"), or
 * undefined for any other name. `zoned` also accepts snapshot names with a numeric zone.
 */
export function parseArchiveFileName(fileName: string, options: { zoned?: boolean } = {}): { snapshotName: string; format: ArchiveFormat } | undefined {
  for (const format of ARCHIVE_FORMAT_NAMES) {
    const { extension } = ARCHIVE_FORMATS[format];
    if (!fileName.endsWith(extension)) continue;
    const snapshotName = fileName.slice(0, -extension.length);
    if (isSnapshotName(snapshotName) || (options.zoned === true && isZonedSnapshotName(snapshotName))) return { snapshotName, format };
  }
  return undefined;
}

/**
 * Levels the compressed formats accept and their defaults. gzip defaults to 1: TSDB chunks are
 * already compressed, so level 6 saves only a few percent more at several times the CPU.
 */
export const COMPRESSION_LEVELS = {
  tgz: { min: 1, max: 9, default: 1 },
  tzst: { min: 1, max: 19, default: 3 },
} as const;

/** Why `level` does not suit `format`, or undefined when it does. */
export function compressionLevelProblem(format: ArchiveFormat, level: number): string | undefined {
  if (format === 'tar') return 'level applies only to tgz and tzst';
  const { min, max } = COMPRESSION_LEVELS[format];
  if (!Number.isInteger(level) || level < min || level > max) return `level for ${format} must be a whole number from ${min} to ${max}`;
  return undefined;
}
