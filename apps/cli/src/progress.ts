import { formatBytes } from '@prombackup/contract';

/** What the whole download is expected to be: exact for tar, an estimate for compressed formats. */
export interface ProgressTotal {
  bytes: number;
  estimate: boolean;
}

/**
 * A one-line progress display on stderr, shown only when stderr is a terminal. It reads the byte
 * count when it draws, so the download loop pays nothing per chunk for it. With a total (the
 * server's X-Prombackup-Snapshot-Bytes) it adds a percentage and the time left.
 */
export class Progress {
  private readonly started = Date.now();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly label: string,
    private readonly bytes: () => number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly total?: ProgressTotal,
  ) {
    if (this.stream.isTTY) {
      this.timer = setInterval(() => this.draw(), 500);
      this.timer.unref();
    }
  }

  done(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.draw();
    this.stream.write('\n');
  }

  private draw(): void {
    this.stream.write(`\r\x1b[K${progressLine(this.label, this.bytes(), (Date.now() - this.started) / 1000, this.total)}`);
  }
}

/** "label: 1.0 GiB of 4.0 GiB (25%) at 50.0 MiB/s, 0:20, about 1:01 left"; "~" marks an estimated total. */
export function progressLine(label: string, bytes: number, seconds: number, total?: ProgressTotal): string {
  const rate = seconds > 0 ? bytes / seconds : 0;
  const base = `${label}: ${formatBytes(bytes)}`;
  const speed = ` at ${formatBytes(rate)}/s, ${formatElapsed(seconds)}`;
  if (!total || total.bytes <= 0) return base + speed;
  const tilde = total.estimate ? '~' : '';
  // An estimate can be passed (a compressed archive of incompressible data): then say nothing more.
  if (bytes > total.bytes) return `${base} of ${tilde}${formatBytes(total.bytes)}${speed}`;
  const percent = Math.floor((bytes / total.bytes) * 100);
  const left = rate > 0 ? `, ${tilde ? 'roughly ' : 'about '}${formatElapsed((total.bytes - bytes) / rate)} left` : '';
  return `${base} of ${tilde}${formatBytes(total.bytes)} (${tilde}${percent}%)${speed}${left}`;
}

function formatElapsed(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
