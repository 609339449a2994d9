// The package's entry, written by hand: the generated client (src/, never edited by hand), plus
// what a request the generated client cannot make needs from it: the URL and the headers.
import { buildHeaders, buildUrl } from './src/core/request';
import type { PrombackupClient } from './src/PrombackupClient';

export * from './src/index';
export { request, type Fetch } from './src/core/request';
export type { ApiRequestOptions } from './src/core/ApiRequestOptions';

/** Where a request goes and what it carries, as the generated client would send it. */
export interface PreparedRequest {
  url: string;
  headers: Record<string, string>;
}

/**
 * GET `path` with `query` as the client would send it: its base URL, query encoding and token.
 * For an answer that must be streamed (an archive), which the generated client reads whole.
 */
export async function prepareGet(client: PrombackupClient, path: string, query: Record<string, unknown>): Promise<PreparedRequest> {
  const options = { method: 'GET', url: path, query, headers: { Accept: '*/*' } } as const;
  const config = client.request.config;
  return { url: buildUrl(config, options), headers: await buildHeaders(config, options) };
}
