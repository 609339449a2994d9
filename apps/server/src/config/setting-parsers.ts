import { readFileSync } from 'node:fs';
import { parseBoolean, parseDuration } from '@prombackup/contract';

// How each kind of setting is read from its text; settings.ts names which setting uses which.

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new Error(`want one of ${choices.join(', ')}`);
    return value as T;
  };
}

export function parseListenAddress(value: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!m) throw new Error('want host:port, e.g. ":8080" or "127.0.0.1:8080"');
  const port = Number(m[3]);
  if (port > 65535) throw new Error('port out of range');
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

export function parseHttpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('want an http or https URL');
  // API paths are appended to it: after a query or fragment they would not be paths at all.
  if (/[?#]/.test(value)) throw new Error('want a base URL without a query or a fragment');
  return value.replace(/\/+$/, '');
}

/** A URL with the password of its user info replaced by ***, the rest as given. */
export function withoutPassword(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/[^/?#]*@/, '//***@');
  }
  if (parsed.password === '') return url;
  parsed.password = '***';
  return url.endsWith('/') ? parsed.href : parsed.href.replace(/\/$/, '');
}

export function readTokenFile(value: string): string | undefined {
  if (value === '') return undefined;
  let token: string;
  try {
    token = readFileSync(value, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read the token file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (token.length < 16) throw new Error('the token file must hold a token of at least 16 characters');
  if (/\s/.test(token)) throw new Error('the token must not contain white space');
  // Node hands header values over as latin1 and clients encode other characters each their own
  // way (fetch refuses most), so a token outside printable ASCII would never match: refuse it now.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new Error('the token must be printable ASCII (letters, digits, punctuation), as HTTP headers carry; make one with `head -c 32 /dev/urandom | base64`');
  }
  return token;
}

export function parsePath(value: string): string {
  // An empty path would resolve against the working directory: treat it as missing.
  if (value === '') throw new Error('must not be empty');
  if (value.includes('\0')) throw new Error('contains a NUL byte');
  return value;
}

export function parseBool(value: string): boolean {
  const b = parseBoolean(value);
  if (b === undefined) throw new Error('want one of 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False');
  return b;
}

export function parseNonNegativeDuration(value: string): number {
  const ms = parseDuration(value);
  if (ms < 0) throw new Error('must not be negative');
  return ms;
}

export function parsePositiveDuration(value: string): number {
  const ms = parseDuration(value);
  if (ms <= 0) throw new Error('must be greater than zero');
  return ms;
}

/**
 * Longest wait a timer setting may ask for. Node's timers hold at most 2^31-1 ms (24.8 days) and
 * fire at once, with a warning, when asked for more; autoprune adds up to 10% jitter on top.
 */
export const MAX_TIMER_DURATION = '500h';

/** A duration that a timer waits for: greater than zero, at least `min`, at most MAX_TIMER_DURATION. */
export function timerDuration(min = '1ns'): (value: string) => number {
  const minMs = parseDuration(min);
  const maxMs = parseDuration(MAX_TIMER_DURATION);
  return (value) => {
    const ms = parsePositiveDuration(value);
    if (ms < minMs) throw new Error(`must be at least ${min}`);
    if (ms > maxMs) throw new Error(`must be at most ${MAX_TIMER_DURATION}`);
    return ms;
  };
}

/** Like timerDuration, but 0 (do not wait) is allowed. */
export function nonNegativeTimerDuration(value: string): number {
  return parseNonNegativeDuration(value) === 0 ? 0 : timerDuration()(value);
}

export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) {
    throw new Error('want a whole number from 1 to 10000');
  }
  return Number(value);
}
