import { Transform, type TransformCallback } from 'node:stream';
import { OffThreadSha256 } from './offthread-sha256';

/** Passes bytes through unchanged while counting them and hashing them on a worker thread. */
export class HashingCounter extends Transform {
  private readonly hash = new OffThreadSha256();
  bytes = 0;

  constructor(private readonly onBytes?: (n: number) => void) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    this.push(chunk);
    this.hash.update(chunk).then(() => callback(), callback);
  }

  /** Hex SHA-256 of everything that passed; call once, after the stream has ended or failed. */
  digestHex(): Promise<string> {
    return this.hash.digest();
  }
}
