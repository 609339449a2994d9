import type { BigIntStats } from 'node:fs';

const NS_PER_SECOND = 1_000_000_000n;
// tar-stream writes the header's time through a 32-bit integer: later times need PAX.
const LAST_HEADER_SECOND = 2_147_483_647n;

/** The header time of an entry, and a PAX record with the exact time when the header cannot hold it. */
export interface EntryTimes {
  date: Date;
  pax?: { mtime: string };
}

/**
 * An entry's modification time, kept to the nanosecond: the tar header holds whole seconds from
 * 1970 to 2038, so a time before or after that, or with a fraction of a second, also goes into a
 * PAX `mtime` record, which tar readers prefer to the header's field.
 */
export function entryTimes(stats: BigIntStats): EntryTimes {
  const ns = stats.mtimeNs;
  const seconds = ns >= 0n ? ns / NS_PER_SECOND : -((-ns + NS_PER_SECOND - 1n) / NS_PER_SECOND);
  const clamped = seconds < 0n ? 0n : seconds > LAST_HEADER_SECOND ? LAST_HEADER_SECOND : seconds;
  const date = new Date(Number(clamped) * 1000);
  if (clamped === seconds && ns % NS_PER_SECOND === 0n) return { date };
  return { date, pax: { mtime: paxTime(ns) } };
}

/** Nanoseconds since 1970 as PAX writes times: "-12.5" is 12.5 s before 1970. */
export function paxTime(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  const fraction = (abs % NS_PER_SECOND).toString().padStart(9, '0').replace(/0+$/, '');
  return `${sign}${abs / NS_PER_SECOND}${fraction ? `.${fraction}` : ''}`;
}

/**
 * The entry name, checked: archiver would rewrite a backslash or a repeated slash, and strip a
 * leading slash or `../`, so a name with any of them (or with a `.` or `..` part) would not be
 * the file's own name. The tree refuses such names first; this makes sure none gets through.
 */
export function entryName(relativePath: string): string {
  const parts = relativePath.split('/');
  if (relativePath.includes('\\') || parts.some((part) => part === '' || part === '.' || part === '..') || relativePath.includes('\0')) {
    throw new Error(`refusing to write an unsafe archive entry name: ${JSON.stringify(relativePath)}`);
  }
  return relativePath;
}
