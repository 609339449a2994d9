/** A snapshot folder name as Prometheus makes it, and the only names the API accepts. */
export const SNAPSHOT_NAME_PATTERN = /^[A-Za-z0-9]+-[A-Za-z0-9]+$/;

export function isSnapshotName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 255 && SNAPSHOT_NAME_PATTERN.test(value);
}

/**
 * A snapshot name with a numeric zone ("20221109T202035+0000-<hex>"), as some Prometheus builds
 * wrote them: recognised for pruning and retention, though the download API refuses such names.
 */
export const ZONED_SNAPSHOT_NAME_PATTERN = /^\d{8}T\d{6}[+-]\d{4}-[A-Za-z0-9]+$/;

export function isZonedSnapshotName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 255 && ZONED_SNAPSHOT_NAME_PATTERN.test(value);
}

// Prometheus names snapshots "20221109T202035Z-<hex>"; some builds wrote a numeric zone ("+0000").
const TIMESTAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z|[+-]\d{4})-/;

/** The creation time encoded at the start of a snapshot folder name, or undefined if it has none. */
export function snapshotTime(name: string): Date | undefined {
  const m = TIMESTAMP.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, zone] = m;
  const fields = [y, mo, d, h, mi, s].map(Number);
  const utc = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]);
  const check = new Date(utc);
  // Reject impossible dates such as month 13 rather than letting Date roll them over.
  if (
    check.getUTCFullYear() !== fields[0] ||
    check.getUTCMonth() !== fields[1] - 1 ||
    check.getUTCDate() !== fields[2] ||
    check.getUTCHours() !== fields[3] ||
    check.getUTCMinutes() !== fields[4] ||
    check.getUTCSeconds() !== fields[5]
  ) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  }
  return new Date(utc - offsetMinutes * 60_000);
}
