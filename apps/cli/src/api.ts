import { ApiError, type ApiRequestOptions, BaseHttpRequest, type CancelablePromise, type Fetch, PrombackupClient, request } from '@prombackup/client';
import { escapeControls } from '@prombackup/contract';
import { Agent, fetch as undiciFetch } from 'undici';
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

/**
 * A client for the server at `server`. With `waitMs`, each request waits that long for the
 * answer's headers and body, instead of global fetch's fixed 300 s for the headers.
 */
export function createClient(server: string, token?: string, waitMs?: number): PrombackupClient {
  const config = { BASE: server.replace(/\/+$/, ''), TOKEN: token || undefined };
  if (waitMs === undefined) return new PrombackupClient(config);
  const send = waitingFetch(waitMs);
  class WaitingRequest extends BaseHttpRequest {
    override request<T>(options: ApiRequestOptions): CancelablePromise<T> {
      return request<T>(this.config, options, send);
    }
  }
  return new PrombackupClient(config, WaitingRequest);
}

/** Undici's limits for a dispatcher that waits `waitMs` for the headers and between body chunks. */
export function waitingAgentOptions(waitMs: number): Agent.Options {
  return { headersTimeout: waitMs, bodyTimeout: waitMs };
}

/**
 * Undici's own fetch with its own Agent: global fetch is bound to the undici inside Node, whose
 * version an Agent from the package need not match.
 */
function waitingFetch(waitMs: number): Fetch {
  const dispatcher = new Agent(waitingAgentOptions(waitMs));
  return (url, init) => undiciFetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response>;
}

/** Whether `err` is undici giving up waiting for an answer (see waitingAgentOptions). */
export function isAnswerTimeout(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
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
    return `server answered HTTP ${err.status}${detail ? `: ${escapeControls(detail)}` : ` ${escapeControls(err.statusText)}`}${authHint(err.status, tokenGiven)}`;
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
