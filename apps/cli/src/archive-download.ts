import { Readable } from 'node:stream';
import { BaseHttpRequest, CancelablePromise, DownloadsService, type PrombackupClient } from '@prombackup/client';
import type { ApiRequestOptions } from '@prombackup/client/dist/core/ApiRequestOptions';
import { buildHeaders, buildUrl } from '@prombackup/client/dist/core/request';
import { DOWNLOAD_ID_HEADER } from '@prombackup/contract';

export type DownloadParams = Parameters<DownloadsService['download']>[0];

export interface OpenedDownload {
  id: string;
  body: Readable;
  contentType: string | null;
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
  const response = await fetch(buildUrl(config, options), { method: options.method, headers, redirect: 'manual', signal });
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    let message = text.slice(0, 300);
    try {
      message = JSON.parse(text).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new DownloadHttpError(response.status, message || response.statusText);
  }
  const id = response.headers.get(DOWNLOAD_ID_HEADER);
  if (!id || !response.body) {
    await response.body?.cancel();
    throw new Error(`the server's answer has no ${DOWNLOAD_ID_HEADER} header: is this a prombackup server?`);
  }
  return { id, body: Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), contentType: response.headers.get('Content-Type') };
}

export class DownloadHttpError extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`download refused with HTTP ${status}: ${detail}`);
  }
}
