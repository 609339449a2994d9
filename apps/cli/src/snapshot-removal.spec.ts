import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from './api';
import { removeSnapshot } from './snapshot-removal';

const NAME = '20240102T030405Z-abc';
/** Statuses to answer DELETE with, one per request; the last one repeats. */
let script: number[] = [];
let requests: string[] = [];
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const status = script.length > 1 ? script.shift()! : script[0];
    if (status === 405) {
      // As the Go original's router answers: plain text.
      res.writeHead(405, { 'Content-Type': 'text/plain' }).end('Method Not Allowed\n');
      return;
    }
    const body = status === 200 ? { name: NAME } : { statusCode: status, message: `refused with ${status}` };
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const remove = (statuses: number[], busyWaitMs = 0) => {
  script = statuses;
  requests = [];
  return removeSnapshot(createClient(url), NAME, url, { busyWaitMs, sleep: async () => undefined });
};

describe('removeSnapshot', () => {
  it('sends DELETE /api/snapshot?name=NAME and reports success', async () => {
    expect(await remove([200])).toEqual({ removed: true });
    expect(requests).toEqual([`DELETE /api/snapshot?name=${NAME}`]);
  });

  it('recognises a server without the endpoint (405, as the Go original answers)', async () => {
    expect(await remove([405])).toMatchObject({ removed: false, unsupported: true, reason: expect.stringMatching(/no DELETE \/api\/snapshot/) });
  });

  it('retries a 409 while busyWaitMs lasts, then succeeds', async () => {
    expect(await remove([409, 409, 200], 60_000)).toEqual({ removed: true });
    expect(requests).toHaveLength(3);
  });

  it('gives up on a 409 without busyWaitMs and says it is in use', async () => {
    expect(await remove([409])).toMatchObject({ removed: false, inUse: true, reason: expect.stringMatching(/409: refused with 409/) });
    expect(requests).toHaveLength(1);
  });

  it('marks a 404 as gone and passes other failures on in words', async () => {
    expect(await remove([404])).toMatchObject({ removed: false, gone: true });
    expect(await remove([503])).toMatchObject({ removed: false, reason: expect.stringMatching(/HTTP 503/) });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const nobody = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    expect(await removeSnapshot(createClient(nobody), NAME, nobody)).toMatchObject({
      removed: false,
      reason: expect.stringMatching(/cannot reach the server/),
    });
  });
});
