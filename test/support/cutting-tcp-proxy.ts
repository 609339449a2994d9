// A TCP proxy that goes away for good after a number of bytes: an endpoint disappearing mid-upload.
import net from 'node:net';

export interface CuttingProxy {
  url: string;
  /** Resolves once the proxy has cut every connection and stopped listening. */
  cut: Promise<void>;
  close(): Promise<void>;
}

/** Forwards TCP to `target` (an http URL) until `afterBytes` have gone upstream; then resets every connection and refuses new ones. */
export async function startCuttingProxy(target: string, afterBytes: number): Promise<CuttingProxy> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  let sent = 0;
  let cutNow!: () => void;
  const cut = new Promise<void>((resolve) => (cutNow = resolve));
  const server = net.createServer((client) => {
    const out = net.connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, out]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (sent > afterBytes) return goAway();
      out.write(chunk);
    });
    out.pipe(client);
  });
  const goAway = () => {
    server.close(() => cutNow());
    for (const s of sockets) s.resetAndDestroy();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cut,
    close: async () => {
      if (server.listening) goAway();
      await cut;
    },
  };
}
