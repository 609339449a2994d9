import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { type DownloadsService, type PrombackupClient, prepareGet } from '@prombackup/client';
import { API_PATHS, BLOCK_LIST_SEPARATOR, DOWNLOAD_ID_HEADER, SNAPSHOT_BYTES_HEADER, escapeControls, isBlockUlid } from '@prombackup/contract';

const ERROR_TEXT_LIMIT = 64 * 1024;

type GeneratedDownloadParams = Parameters<DownloadsService['download']>[0];

/**
 * Whatever the generated download operation accepts (a new query parameter needs no change
 * here), except that `blocks` is a list of ULIDs: an archive of those blocks only.
 */
export type DownloadParams = Omit<GeneratedDownloadParams, 'blocks'> & { blocks?: readonly string[] };

export interface OpenedDownload {
  id: string;
  /** The archive; pipe it into its destination. */
  body: IncomingMessage;
  /** The snapshot's bytes as the server counted them, when it says (a progress total). */
  snapshotBytes?: number;
}

/**
 * Starts an archive download and hands back its body as a stream. The generated client reads
 * bodies whole, so the request is sent here with node:http (fetch's web streams cost a third of
 * the CPU at these rates); its URL and headers come from the client. Aborting `signal` closes
 * the connection at once, so the server lets go of the snapshot.
 */
export async function openDownload(client: PrombackupClient, params: DownloadParams, signal?: AbortSignal): Promise<OpenedDownload> {
  const { url, headers } = await prepareGet(client, API_PATHS.download, { ...params, blocks: blockList(params.blocks) });
  const response = await send(url, headers, signal);
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    throw refusal(status, await errorText(response), response.statusMessage);
  }
  const id = response.headers[DOWNLOAD_ID_HEADER.toLowerCase()];
  if (typeof id !== 'string' || id === '') {
    response.destroy();
    throw new Error(`the server's answer has no ${DOWNLOAD_ID_HEADER} header: is this a prombackup server?`);
  }
  return { id, body: response, snapshotBytes: snapshotBytesOf(response.headers[SNAPSHOT_BYTES_HEADER.toLowerCase()]) };
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

/** The snapshot-bytes header as a number; undefined when it is missing or not a whole number. */
export function snapshotBytesOf(header: string | string[] | null | undefined): number | undefined {
  if (typeof header !== 'string' || !/^\d{1,16}$/.test(header)) return undefined;
  return Number(header);
}

function send(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
  const get = url.startsWith('https:') ? https.get : http.get;
  return new Promise((resolve, reject) => {
    get(url, { headers, signal }, resolve).on('error', (err) => reject(new Error(`the download request failed: ${err.message}`)));
  });
}

/** The first 64 KiB of an error answer; the rest is not read. */
async function errorText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    // Leaving the loop early destroys the response.
    for await (const chunk of response as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= ERROR_TEXT_LIMIT) break;
    }
  } catch {
    // cut off: what came is the message
  }
  return Buffer.concat(chunks).subarray(0, ERROR_TEXT_LIMIT).toString('utf8');
}

function refusal(status: number, text: string, statusMessage = ''): DownloadHttpError {
  let message = text.slice(0, 300);
  try {
    message = JSON.parse(text).message ?? message;
  } catch {
    // not JSON: keep the text
  }
  // The server's words go onto the operator's terminal: no control characters.
  return new DownloadHttpError(status, escapeControls(String(message || statusMessage)));
}

export class DownloadHttpError extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`download refused with HTTP ${status}: ${detail}`);
  }
}
