import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, describeApiFailure, isAnswerTimeout, waitingAgentOptions } from './api';

/** Answers POST /api/snapshot as the server does, after ANSWER_AFTER_MS (undici checks its timeouts about once a second). */
const ANSWER_AFTER_MS = 3000;
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    setTimeout(() => {
      res.writeHead(303, { 'Content-Type': 'application/json', Location: './download?name=20240102T030405Z-abc' });
      res.end(JSON.stringify({ name: '20240102T030405Z-abc' }));
    }, ANSWER_AFTER_MS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('a client that waits --snapshot-timeout', () => {
  it('has undici wait exactly that long for headers and body, also past fetch’s fixed 300 s', () => {
    expect(waitingAgentOptions(15 * 60_000)).toEqual({ headersTimeout: 900_000, bodyTimeout: 900_000 });
    expect(waitingAgentOptions(250)).toEqual({ headersTimeout: 250, bodyTimeout: 250 });
  });

  it('gives up when the answer takes longer than its wait, with an error recognised as a timeout', async () => {
    const started = Date.now();
    const err = await createClient(url, undefined, 300)
      .snapshots.createSnapshot({})
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isAnswerTimeout(err)).toBe(true);
    expect(Date.now() - started).toBeLessThan(ANSWER_AFTER_MS);
    expect(describeApiFailure(err, url)).toContain('UND_ERR_HEADERS_TIMEOUT');
  });

  it('takes an answer that comes within its wait', async () => {
    const answer = await createClient(url, undefined, 10_000).snapshots.createSnapshot({});
    expect(answer).toEqual({ name: '20240102T030405Z-abc' });
  });
});
