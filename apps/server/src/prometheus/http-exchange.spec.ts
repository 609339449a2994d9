import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ExchangeError, exchange } from './http-exchange';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(handler: http.RequestListener): Promise<string> {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

const soon = () => AbortSignal.timeout(5_000);

describe('exchange', () => {
  it('reads a whole answer with its status and content type', async () => {
    const base = await serve((req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url }));
    });
    const answer = await exchange(`${base}/api/v1/admin/tsdb/snapshot?skip_head=true`, 'POST', soon());
    expect(answer.status).toBe(201);
    expect(answer.contentType).toBe('application/json');
    expect(JSON.parse(answer.text)).toEqual({ method: 'POST', url: '/api/v1/admin/tsdb/snapshot?skip_head=true' });
  });

  it('follows redirects: 307 keeps the POST, 303 goes on as GET', async () => {
    const seen: string[] = [];
    const base = await serve((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/a') res.writeHead(307, { location: '/b' }).end();
      else if (req.url === '/b') res.writeHead(303, { location: '/c' }).end();
      else res.end('here');
    });
    expect((await exchange(`${base}/a`, 'POST', soon())).text).toBe('here');
    expect(seen).toEqual(['POST /a', 'POST /b', 'GET /c']);
  });

  it('stops following a redirect loop and returns the last answer', async () => {
    const base = await serve((_req, res) => res.writeHead(302, { location: '/again' }).end());
    const answer = await exchange(`${base}/`, 'GET', soon()).catch((err: Error) => err);
    expect(answer).not.toBeInstanceOf(Error);
    expect((answer as { status: number }).status).toBe(302);
  });

  it('names the system error when nothing listens, and says when an answer broke off', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.destroy(), 20);
    });
    const broken = await exchange(`${base}/`, 'GET', soon()).catch((err: ExchangeError) => err);
    expect(broken).toBeInstanceOf(ExchangeError);
    expect((broken as ExchangeError).afterHeaders).toBe(true);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const refused = await exchange(base, 'GET', soon()).catch((err: ExchangeError) => err);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED', afterHeaders: false });
  });
});
