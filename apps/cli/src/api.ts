import { ApiError, PrombackupClient } from '@prombackup/client';
import { DownloadHttpError } from './archive-download';

// Errors that mean no connection could be made at all.
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
]);

/** A client for the server at `server`. */
export function createClient(server: string, token?: string): PrombackupClient {
  return new PrombackupClient({ BASE: server.replace(/\/+$/, ''), TOKEN: token || undefined });
}

/** Whether a token can go in an Authorization header as it is: visible ASCII, inner spaces allowed. */
export function isHeaderSafe(token: string): boolean {
  return /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(token);
}

/**
 * One line saying what went wrong talking to the server, for any error the client or fetch throws.
 * `tokenGiven` picks the hint a 401 gets.
 */
export function describeApiFailure(err: unknown, server: string, tokenGiven = false): string {
  if (err instanceof ApiError) {
    const body = err.body as { message?: unknown } | string | undefined;
    const detail = typeof body === 'object' && body && typeof body.message === 'string' ? body.message : typeof body === 'string' ? body.slice(0, 300) : '';
    return `server answered HTTP ${err.status}${detail ? `: ${detail}` : ` ${err.statusText}`}${authHint(err.status, tokenGiven)}`;
  }
  if (err instanceof DownloadHttpError) return `${err.message}${authHint(err.status, tokenGiven)}`;
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TypeError' && e.message === 'fetch failed') {
    const code = e.cause?.code ?? '';
    if (UNREACHABLE.has(code)) return `cannot reach the server at ${server} (${code})`;
    return `the connection to the server at ${server} failed: ${e.cause?.message ?? 'network error'}${code ? ` (${code})` : ''}`;
  }
  return e?.message ?? String(err);
}

function authHint(status: number, tokenGiven: boolean): string {
  if (status !== 401) return '';
  return tokenGiven ? ' (check --token or PROMBACKUP_TOKEN)' : ' (pass --token or set PROMBACKUP_TOKEN)';
}
