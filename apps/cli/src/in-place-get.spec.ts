import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type BodySink, InPlaceGet } from './in-place-get';

let server: net.Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A server that answers every connection with `pieces`, written with a pause between them. */
async function serve(...pieces: Array<string | Buffer>): Promise<URL> {
  server = net.createServer(async (socket) => {
    socket.on('error', () => undefined);
    // Reads the request, so that the client closing its end is seen and the server can close.
    socket.resume();
    for (const piece of pieces) {
      socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    socket.end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/api/download?name=x`);
}

/**
 * Collects the body. Its space is small and changes size, so reads end anywhere in the chunk
 * framing; every third slot it is busy for a moment, so bytes also arrive while it is full.
 */
class SmallSink implements BodySink {
  readonly received: Buffer[] = [];
  ready = true;
  private readonly memory = Buffer.alloc(4096);
  private turns = 0;

  space(): Buffer {
    return this.memory.subarray(0, [1, 3, 7, 100, 4096][this.turns % 5]);
  }

  advance(n: number): boolean {
    this.received.push(Buffer.from(this.memory.subarray(0, n)));
    if (++this.turns % 3 === 0) {
      this.ready = false;
      setTimeout(() => (this.ready = true), 2);
    }
    return this.ready;
  }

  async whenReady(): Promise<void> {
    while (!this.ready) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  body(): Buffer {
    return Buffer.concat(this.received);
  }
}

function chunked(body: Buffer, sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < body.length; i++) {
    const part = body.subarray(at, at + sizes[i % sizes.length]);
    parts.push(Buffer.from(`${part.length.toString(16)}${i % 2 ? ';ext=1' : ''}\r\n`), part, Buffer.from('\r\n'));
    at += part.length;
  }
  return Buffer.concat([...parts, Buffer.from('0\r\nX-Trailer: yes\r\n\r\n')]);
}

const OK_CHUNKED = 'HTTP/1.1 200 OK\r\nX-Prombackup-Download-Id: d1\r\nTransfer-Encoding: chunked\r\n\r\n';

describe('InPlaceGet', () => {
  it('sends the request and undoes chunked framing split anywhere', async () => {
    const body = randomBytes(300_000);
    const wire = chunked(body, [1, 17, 4096, 100_000, 2]);
    let request = '';
    const url = await serve(OK_CHUNKED, wire.subarray(0, 1000), wire.subarray(1000, 1003), wire.subarray(1003));
    server!.on('connection', (socket) => socket.on('data', (d) => (request += d)));
    const get = await InPlaceGet.open(url, { Accept: '*/*', Authorization: 'Bearer t' });
    expect(get.status).toBe(200);
    expect(get.headers.get('x-prombackup-download-id')).toBe('d1');
    const sink = new SmallSink();
    await get.receive(sink);
    expect(sink.body().equals(body)).toBe(true);
    expect(request).toMatch(/^GET \/api\/download\?name=x HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nAccept: \*\/\*\r\nAuthorization: Bearer t\r\n/);
  });

  it('takes a head that comes in pieces, with body bytes behind it', async () => {
    const body = randomBytes(10_000);
    const url = await serve('HTTP/1.1 200 OK\r\nTransfer-Enc', `oding: chunked\r\n\r\n${(5000).toString(16)}\r\n`, chunked(body, [5000]).subarray(6));
    const get = await InPlaceGet.open(url, {});
    const sink = new SmallSink();
    await get.receive(sink);
    expect(sink.body().equals(body)).toBe(true);
  });

  it('reads a body of known length, and one that ends when the connection does', async () => {
    const body = randomBytes(70_000);
    const sized = await InPlaceGet.open(await serve(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`, body), {});
    const sink = new SmallSink();
    await sized.receive(sink);
    expect(sink.body().equals(body)).toBe(true);
    await new Promise((resolve) => server!.close(resolve));

    const open = await InPlaceGet.open(await serve('HTTP/1.0 200 OK\r\n\r\n', body.subarray(0, 5), body.subarray(5)), {});
    const all = new SmallSink();
    await open.receive(all);
    expect(all.body().equals(body)).toBe(true);
  });

  it('gives an error answer as text', async () => {
    const text = JSON.stringify({ message: 'no snapshot named x' });
    const get = await InPlaceGet.open(await serve(`HTTP/1.1 404 Not Found\r\nContent-Length: ${text.length}\r\n\r\n${text}`), {});
    expect([get.status, get.statusText]).toEqual([404, 'Not Found']);
    expect(await get.text()).toBe(text);
  });

  it('fails when the connection ends before the last chunk', async () => {
    const get = await InPlaceGet.open(await serve(OK_CHUNKED, chunked(randomBytes(50_000), [20_000]).subarray(0, 30_000)), {});
    await expect(get.receive(new SmallSink())).rejects.toThrow(/closed the connection before the end of the archive/);
  });

  it('fails on broken framing', async () => {
    const get = await InPlaceGet.open(await serve(OK_CHUNKED, '5\r\nhello\r\nzz\r\n'), {});
    await expect(get.receive(new SmallSink())).rejects.toThrow(/broke the chunked encoding/);
  });

  it('fails when there is no server or no HTTP', async () => {
    const closed = await serve();
    await new Promise((resolve) => server!.close(resolve));
    await expect(InPlaceGet.open(closed, {})).rejects.toThrow(/ECONNREFUSED/);
    await expect(InPlaceGet.open(await serve('SSH-2.0-OpenSSH\r\n\r\n'), {})).rejects.toThrow(/not HTTP\/1\.1/);
  });

  it('passes on why the sink failed', async () => {
    const get = await InPlaceGet.open(await serve(OK_CHUNKED, chunked(randomBytes(100_000), [10_000])), {});
    const sink = new SmallSink();
    sink.whenReady = async () => {
      throw new Error('cannot write /x: ENOSPC');
    };
    await expect(get.receive(sink)).rejects.toThrow('cannot write /x: ENOSPC');
  });
});
