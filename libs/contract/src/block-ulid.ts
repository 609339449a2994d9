/**
 * A TSDB block folder name: a ULID as Prometheus writes it, 26 characters of Crockford base32 in
 * upper case, the first at most 7 (a ULID is 128 bits).
 */
export const BLOCK_ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

export function isBlockUlid(value: unknown): value is string {
  return typeof value === 'string' && BLOCK_ULID_PATTERN.test(value);
}

/** How the blocks= parameter of a download lists ULIDs. */
export const BLOCK_LIST_SEPARATOR = ',';
