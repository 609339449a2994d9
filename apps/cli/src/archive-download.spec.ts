import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from './api';
import { DownloadHttpError, openDownload } from './archive-download';
import { receiveWith } from './archive-receive';
import { HashingFileWriter } from './hashing-file-writer';

const MiB = 1024 * 1024;
const ID = { 'X-Prombackup-Download-Id': 'd1' };
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: http.Server | undefined;
let dir: string;
/** What the server saw of each request. */
let seen: Array<{ url: string; headers: http.IncomingHttpHeaders; closed: Promise<void> }>;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-download-'));
  seen = [];
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await fs.rm(dir, { recursive: true, force: true });
});

/** A server that answers every request with `answer`; returns its base URL. */
async function serve(answer: (res: http.ServerResponse) => Promise<void> | void): Promise<string> {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url!, headers: req.headers, closed: new Promise((resolve) => res.on('close', resolve)) });
    res.on('error', () => undefined);
    void Promise.resolve(answer(res)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

/** Writes `body` in pieces of up to 100 KB with pauses, so it arrives in many reads. */
async function writeInPieces(res: http.ServerResponse, body: Buffer, upTo = body.length): Promise<void> {
  for (let at = 0; at < upTo; at += 100_000) {
    res.write(body.subarray(at, Math.min(upTo, at + 100_000)));
    await pause(2);
  }
}

async function receive(base: string, params = { name: 'snap' }, signal?: AbortSignal) {
  const writer = new HashingFileWriter(path.join(dir, 'out'), { slotBytes: MiB, slots: 2 });
  const received = receiveWith(createClient(base, 'tok'), params, writer, 'snap.tar', signal);
  return { writer, received };
}

describe('a download over node:http', () => {
  const body = randomBytes(3 * MiB + 17);

  it('receives a chunked body into the file, hashed, with the request the client prepared', async () => {
    const base = await serve(async (res) => {
      res.writeHead(200, { ...ID, 'X-Prombackup-Snapshot-Bytes': '123' });
      await writeInPieces(res, body);
      res.end();
    });
    const { received } = await receive(base, { name: 'snap', format: 'tgz', level: 3 } as { name: string });
    expect(await received).toEqual({ id: 'd1', bytes: body.length, sha256: sha(body) });
    expect((await fs.readFile(path.join(dir, 'out'))).equals(body)).toBe(true);
    expect(seen[0].url).toBe('/api/download?name=snap&format=tgz&level=3');
    expect(seen[0].headers).toMatchObject({ accept: '*/*', authorization: 'Bearer tok' });
  });

  it('says what the answer carries: its id, its framing, the snapshot size', async () => {
    const base = await serve((res) => {
      res.writeHead(200, { ...ID, 'X-Prombackup-Snapshot-Bytes': '123' });
      res.end(body);
    });
    const download = await openDownload(createClient(base), { name: 'snap' });
    expect([download.id, download.snapshotBytes, download.body.headers['transfer-encoding']]).toEqual(['d1', 123, 'chunked']);
    download.body.destroy();
  });

  it('receives a body of known length', async () => {
    const base = await serve(async (res) => {
      res.writeHead(200, { ...ID, 'Content-Length': body.length });
      await writeInPieces(res, body);
      res.end();
    });
    const { received } = await receive(base);
    expect(await received).toEqual({ id: 'd1', bytes: body.length, sha256: sha(body) });
  });

  it.each([
    ['chunked', {}],
    ['of known length', { 'Content-Length': body.length }],
  ])('fails a %s body cut off halfway, naming the bytes that came, and writes nothing more', async (_framing, headers) => {
    const base = await serve(async (res) => {
      res.writeHead(200, { ...ID, ...headers });
      await writeInPieces(res, body, 1_500_000);
      await pause(50);
      res.socket!.destroy();
    });
    const { writer, received } = await receive(base);
    await expect(received).rejects.toThrow(/^the download was cut off after 1\.4 MiB: the server closed the connection before the end of the archive/);
    expect(writer.destroyed).toBe(true);
    expect(writer.sha256).toBeUndefined();
  });

  it.each<[string, number, Record<string, string>, string, RegExp]>([
    ['JSON', 404, { 'Content-Type': 'application/json' }, JSON.stringify({ statusCode: 404, message: 'no snapshot named snap' }), /^download refused with HTTP 404: no snapshot named snap$/],
    ['text', 503, {}, 'shutting down', /^download refused with HTTP 503: shutting down$/],
    ['nothing', 429, {}, '', /^download refused with HTTP 429: Too Many Requests$/],
  ])('refuses with the server\'s message when it answers with %s', async (_kind, status, headers, text, message) => {
    const base = await serve((res) => {
      res.writeHead(status, headers);
      res.end(text);
    });
    const { writer, received } = await receive(base);
    const err = await received.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadHttpError);
    expect((err as DownloadHttpError).status).toBe(status);
    expect((err as Error).message).toMatch(message);
    expect(writer.bytes).toBe(0);
  });

  it('reads no more than the start of an endless error answer', async () => {
    const base = await serve(async (res) => {
      res.writeHead(500);
      for (let i = 0; i < 10_000 && !res.destroyed; i++) {
        res.write('x'.repeat(64 * 1024));
        await pause(1);
      }
      res.end();
    });
    await expect(openDownload(createClient(base), { name: 'snap' })).rejects.toThrow(/^download refused with HTTP 500: x{300}$/);
    await seen[0].closed;
  });

  it('fails an answer without a download id, and closes it', async () => {
    const base = await serve(async (res) => {
      res.writeHead(200);
      await writeInPieces(res, body);
      res.end();
    });
    const { writer, received } = await receive(base);
    await expect(received).rejects.toThrow(/has no X-Prombackup-Download-Id header: is this a prombackup server\?/);
    expect(writer.bytes).toBe(0);
    await seen[0].closed;
  });

  it('says when there is no server', async () => {
    const base = await serve(() => undefined);
    server!.close();
    await pause(10);
    await expect(openDownload(createClient(base), { name: 'snap' })).rejects.toThrow(/^the download request failed: connect ECONNREFUSED/);
  });

  it('closes the connection at once when aborted halfway through the body', async () => {
    const base = await serve(async (res) => {
      res.writeHead(200, ID);
      res.write(body.subarray(0, 100_000));
      // Then nothing more: only the client can end this.
    });
    const cancel = new AbortController();
    const { writer, received } = await receive(base, undefined, cancel.signal);
    while (writer.bytes === 0) await pause(5);
    const started = Date.now();
    cancel.abort();
    await expect(received).rejects.toThrow(/cut off after 97\.7 KiB/);
    await seen[0].closed;
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('closes the connection when aborted before the answer', async () => {
    const base = await serve(() => undefined);
    const cancel = new AbortController();
    const opened = openDownload(createClient(base), { name: 'snap' }, cancel.signal);
    while (seen.length === 0) await pause(5);
    cancel.abort();
    await expect(opened).rejects.toThrow(/the download request failed: .*abort/i);
    await seen[0].closed;
  });
});
