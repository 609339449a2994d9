/**
 * A one-line progress display on stderr, shown only when stderr is a terminal. It reads the byte
 * count when it draws, so the download loop pays nothing per chunk for it.
 */
export class Progress {
  private readonly started = Date.now();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly label: string,
    private readonly bytes: () => number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
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
    const seconds = (Date.now() - this.started) / 1000;
    const bytes = this.bytes();
    const rate = seconds > 0 ? bytes / seconds : 0;
    this.stream.write(`\r\x1b[K${this.label}: ${formatBytes(bytes)} at ${formatBytes(rate)}/s, ${formatElapsed(seconds)}`);
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[i]}`;
}

function formatElapsed(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
