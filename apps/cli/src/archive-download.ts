import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BaseHttpRequest, CancelablePromise, DownloadsService, type PrombackupClient } from '@prombackup/client';
import type { ApiRequestOptions } from '@prombackup/client/dist/core/ApiRequestOptions';
import { buildHeaders, buildUrl } from '@prombackup/client/dist/core/request';
import { DOWNLOAD_ID_HEADER } from '@prombackup/contract';

export type DownloadParams = Parameters<DownloadsService['download']>[0];

export interface OpenedDownload {
  id: string;
  body: Readable;
}

/** Remembers the request a generated service method would send, without sending it. */
class CapturingRequest extends BaseHttpRequest {
  captured?: ApiRequestOptions;
  override request<T>(options: ApiRequestOptions): CancelablePromise<T> {
    this.captured = options;
    return new CancelablePromise<T>(() => undefined);
  }
}

/**
 * Starts an archive download and hands back its body as a stream. The generated client reads
 * bodies whole and as text, so the request is sent here; its path, query and headers still
 * come from the generated `download` operation and the client's configuration.
 */
export async function openDownload(client: PrombackupClient, params: DownloadParams, signal?: AbortSignal): Promise<OpenedDownload> {
  const capture = new CapturingRequest(client.request.config);
  void new DownloadsService(capture).download(params);
  const options = capture.captured!;
  const config = client.request.config;
  const headers = await buildHeaders(config, { ...options, headers: { Accept: '*/*' } });
  const response = await send(buildUrl(config, options), options.method, headers, signal);
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    const text = (await buffer(response).catch(() => Buffer.alloc(0))).toString('utf8');
    let message = text.slice(0, 300);
    try {
      message = JSON.parse(text).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new DownloadHttpError(status, message || (response.statusMessage ?? ''));
  }
  const id = response.headers[DOWNLOAD_ID_HEADER.toLowerCase()];
  if (typeof id !== 'string' || id === '') {
    response.destroy();
    throw new Error(`the server's answer has no ${DOWNLOAD_ID_HEADER} header: is this a prombackup server?`);
  }
  return { id, body: response };
}

// node:http rather than fetch: fetch's web streams cost a third of the CPU at these rates.
function send(url: string, method: string, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
  const get = url.startsWith('https:') ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = get(url, { method, headers, signal }, resolve);
    req.on('error', (err) => reject(new Error(`the download request failed: ${err.message}`)));
    req.end();
  });
}

export class DownloadHttpError extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`download refused with HTTP ${status}: ${detail}`);
  }
}
