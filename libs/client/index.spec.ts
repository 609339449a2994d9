import { API_PATHS } from '@prombackup/contract';
import { describe, expect, it } from 'vitest';
import { type ApiRequestOptions, BaseHttpRequest, CancelablePromise, DownloadsService, type OpenAPIConfig, PrombackupClient, prepareGet } from './index';
import { buildUrl } from './src/core/request';

type DownloadParams = Parameters<DownloadsService['download']>[0];

const NAME = '20240102T030405Z-0123abcd';
const PARAMS: DownloadParams[] = [
  { name: NAME },
  { name: NAME, format: 'tar' },
  { name: NAME, format: 'tgz', level: 9 },
  { name: NAME, format: 'tzst', level: 19 },
  { name: NAME, level: 3 },
  { name: 'a b&c=d/é?#', format: 'tgz' },
];

/** Remembers the options a generated operation passes, and sends nothing (a test double). */
class Recorder extends BaseHttpRequest {
  seen?: ApiRequestOptions;
  override request<T>(options: ApiRequestOptions): CancelablePromise<T> {
    this.seen = options;
    return new CancelablePromise<T>(() => undefined);
  }
}

/** A URL's origin and path, and its query as sorted pairs: the same request whatever the order. */
function parts(url: string) {
  const u = new URL(url);
  return { at: `${u.origin}${u.pathname}`, query: [...u.searchParams].sort() };
}

describe('prepareGet', () => {
  it.each(PARAMS)('puts every download parameter in the query as the generated operation does: %j', async (params) => {
    const client = new PrombackupClient({ BASE: 'http://backup.example:9999' });
    const { url } = await prepareGet(client, API_PATHS.download, params);
    const recorder = new Recorder(client.request.config);
    void new DownloadsService(recorder).download(params);
    expect(parts(url)).toEqual(parts(buildUrl(client.request.config, recorder.seen!)));
    expect(recorder.seen!.method).toBe('GET');
    expect(recorder.seen!.url).toBe(API_PATHS.download);
  });

  it('leaves out parameters not given, and encodes the rest', async () => {
    const client = new PrombackupClient({ BASE: 'http://h:1' });
    expect((await prepareGet(client, API_PATHS.download, { name: NAME, level: undefined })).url).toBe(`http://h:1/api/download?name=${NAME}`);
    expect((await prepareGet(client, API_PATHS.download, { name: 'a b&c=d/é?#', format: 'tzst', level: 5 })).url).toBe(
      'http://h:1/api/download?name=a+b%26c%3Dd%2F%C3%A9%3F%23&format=tzst&level=5',
    );
  });

  it.each([
    ['http://h:1', 'http://h:1/api/download?name=x'],
    ['http://h:1/', 'http://h:1/api/download?name=x'],
    ['https://h/backup', 'https://h/backup/api/download?name=x'],
    ['https://h/backup//', 'https://h/backup/api/download?name=x'],
  ])('keeps the base path of %s', async (base, expected) => {
    const { url } = await prepareGet(new PrombackupClient({ BASE: base }), API_PATHS.download, { name: 'x' });
    expect(url).toBe(expected);
  });

  it.each<[string, Partial<OpenAPIConfig>, Record<string, string>]>([
    ['no token', {}, { Accept: '*/*' }],
    ['a token', { TOKEN: 's3cret' }, { Accept: '*/*', Authorization: 'Bearer s3cret' }],
    ['a token from a function', { TOKEN: async () => 'later' }, { Accept: '*/*', Authorization: 'Bearer later' }],
    ['user and password', { USERNAME: 'u', PASSWORD: 'p' }, { Accept: '*/*', Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` }],
    ['extra headers', { HEADERS: { 'X-Trace': '1' }, TOKEN: 't' }, { Accept: '*/*', 'X-Trace': '1', Authorization: 'Bearer t' }],
    ['an empty token', { TOKEN: '' }, { Accept: '*/*' }],
  ])('sends the headers the client would with %s, asking for any content type', async (_what, config, expected) => {
    const { headers } = await prepareGet(new PrombackupClient({ BASE: 'http://h:1', ...config }), API_PATHS.download, { name: 'x' });
    expect(headers).toEqual(expected);
  });
});
