import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import { BaseHttpRequest, CancelablePromise, DownloadsService, type PrombackupClient } from '@prombackup/client';
import type { ApiRequestOptions } from '@prombackup/client/dist/core/ApiRequestOptions';
import { buildHeaders, buildUrl } from '@prombackup/client/dist/core/request';
import { BLOCK_LIST_SEPARATOR, DOWNLOAD_ID_HEADER, SNAPSHOT_BYTES_HEADER, isBlockUlid } from '@prombackup/contract';
import { type BodySink, InPlaceGet } from './in-place-get';

type GeneratedDownloadParams = Parameters<DownloadsService['download']>[0];

/** What to download; `blocks` (ULIDs) asks for an archive of those blocks of the snapshot only. */
export type DownloadParams = Omit<GeneratedDownloadParams, 'blocks'> & { blocks?: readonly string[] };

export interface OpenedDownload {
  id: string;
  body: Readable;
  /** The snapshot's bytes as the server counted them, when it says (a progress total). */
  snapshotBytes?: number;
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
  return sendDownload(await downloadRequest(client, params), signal);
}

async function sendDownload(request: DownloadRequest, signal?: AbortSignal): Promise<OpenedDownload> {
  const response = await send(request.url, request.method, request.headers, signal);
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    const text = (await buffer(response).catch(() => Buffer.alloc(0))).toString('utf8');
    throw refusal(status, text, response.statusMessage);
  }
  const id = response.headers[DOWNLOAD_ID_HEADER.toLowerCase()];
  if (typeof id !== 'string' || id === '') {
    response.destroy();
    throw noDownloadId();
  }
  return { id, body: response, snapshotBytes: snapshotBytesOf(response.headers[SNAPSHOT_BYTES_HEADER.toLowerCase()]) };
}

/** The snapshot-bytes header as a number; undefined when it is missing or not a whole number. */
export function snapshotBytesOf(header: string | string[] | null | undefined): number | undefined {
  if (typeof header !== 'string' || !/^\d{1,16}$/.test(header)) return undefined;
  return Number(header);
}

export interface InPlaceDownload {
  id: string;
  snapshotBytes?: number;
  /** Puts the whole body into `sink` and ends it; resolves once the sink has finished. On failure the caller destroys the sink. */
  receive(sink: BodySink & Writable): Promise<void>;
}

/**
 * Starts an archive download whose body is received straight into a sink's memory, for the
 * throughput of writing to a file. Over https, node:https reads and its chunks are copied in.
 */
export async function openDownloadInPlace(client: PrombackupClient, params: DownloadParams, signal?: AbortSignal): Promise<InPlaceDownload> {
  const request = await downloadRequest(client, params);
  if (!request.url.startsWith('http:') || request.method !== 'GET') {
    const { id, body, snapshotBytes } = await sendDownload(request, signal);
    return { id, snapshotBytes, receive: (sink) => pipeline(body, sink) };
  }
  let get: InPlaceGet;
  try {
    get = await InPlaceGet.open(new URL(request.url), request.headers);
  } catch (err) {
    throw new Error(`the download request failed: ${(err as Error).message}`);
  }
  if (get.status < 200 || get.status >= 300) throw refusal(get.status, await get.text().catch(() => ''), get.statusText);
  const id = get.headers.get(DOWNLOAD_ID_HEADER.toLowerCase());
  if (!id) {
    get.destroy();
    throw noDownloadId();
  }
  // A cancelled download closes its connection at once, so the server lets go of the snapshot.
  if (signal?.aborted) get.destroy();
  else signal?.addEventListener('abort', () => get.destroy(), { once: true });
  return {
    id,
    snapshotBytes: snapshotBytesOf(get.headers.get(SNAPSHOT_BYTES_HEADER.toLowerCase())),
    async receive(sink) {
      await get.receive(sink);
      await finished(sink.end());
    },
  };
}

interface DownloadRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
}

async function downloadRequest(client: PrombackupClient, params: DownloadParams): Promise<DownloadRequest> {
  const capture = new CapturingRequest(client.request.config);
  void new DownloadsService(capture).download({ ...params, blocks: blockList(params.blocks) });
  const options = capture.captured!;
  const config = client.request.config;
  const headers = await buildHeaders(config, { ...options, headers: { Accept: '*/*' } });
  return { url: buildUrl(config, options), method: options.method, headers };
}

/** The blocks parameter as the server takes it; refuses a list the server would refuse, before any request. */
export function blockList(blocks: readonly string[] | undefined): string | undefined {
  if (blocks === undefined) return undefined;
  if (blocks.length === 0) throw new Error('no blocks to download: an empty list of blocks is not the whole snapshot');
  const bad = blocks.find((ulid) => !isBlockUlid(ulid));
  if (bad !== undefined) throw new Error(`${JSON.stringify(bad)} is not a block ULID (26 characters of Crockford base32, upper case)`);
  const repeated = blocks.find((ulid, i) => blocks.indexOf(ulid) !== i);
  if (repeated !== undefined) throw new Error(`block ${repeated} is listed more than once`);
  return blocks.join(BLOCK_LIST_SEPARATOR);
}

function refusal(status: number, text: string, statusMessage = ''): DownloadHttpError {
  let message = text.slice(0, 300);
  try {
    message = JSON.parse(text).message ?? message;
  } catch {
    // not JSON: keep the text
  }
  return new DownloadHttpError(status, message || statusMessage);
}

function noDownloadId(): Error {
  return new Error(`the server's answer has no ${DOWNLOAD_ID_HEADER} header: is this a prombackup server?`);
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
