import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import type { FileBoundaries } from './file-boundaries';
import type { ReadSlots } from './read-slots';
import type { ZstdParameters } from './zstd-settings';

type ZstdOptions = { chunkSize: number; params: Record<number, number> };
// Node's own zstd arrived in 22.15; the types of older @types/node do not know it.
const createZstdCompress = (zlib as unknown as { createZstdCompress?: (options: ZstdOptions) => Transform }).createZstdCompress;
const ZSTD = zlib.constants as unknown as Record<string, number>;

/** Whether this Node has zstd in node:zlib (22.15 and later). */
export const NODE_HAS_ZSTD = createZstdCompress !== undefined;

/**
 * zstd-napi when its native build loads. It is an optional dependency: an install with no
 * compiler and no prebuilt binary goes on without it, and tzst then uses NodeTarZstd.
 */
export function zstdNapiLoads(): boolean {
  try {
    require('zstd-napi');
    return true;
  } catch {
    return false;
  }
}

/** The server's zstd parameters in node:zlib's terms; the multi-thread ones are left out, as Node's zstd has no threads. */
function nodeParams(parameters: ZstdParameters): Record<number, number> {
  const params: Record<number, number> = {};
  for (const name of ['compressionLevel', 'checksumFlag', 'windowLog', 'hashLog', 'chainLog'] as const) {
    const value = parameters[name];
    if (value !== undefined) params[ZSTD[`ZSTD_c_${name}`]] = Number(value);
  }
  return params;
}

/**
 * tzst through Node's own zstd, for servers installed without zstd-napi: one thread on libuv's
 * pool, so slower than zstd-napi's threads, but with the same frames (a large file's data in
 * frames of its own) and the same output format.
 */
export class NodeTarZstd extends Transform {
  private readonly zstd: Transform;
  // Whether bytes went in since the last frame ended: ending an empty frame would add one.
  private frameHasData = false;

  constructor(
    parameters: ZstdParameters,
    private readonly slots: ReadSlots,
    private readonly boundaries: FileBoundaries,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    if (!createZstdCompress) throw new Error(`tzst needs zstd-napi, which is not installed, or Node 22.15 or newer (this is ${process.version})`);
    this.zstd = createZstdCompress({ chunkSize: 1024 * 1024, params: nodeParams(parameters) });
    this.zstd.on('data', (out: Buffer) => this.push(out));
    this.zstd.on('error', (err) => this.destroy(err));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.boundaries.startsFile(chunk)) this.endFrame();
    this.frameHasData ||= chunk.length > 0;
    // The callback comes once zstd has taken the bytes in: the slot can be reused then.
    this.zstd.write(chunk, (err) => {
      this.slots.release(chunk);
      callback(err);
    });
    if (this.boundaries.endsFile(chunk)) this.endFrame();
  }

  override _flush(callback: TransformCallback): void {
    this.zstd.once('end', () => callback());
    this.zstd.end();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.zstd.destroy();
    callback(err);
  }

  /** Ends the current frame; the next bytes start a new one. */
  private endFrame(): void {
    if (!this.frameHasData) return;
    (this.zstd as unknown as { flush(kind: number): void }).flush(ZSTD.ZSTD_e_end);
    this.frameHasData = false;
  }
}
