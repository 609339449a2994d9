// A small HTTP (or HTTPS) proxy that damages or cuts archive downloads on their way to the client.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * 'no-delete' answers DELETE as the Go original's router does (405): a server without that endpoint.
 * 'stall' passes the first bytes of a download and then holds the connection open.
 */
export type Fault = 'none' | 'flip-byte' | 'cut' | 'stall' | 'no-delete';

export interface FaultyProxy {
  url: string;
  fault: Fault;
  close(): Promise<void>;
}

/**
 * Forwards every request to `target`; download bodies get `fault` applied after `afterBytes`.
 * With `tls` (a key and certificate in PEM), clients speak HTTPS to the proxy.
 */
export async function startFaultyProxy(target: string, afterBytes = 4096, tls?: { key: string; cert: string }): Promise<FaultyProxy> {
  const upstream = new URL(target);
  const proxy: FaultyProxy = { url: '', fault: 'none', close: async () => undefined };
  const handle: http.RequestListener = (req, res) => {
    if (proxy.fault === 'no-delete' && req.method === 'DELETE') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders();
        const damage = req.url?.startsWith('/api/download?') && proxy.fault !== 'no-delete' ? proxy.fault : 'none';
        let seen = 0;
        let done = false;
        answer.on('data', (chunk: Buffer) => {
          if (done) return;
          if (damage !== 'none' && seen + chunk.length > afterBytes) {
            const at = Math.max(0, afterBytes - seen);
            if (damage === 'stall') {
              done = true;
              res.write(chunk.subarray(0, at));
              res.on('close', () => answer.destroy());
              answer.pause();
              return;
            }
            if (damage === 'cut') {
              done = true;
              // Cut after the bytes so far have reached the client: a download broken mid-body.
              res.write(chunk.subarray(0, at), () => res.socket?.destroy());
              answer.destroy();
              return;
            }
            chunk = Buffer.from(chunk);
            chunk[at] ^= 0xff;
            seen = Number.NEGATIVE_INFINITY; // damage one byte per response
          }
          seen += chunk.length;
          res.write(chunk);
        });
        answer.on('end', () => !done && res.end());
      },
    );
    out.on('error', () => res.destroy());
    // A client that goes away ends the upstream request too, so the server ends its download.
    res.on('close', () => out.destroy());
    req.pipe(out);
  };
  const server = tls ? https.createServer(tls, handle) : http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      // A stalled download would otherwise keep close() waiting for good.
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
