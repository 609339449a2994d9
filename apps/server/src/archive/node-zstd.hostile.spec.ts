// Node's own zstd (a server without zstd-napi) under the cases a download meets: no input, and many cut at once.
import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { decompress as zstdDecompress } from 'zstd-napi';
import { createTarCompressor } from './compressors';
import { FileBoundaries } from './file-boundaries';
import { ReadSlots, SLOT_BYTES } from './read-slots';
import { words } from '../../../../test/support/text';

/** Chunks of `data` in slots taken from `slots`, as the server's reader hands them on. */
async function* inSlots(slots: ReadSlots, data: Buffer, size = SLOT_BYTES) {
  for (let i = 0; i < data.length; i += size) {
    const slot = slots.take();
    const n = data.copy(slot, 0, i, i + size);
    yield slot.subarray(0, n);
  }
}

describe('tzst on node:zlib, hostile', () => {
  it('empty input gives a zstd stream that decompresses to nothing', async () => {
    const slots = new ReadSlots(4);
    const c = createTarCompressor('tzst', 3, slots, new FileBoundaries(), 'node:zlib');
    const [, out] = await Promise.all([pipeline(Readable.from([]), c), buffer(c)]);
    expect(out.length).toBeGreaterThan(0);
    expect(zstdDecompress(out).length).toBe(0);
  });

  it('level 19, twelve at once, all cut: each pipeline fails alone, nothing throws outside it, the slots come back', async () => {
    const runs = Array.from({ length: 12 }, async (_, i) => {
      const slots = new ReadSlots(4);
      const c = createTarCompressor('tzst', 19, slots, new FileBoundaries(), 'node:zlib');
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300 + i * 10);
      const sink = new Writable({
        write(chunk: Buffer, _e, cb) {
          slots.release(chunk);
          cb();
        },
      });
      await pipeline(Readable.from(inSlots(slots, words(16 * SLOT_BYTES, i))), c, sink, { signal: ac.signal }).catch(() => undefined);
      // Every slot back but what the source had read ahead (the test's generator, not the compressor, holds those).
      for (let waited = 0; slots.freeCount < 3 && waited < 20_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      return slots.freeCount;
    });
    for (const free of await Promise.all(runs)) expect(free).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
