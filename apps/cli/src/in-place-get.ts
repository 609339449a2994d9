import net from 'node:net';

/** Memory a response body can be received into, as HashingFileWriter offers it. */
export interface BodySink {
  /** Whether space() may be written to now. */
  readonly ready: boolean;
  /** Where the next body bytes go. */
  space(): Buffer;
  /** Records `n` bytes placed at the start of space(); returns `ready`. */
  advance(n: number): boolean;
  /** Resolves once space() may be written to; rejects if the sink failed. */
  whenReady(): Promise<void>;
}

const HEAD_LIMIT = 64 * 1024;
const SCRATCH_BYTES = 64 * 1024;
const ERROR_TEXT_LIMIT = 64 * 1024;

// How the body ends: chunked framing, a Content-Length, or the server closing the connection.
type Framing = 'chunked' | 'length' | 'close';
// Where the chunked decoder is: in chunk data, or in the bytes around it.
type ChunkState = 'data' | 'data-cr' | 'data-lf' | 'size' | 'ext' | 'size-lf' | 'trailer' | 'trailer-line' | 'trailer-lf' | 'done';

/**
 * An HTTP/1.1 GET over a plain TCP connection that reads the body straight into a sink's memory
 * and undoes the chunked framing where the bytes lie. node:http turns every 64 KiB read into a
 * buffer, a parser call and stream events; at 1 GB/s that costs as much CPU as the kernel's own
 * work, on the thread that must keep up with the socket.
 *
 * Reads land in the sink whenever it has room. Otherwise (before the body, and after a pause
 * for a full sink) they land in a small scratch buffer and are copied on.
 */
export class InPlaceGet {
  status = 0;
  statusText = '';
  /** Response headers, names in lower case. */
  readonly headers = new Map<string, string>();

  private readonly socket: net.Socket;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private readIntoSink = false;
  private head = Buffer.alloc(0);
  private headDone?: { resolve: () => void; reject: (err: Error) => void };
  private body?: { sink: BodySink; resolve: () => void; reject: (err: Error) => void };
  /** Decoded body bytes not yet in the sink: those that came in with the head or into scratch. */
  private queued: Buffer[] = [];
  private framing: Framing = 'close';
  private state: ChunkState = 'size';
  private left = 0;
  private size = -1;
  private ended = false;
  private failure?: Error;

