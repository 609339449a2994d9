// What zstd itself makes of some bytes with the server's parameters, for the compressors' tests.
import * as binding from 'zstd-napi/binding';
import type { ZstdParameters } from '../../apps/server/src/archive/zstd-settings';

/** zstd.h's number for ZSTD_c_blockSplitterLevel (ZSTD_c_experimentalParam20), which zstd-napi does not name. */
export const BLOCK_SPLITTER_LEVEL = 1017;

/** A compression context with `parameters` set, each by zstd-napi's name or, for blockSplitterLevel, by number. */
export function zstdContext(parameters: Partial<ZstdParameters>): binding.CCtx {
  const cctx = new binding.CCtx();
  for (const [name, value] of Object.entries(parameters)) {
    if (value === undefined) continue;
    const id = name === 'blockSplitterLevel' ? BLOCK_SPLITTER_LEVEL : binding.CParameter[name as keyof typeof binding.CParameter];
    cctx.setParameter(id, Number(value));
  }
  return cctx;
}

/** `data` as one frame, streamed as the server does it (so the frame does not state its size). */
export function zstdStreamed(data: Buffer, parameters: Partial<ZstdParameters>): Buffer {
  const cctx = zstdContext(parameters);
  const out = Buffer.alloc(1024 * 1024);
  const parts: Buffer[] = [];
  let input = data;
  while (input.length > 0) {
    const [, produced, consumed] = cctx.compressStream2(out, input, binding.EndDirective.continue);
    parts.push(Buffer.from(out.subarray(0, produced)));
    input = input.subarray(consumed);
  }
  for (let left = 1; left > 0; ) {
    const [stillLeft, produced] = cctx.compressStream2(out, Buffer.alloc(0), binding.EndDirective.end);
    parts.push(Buffer.from(out.subarray(0, produced)));
    left = stillLeft;
  }
  return Buffer.concat(parts);
}
