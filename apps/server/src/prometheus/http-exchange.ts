import http from 'node:http';
import https from 'node:https';

export interface Exchange {
  status: number;
  contentType: string | undefined;
  text: string;
}

/** Raised when the connection fails; `code` is the system's (ECONNREFUSED, ENOTFOUND, ...). */
export class ExchangeError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    /** True when the answer had begun: the status line arrived, the body broke off. */
    readonly afterHeaders: boolean,
  ) {
    super(message);
  }
}

const MAX_REDIRECTS = 5;
// Prometheus' admin answers are a few hundred bytes; more than this is not one of them.
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * One small HTTP request, answer read whole, redirects followed. node:http rather than fetch:
 * fetch's first use loads undici, megabytes of memory for two tiny calls (docs/performance.md).
 */
export async function exchange(url: string, method: string, signal: AbortSignal): Promise<Exchange> {
  for (let hops = 0; ; hops++) {
    const answer = await once(url, method, signal);
    if ('location' in answer && hops < MAX_REDIRECTS) {
      // As browsers and fetch do: 303 (and a POST answered with 301 or 302) continues as GET.
      if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) method = 'GET';
      url = new URL(answer.location, url).toString();
      continue;
    }
    return answer as Exchange;
  }
}

function once(url: string, method: string, signal: AbortSignal): Promise<Exchange | { status: number; location: string }> {
  const send = url.startsWith('https:') ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(url, { method, signal }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location) {
        res.resume();
        resolve({ status, location });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size >= MAX_BODY_BYTES) return;
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => resolve({ status, contentType: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err: NodeJS.ErrnoException) => reject(new ExchangeError(err.message, err.code, true)));
      res.on('aborted', () => reject(new ExchangeError('the answer broke off', undefined, true)));
    });
    req.on('error', (err: NodeJS.ErrnoException) => reject(new ExchangeError(err.message, err.code, false)));
    req.end();
  });
}
