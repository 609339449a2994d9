import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decompress } from 'zstd-napi';
import { COMPRESSION_NICE } from '../common/thread-priority';
import { OffThreadZstd } from './offthread-zstd';
import { type ZstdParameters, zstdParameters } from './zstd-settings';
import { words } from '../../../../test/support/text';
import { zstdContext } from '../../../../test/support/zstd-reference';

const MiB = 1024 * 1024;

/** Compresses `input` as one frame into `out`, which is handed out piece by piece as it fills. */
async function compressAll(zstd: OffThreadZstd, input: Buffer, out: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let end = false; ; ) {
    const [left, produced, consumed] = await zstd.compressStream2(out, input, end);
    parts.push(Buffer.from(out.subarray(0, produced)));
    input = input.subarray(consumed);
    if (end && left === 0) return Buffer.concat(parts);
    end = input.length === 0;
  }
}

describe('OffThreadZstd', () => {
  it('closes while a long call runs without taking the process down', async () => {
    // In a process of its own, from the build: a thread stopped mid-call used to abort the
    // whole process (SIGABRT from the binding's C++ exception), which would end the test run.
    const built = path.resolve(import.meta.dirname, '../../dist/archive');
    const script = `
      const { OffThreadZstd } = require(${JSON.stringify(path.join(built, 'offthread-zstd.js'))});
      const { zstdParameters } = require(${JSON.stringify(path.join(built, 'zstd-settings.js'))});
      // The thread is unref()ed, as in the server, where the HTTP server keeps the process up.
      const alive = setInterval(() => undefined, 1000);
      (async () => {
        for (let round = 0; round < 5; round++) {
          const zstd = new OffThreadZstd(zstdParameters(19));
          const input = Buffer.alloc(8 * 1024 * 1024);
          for (let i = 0; i < input.length; i++) input[i] = (i * 2654435761) >>> 24 & 0x3f;
          const call = zstd.compressStream2(Buffer.alloc(16 * 1024 * 1024), input, true).catch(() => 'dropped');
          await new Promise((resolve) => setTimeout(resolve, 20 + round * 30));
          await zstd.close();
          await call;
        }
        console.log('closed five times');
        clearInterval(alive);
      })();`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 50_000 });
    expect(stdout.trim()).toBe('closed five times');
  }, 60_000);

  it('compresses in place in shared memory, and through copies from ordinary buffers', async () => {
    const data = words(3 * MiB);
    const shared = Buffer.from(new SharedArrayBuffer(4 * MiB));
    data.copy(shared);
    const zstd = new OffThreadZstd(zstdParameters(3));
    try {
      const fromShared = await compressAll(zstd, shared.subarray(0, data.length), Buffer.from(new SharedArrayBuffer(MiB)));
      const fromOrdinary = await compressAll(zstd, data, Buffer.alloc(MiB));
      expect(decompress(fromShared).equals(data)).toBe(true);
      expect(decompress(fromOrdinary).equals(data)).toBe(true);
    } finally {
      await zstd.close();
    }
  });

  it('keeps the event loop free while zstd works on a frame at level 19', async () => {
    const data = words(8 * MiB);
    const zstd = new OffThreadZstd(zstdParameters(19));
    let longestGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 10);
    try {
      // One call for the whole frame: synchronous, it would hold the thread until zstd was done.
      const started = performance.now();
      const out = Buffer.alloc(4 * MiB);
      const [left, produced, consumed] = await zstd.compressStream2(out, data, true);
      const took = performance.now() - started;
      expect([left, consumed]).toEqual([0, data.length]);
      expect(decompress(out.subarray(0, produced)).equals(data)).toBe(true);
      // Relative to the call's length, so that a busy machine delaying timers does not fail it;
      // the call only has to be long enough against the 10 ms ticks for that to mean something.
      expect(took).toBeGreaterThan(200);
      expect(longestGap).toBeLessThan(took / 4);
    } finally {
      clearInterval(ticker);
      await zstd.close();
    }
  });

  it.runIf(process.platform === 'linux')('runs its thread and zstd\'s threads at a lower CPU priority than the event loop', async () => {
    const niceOfThreads = () =>
      fs.readdirSync('/proc/self/task').map((tid) => Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]));
    const before = niceOfThreads().filter((nice) => nice === COMPRESSION_NICE).length;
    const zstd = new OffThreadZstd(zstdParameters(3));
    try {
      // zstd starts its threads with the first bytes of a frame.
      await zstd.compressStream2(Buffer.alloc(MiB), words(2 * MiB), false);
      const niced = niceOfThreads().filter((nice) => nice === COMPRESSION_NICE).length - before;
      expect(niced).toBe(1 + zstdParameters(3).nbWorkers);
      expect(niceOfThreads()[0]).toBe(0);
    } finally {
      await zstd.close();
    }
  });

  it("turns zstd's block pre-splitter off at the fast levels, and a zstd without that parameter still compresses", async () => {
    // Runs of well-compressing words between runs of noise: blocks the pre-splitter would cut.
    const data = Buffer.concat(Array.from({ length: 48 }, (_, i) => (i % 2 ? words(40 * 1024, i) : Buffer.from(Array.from({ length: 24 * 1024 }, (_, j) => (j * 2_654_435_761 + i) >>> 13 & 0xff)))));
    /** What zstd itself makes of `data` in one call, as OffThreadZstd was asked. */
    const direct = (parameters: Partial<ZstdParameters>) => {
      const out = Buffer.alloc(2 * data.length);
      return Buffer.from(out.subarray(0, zstdContext(parameters).compress2(out, data)));
    };
    for (const level of [1, 3, 4]) {
      expect(zstdParameters(level).blockSplitterLevel).toBe(1);
      const zstd = new OffThreadZstd(zstdParameters(level));
      try {
        const out = Buffer.alloc(2 * data.length);
        const [left, produced] = await zstd.compressStream2(out, data, true);
        expect(left).toBe(0);
        const ours = out.subarray(0, produced);
        expect(ours.equals(direct(zstdParameters(level))), `level ${level}`).toBe(true);
        if (level === 3) expect(ours.equals(direct({ ...zstdParameters(level), blockSplitterLevel: undefined })), 'the default splits differently').toBe(false);
        expect(decompress(ours).equals(data)).toBe(true);
      } finally {
        await zstd.close();
      }
    }
    // As an older zstd would answer an experimental parameter it lacks: an error, which is ignored.
    const unknown = new OffThreadZstd({ ...zstdParameters(3), blockSplitterLevel: 999 });
    try {
      const out = Buffer.alloc(2 * data.length);
      const [, produced] = await unknown.compressStream2(out, data, true);
      expect(decompress(out.subarray(0, produced)).equals(data)).toBe(true);
    } finally {
      await unknown.close();
    }
  });

  it("fails a call with zstd's own message when a parameter is out of range", async () => {
    const zstd = new OffThreadZstd({ ...zstdParameters(3), windowLog: 99 });
    try {
      await expect(zstd.compressStream2(Buffer.alloc(1024), Buffer.from('abc'), true)).rejects.toThrow(/bound|range/i);
    } finally {
      await zstd.close();
    }
  });

  it('refuses calls once closed', async () => {
    const zstd = new OffThreadZstd(zstdParameters(3));
    await zstd.close();
    await expect(zstd.compressStream2(Buffer.alloc(1024), Buffer.from('abc'), true)).rejects.toThrow('closed');
  });
});
