import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { DOWNLOAD_ID_HEADER } from '@prombackup/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from './api';
import { blockList, openDownload } from './archive-download';

const A = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const B = '01HBBBBBBBBBBBBBBBBBBBBBBB';

let server: http.Server | undefined;
const seen: URL[] = [];
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  seen.length = 0;
});

/** A server that records each request's URL and answers with a tiny "archive". */
async function serve(): Promise<string> {
  server = http.createServer((req: IncomingMessage, res) => {
    seen.push(new URL(req.url!, 'http://x'));
    res.writeHead(200, { [DOWNLOAD_ID_HEADER]: 'id1', 'Content-Type': 'application/x-tar' }).end('archive');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('a download of some blocks', () => {
  it('asks for blocks=A,B, for one block, and for the whole snapshot without blocks', async () => {
    const client = createClient(await serve());
    const streamed = await openDownload(client, { name: 'snap-1', format: 'tzst', blocks: [B, A] });
    expect((await buffer(streamed.body)).toString()).toBe('archive');
    const one = await openDownload(client, { name: 'snap-1', blocks: [A] });
    expect(one.id).toBe('id1');
    await buffer(one.body);
    await openDownload(client, { name: 'snap-1' }).then(({ body }) => buffer(body));
    expect(seen.map((url) => [url.pathname, url.searchParams.get('name'), url.searchParams.get('blocks')])).toEqual([
      ['/api/download', 'snap-1', `${B},${A}`],
      ['/api/download', 'snap-1', A],
      ['/api/download', 'snap-1', null],
    ]);
    expect(seen[0].searchParams.get('format')).toBe('tzst');
  });

  it.each([
    [[], /empty list of blocks/],
    [['nonsense'], /"nonsense" is not a block ULID/],
    [[A.toLowerCase()], /is not a block ULID/],
    [[A, B, A], new RegExp(`block ${A} is listed more than once`)],
  ])('refuses %j before sending anything', async (blocks, message) => {
    const client = createClient(await serve());
    await expect(openDownload(client, { name: 'snap-1', blocks })).rejects.toThrow(message);
    expect(seen).toEqual([]);
  });

  it('joins ULIDs with commas and leaves an absent list absent', () => {
    expect(blockList(undefined)).toBeUndefined();
    expect(blockList([A, B])).toBe(`${A},${B}`);
  });
});
