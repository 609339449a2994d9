import { type BlockMeta, overlaps } from '../tsdb';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Added to the age of the oldest block: the restored data then survives a month of running. */
export const RETENTION_MARGIN_DAYS = 30;

/**
 * A --from or --until value in milliseconds: Unix seconds (`1700000000`, `1700000000.5`) or an
 * RFC 3339 time with its zone (`2024-01-02T03:04:05Z`, `2024-01-02T05:04:05+02:00`).
 */
export function parseTime(value: string, flag: string): number {
  if (/^\d{1,12}(\.\d{1,9})?$/.test(value)) return Math.round(Number(value) * 1000);
  const rfc3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;
  const m = rfc3339.exec(value);
  let ms = m ? Date.parse(value.replace(' ', 'T')) : NaN;
  if (m && !Number.isNaN(ms)) {
    // Date.parse rolls 2024-02-30 over into March and 24:00 into the next day: the time, read
    // back in the zone given, must show the same date and clock, and the zone must be a real one.
    const offsetMin = m[5] ? (m[5] === '-' ? -1 : 1) * (Number(m[6]) * 60 + Number(m[7])) : 0;
    const shown = new Date(Math.floor(ms / 1000) * 1000 + offsetMin * 60_000).toISOString();
    if (shown.slice(0, 10) !== m[1] || shown.slice(11, 19) !== m[2] || (m[5] && (Number(m[6]) > 23 || Number(m[7]) > 59))) ms = NaN;
  }
  if (Number.isNaN(ms)) throw new Error(`--${flag} ${JSON.stringify(value)} is not a time: give Unix seconds (1700000000) or RFC 3339 (2024-01-02T03:04:05Z)`);
  return ms;
}

/** Blocks that share time with [from, until] (both inclusive; a block covers [minTime, maxTime)). */
export function inRange(meta: BlockMeta, from?: number, until?: number): boolean {
  return (from === undefined || meta.maxTime > from) && (until === undefined || meta.minTime <= until);
}

export interface Overlap {
  ulid: string;
  /** The blocks already in the TSDB folder that share time with it. */
  with: string[];
}

/** Which incoming blocks share time with which existing ones. */
export function findOverlaps(incoming: BlockMeta[], existing: BlockMeta[]): Overlap[] {
  return incoming
    .map((b) => ({ ulid: b.ulid, with: existing.filter((e) => e.ulid !== b.ulid && overlaps(b, e)).map((e) => e.ulid) }))
    .filter((o) => o.with.length > 0);
}

/**
 * Days of --storage.tsdb.retention.time that keep every block from `oldestMinTime` on. Prometheus
 * counts retention back from its newest block, which new scrapes keep at about now.
 */
export function retentionDays(oldestMinTime: number, now = Date.now()): number {
  return Math.max(1, Math.ceil((now - oldestMinTime) / DAY_MS)) + RETENTION_MARGIN_DAYS;
}

/** A word as a POSIX shell reads it back. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line that starts Prometheus on the restored folder and keeps all of it. */
export function prometheusCommand(dir: string, days: number): string {
  return ['prometheus', `--storage.tsdb.path=${dir}`, `--storage.tsdb.retention.time=${days}d`].map(shellQuote).join(' ');
}