  private constructor(url: URL, headers: Record<string, string>) {
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n]/.test(name + value)) throw new Error(`the ${name} header holds a line break`);
    }
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`), 'Connection: close'];
    this.socket = net.connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: { buffer: () => this.nextBuffer(), callback: (n: number, buf: Buffer) => this.onRead(n, buf) },
    });
    this.socket.setNoDelay(true);
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('end', () => this.onEnd());
  }

  /** Sends the request; resolves once the status line and headers are in. */
  static async open(url: URL, headers: Record<string, string>): Promise<InPlaceGet> {
    const get = new InPlaceGet(url, headers);
    await new Promise<void>((resolve, reject) => (get.headDone = { resolve, reject }));
    return get;
  }

  /** Receives the whole body into `sink`; resolves once the last byte is in it. */
  receive(sink: BodySink): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.body = { sink, resolve, reject };
      // Reading stopped after the head, until there was somewhere to put the body.
      if (this.deliver()) this.socket.resume();
    });
  }

  /** The body as text, for an error answer; at most 64 KiB of it. */
  async text(): Promise<string> {
    const collected: Buffer[] = [];
    let size = 0;
    const memory = Buffer.allocUnsafe(SCRATCH_BYTES);
    await this.receive({
      ready: true,
      space: () => memory,
      advance: (n) => {
        if (size < ERROR_TEXT_LIMIT) collected.push(Buffer.from(memory.subarray(0, n)));
        size += n;
        return true;
      },
      whenReady: async () => undefined,
    });
    return Buffer.concat(collected).subarray(0, ERROR_TEXT_LIMIT).toString('utf8');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private nextBuffer(): Buffer {
    const sink = this.body?.sink;
    const space = sink?.ready && this.queued.length === 0 ? sink.space() : undefined;
    this.readIntoSink = !!space?.length;
    return this.readIntoSink ? space! : this.scratch;
  }

  /** Returns false to stop reading until the sink has room again. */
  private onRead(n: number, buf: Buffer): boolean {
    if (this.failure) return false;
    let start = 0;
    if (this.status === 0) {
      start = this.readHead(buf, n);
      if (start < 0) return !this.failure;
    }
    let kept: number;
    try {
      kept = this.decode(buf, start, n);
    } catch (err) {
      this.fail(err as Error);
      return false;
    }
    if (this.readIntoSink) this.body!.sink.advance(kept);
    else if (kept > 0) this.queued.push(Buffer.from(buf.subarray(0, kept)));
    return this.deliver();
  }

  /** Collects the head; returns where the body starts in `buf`, or -1 while the head is incomplete. */
  private readHead(buf: Buffer, n: number): number {
    const before = this.head.length;
    this.head = Buffer.concat([this.head, buf.subarray(0, n)]);
    const end = this.head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.head.length > HEAD_LIMIT) this.fail(new Error('the server sent no end of its response headers'));
      return -1;
    }
    const [statusLine, ...lines] = this.head.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
    if (!status) {
      this.fail(new Error(`the server's answer is not HTTP/1.1: ${JSON.stringify(statusLine.slice(0, 80))}`));
      return -1;
    }
    this.status = Number(status[1]);
    this.statusText = status[2];
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) this.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = this.headers.get('content-length');
    if (/chunked/i.test(this.headers.get('transfer-encoding') ?? '')) {
      this.framing = 'chunked';
    } else if (length !== undefined) {
      this.framing = 'length';
      this.state = 'data';
      this.left = Number(length);
      if (!/^\d+$/.test(length)) this.fail(new Error(`the server sent a bad Content-Length: ${length}`));
      if (this.left === 0) this.state = 'done';
    } else {
      this.state = 'data';
      this.left = Infinity;
    }
    this.head = Buffer.alloc(0);
    this.headDone!.resolve();
    return end + 4 - before;
  }

  /**
   * Takes the framing out of buf[start, end) in place; the body bytes end up at the start of buf.
   * Returns how many there are.
   */
  private decode(buf: Buffer, start: number, end: number): number {
    let kept = 0;
    let at = start;
    while (at < end) {
      if (this.state === 'data') {
        const take = Math.min(this.left, end - at);
        if (kept !== at) buf.copyWithin(kept, at, at + take);
        kept += take;
        at += take;
        this.left -= take;
        if (this.left === 0) this.state = this.framing === 'chunked' ? 'data-cr' : 'done';
        continue;
      }
      const c = buf[at++];
      switch (this.state) {
        case 'data-cr':
        case 'data-lf':
          if (c === 0x0d && this.state === 'data-cr') this.state = 'data-lf';
          else if (c === 0x0a) this.state = 'size';
          else throw new Error('the server broke the chunked encoding (no line end after a chunk)');
          break;
        case 'size': {
          const digit = hexDigit(c);
          if (digit >= 0) {
            this.size = Math.max(this.size, 0) * 16 + digit;
            if (this.size > Number.MAX_SAFE_INTEGER / 16) throw new Error('the server sent a chunk size out of range');
          } else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = 'ext';
          else if (c === 0x0d) this.state = 'size-lf';
          else if (c === 0x0a) this.endSizeLine();
          else throw new Error('the server broke the chunked encoding (bad chunk size)');
          break;
        }
        case 'ext':
        case 'size-lf':
          if (c === 0x0a) this.endSizeLine();
          else if (this.state === 'size-lf') throw new Error('the server broke the chunked encoding (no line end after a chunk size)');
          break;
        case 'trailer':
          if (c === 0x0d) this.state = 'trailer-lf';
          else if (c === 0x0a) this.state = 'done';
          else this.state = 'trailer-line';
          break;
        case 'trailer-line':
          if (c === 0x0a) this.state = 'trailer';
          break;
        case 'trailer-lf':
          this.state = c === 0x0a ? 'done' : 'trailer-line';
          break;
        case 'done':
          // Nothing may follow the body on a connection that closes after it.
          return kept;
      }
    }
    return kept;
  }

  private endSizeLine(): void {
    if (this.size < 0) throw new Error('the server broke the chunked encoding (empty chunk size)');
    this.left = this.size;
    this.size = -1;
    this.state = this.left === 0 ? 'trailer' : 'data';
  }

  /** Moves queued bytes into the sink; settles the body when it is complete. Returns whether to keep reading. */
  private deliver(): boolean {
    const body = this.body;
    if (!body || this.failure) return false;
    while (this.queued.length > 0 && body.sink.ready) {
      const bytes = this.queued[0];
      const n = bytes.copy(body.sink.space());
      body.sink.advance(n);
      if (n === bytes.length) this.queued.shift();
      else this.queued[0] = bytes.subarray(n);
    }
    if (this.queued.length > 0 || !body.sink.ready) {
      body.sink.whenReady().then(
        () => {
          if (this.deliver()) this.socket.resume();
        },
        (err: Error) => this.fail(err),
      );
      return false;
    }
    if (this.state === 'done' || this.ended) {
      this.finish();
      return false;
    }
    return true;
  }

  private onEnd(): void {
    this.ended = true;
    if (this.state !== 'done' && this.framing !== 'close') {
      this.fail(new Error('the server closed the connection before the end of the archive'));
    } else if (this.status === 0) {
      this.fail(new Error('the server closed the connection without an answer'));
    } else if (this.body) {
      this.deliver();
    }
  }

  private finish(): void {
    this.socket.destroy();
    const body = this.body;
    this.body = undefined;
    body?.resolve();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.socket.destroy();
    this.headDone?.reject(err);
    this.body?.reject(err);
  }
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
