// Tar archives built entry by entry for the archive reader's specs (restore and verify read them).
import zlib from 'node:zlib';
import { type Header, pack } from 'tar-stream';
import { compress as zstdCompress } from 'zstd-napi';

export type TarEntry = Partial<Header> & { name: string; body?: Buffer | string };

/** The entries as one tar, every entry dated the same unless it says otherwise. */
export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const q = pack();
    q.on('data', (c) => out.push(c as Buffer));
    q.on('end', () => resolve(Buffer.concat(out)));
    q.on('error', reject);
    for (const { body, ...header } of entries) {
      const full = { mtime: new Date(1_700_000_000_000), ...header };
      if (body === undefined) q.entry(full);
      else q.entry(full, body);
    }
    q.finalize();
  });
}

/** `tar` as gzip or zstd makes it, or as it is. */
export function compressedAs(tar: Buffer, compression: 'none' | 'gzip' | 'zstd'): Buffer {
  if (compression === 'gzip') return zlib.gzipSync(tar);
  if (compression === 'zstd') return zstdCompress(tar);
  return tar;
}
