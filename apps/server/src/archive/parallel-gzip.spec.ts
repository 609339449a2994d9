import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { GZIP_BLOCK_BYTES, GzipLane } from './gzip-lane';
import { ParallelGzip } from './parallel-gzip';

/** Compressible bytes that differ block to block, so a member out of order would show. */
function data(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (Math.floor(i / 4096) * 31 + (i % 97)) & 0xff;
  return out;
}

async function gzipAll(input: Buffer, chunk: number): Promise<Buffer> {
  const gz = new ParallelGzip(1);
  const pieces = Array.from({ length: Math.ceil(input.length / chunk) }, (_, i) => input.subarray(i * chunk, (i + 1) * chunk));
  const [, out] = await Promise.all([pipeline(Readable.from(pieces), gz), buffer(gz)]);
  return out;
}

/** gzip members in the stream, counted by the 10-byte header zlib writes at level 1 (XFL 4, OS 3). */
function memberCount(gz: Buffer): number {
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0x04, 0x03]);
  let count = 0;
  for (let at = gz.indexOf(header); at >= 0; at = gz.indexOf(header, at + 1)) count++;
  return count;
}

describe('ParallelGzip', () => {
  it('keeps members in input order while compressing them in parallel', async () => {
    const input = data(GZIP_BLOCK_BYTES * 9 + 12_345);
    const out = await gzipAll(input, 300_000);
    expect(zlib.gunzipSync(out).equals(input)).toBe(true);
    expect(memberCount(out)).toBe(10);
  });

  it('writes a stream that the system gzip accepts', async () => {
    const input = data(GZIP_BLOCK_BYTES * 3);
    const out = await gzipAll(input, 1 << 20);
    expect(execFileSync('gzip', ['-dc'], { input: out, maxBuffer: 64 << 20 }).equals(input)).toBe(true);
  });

  it('ends a member where cut() is called, so what follows compresses on its own', async () => {
    const gz = new ParallelGzip(1);
    const done = buffer(gz);
    gz.add(Buffer.from('prefix that differs'));
    gz.cut();
    gz.add(Buffer.from('the same content'));
    gz.end();
    const out = await done;
    expect(out.subarray(out.length - zlib.gzipSync('the same content', { level: 1 }).length).equals(zlib.gzipSync('the same content', { level: 1 }))).toBe(true);
  });

  it('writes nothing for no input', async () => {
    expect((await gzipAll(Buffer.alloc(0), 1)).length).toBe(0);
  });

  it('stops cleanly when destroyed while members are compressing', async () => {
    const gz = new ParallelGzip(1);
    gz.on('error', () => undefined);
    gz.write(data(GZIP_BLOCK_BYTES * 6));
    gz.destroy();
    await new Promise((resolve) => gz.once('close', resolve));
    // Members still on the thread pool call back into closed lanes; the process must survive it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(gz.destroyed).toBe(true);
  });
});

describe('ParallelGzip failures', () => {
  it('fails the stream, not the process, when feeding a chunk throws', async () => {
    // A subclass's bookkeeping error (TarGzip releases read slots in feed()).
    class Faulty extends ParallelGzip {
      protected override feed(): void {
        throw new Error('read slot 3 was released more often than held');
      }
    }
    const source = Readable.from([Buffer.from('some bytes')]);
    await expect(pipeline(source, new Faulty(1), async function* (chunks) {
      for await (const chunk of chunks) yield chunk;
    })).rejects.toThrow(/released more often than held/);
  });
});

describe('GzipLane', () => {
  it('writes every member into the same memory, each one whole on its own', async () => {
    const lane = new GzipLane(1);
    const inputs = [data(GZIP_BLOCK_BYTES), data(300_000).reverse(), Buffer.from('short')];
    const members: Buffer[] = [];
    for (const input of inputs) {
      input.copy(lane.input);
      const member = await lane.compress(input.length);
      if (members.length > 0) expect(member.buffer).toBe(members[0]!.buffer);
      expect(zlib.gunzipSync(member).equals(input)).toBe(true);
      members.push(member);
      lane.recycle();
    }
    lane.close();
  });

  it('gives back a whole member when zlib needs more room than one pass has (incompressible input)', async () => {
    const lane = new GzipLane(1);
    const input = randomBytes(GZIP_BLOCK_BYTES);
    input.copy(lane.input);
    const member = await lane.compress(input.length);
    expect(member.length).toBeGreaterThan(input.length);
    expect(zlib.gunzipSync(member).equals(input)).toBe(true);
    lane.recycle();
    // The lane still works after the second pass.
    Buffer.from('after').copy(lane.input);
    expect(zlib.gunzipSync(await lane.compress(5)).toString()).toBe('after');
    lane.close();
  });

  it('rejects a compression that close() interrupts', async () => {
    const lane = new GzipLane(1);
    data(GZIP_BLOCK_BYTES).copy(lane.input);
    const member = lane.compress(GZIP_BLOCK_BYTES);
    lane.close();
    await expect(member).rejects.toThrow(/closed/);
  });
});

