import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { HashingPool, MAX_HASHING_WORKERS } from './offthread-sha256';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('OffThreadSha256', () => {
  const pool = new HashingPool();
  afterAll(() => pool.onModuleDestroy());

  it('hashes chunks of any size exactly as createHash does', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 77);
    const hash = pool.hash();
    for (let at = 0; at < data.length; ) {
      const size = [1, 4096, 3 * 1024 * 1024, 700_001][at % 4];
      await hash.update(data.subarray(at, at + size));
      at += size;
    }
    expect(await hash.digest()).toBe(sha(data));
  });

  it('keeps streams apart when several hash at once', async () => {
    const a = randomBytes(5 * 1024 * 1024);
    const b = randomBytes(3 * 1024 * 1024);
    const [ha, hb] = [pool.hash(), pool.hash()];
    await Promise.all([ha.update(a), hb.update(b)]);
    expect(await Promise.all([ha.digest(), hb.digest()])).toEqual([sha(a), sha(b)]);
  });

  it('refuses bytes still waiting for a slot when the stream is digested, and the worker lives on', async () => {
    const cut = pool.hash();
    // More than the ring holds: the tail of this update waits for a free slot.
    const waiting = cut.update(randomBytes(32 * 1024 * 1024)).then(
      () => 'hashed',
      (err: Error) => err.message,
    );
    const digest = await cut.digest();
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(await waiting).toMatch(/ended before these bytes were hashed/);
    const next = pool.hash();
    const data = randomBytes(2 * 1024 * 1024);
    await next.update(data);
    expect(await next.digest()).toBe(sha(data));
  });

  it('hashes chunks lying in shared memory where they lie, in order with copied ones', async () => {
    const shared = new SharedArrayBuffer(4 * 1024 * 1024);
    const view = Buffer.from(shared);
    const hash = pool.hash(shared);
    const expected = createHash('sha256');
    for (let round = 0; round < 6; round++) {
      const header = randomBytes(512);
      await hash.update(header);
      expected.update(header);
      const body = view.subarray((round % 4) * 1024 * 1024, (round % 4) * 1024 * 1024 + 700_000 + round);
      randomBytes(body.length).copy(body);
      expected.update(body);
      // Once the worker is done, the bytes may change: what was hashed must not.
      await hash.updateShared(body);
      body.fill(0);
    }
    expect(await hash.digest()).toBe(expected.digest('hex'));
  });

  it('refuses a shared update of bytes outside its shared memory', async () => {
    const hash = pool.hash(new SharedArrayBuffer(1024));
    await expect(hash.updateShared(Buffer.alloc(10))).rejects.toThrow(/needs a chunk in the shared memory/);
    await hash.digest();
  });

  it('spreads overlapping streams over one worker per core, two at most, and reuses idle ones', async () => {
    // A pool of its own, so workers other tests started do not count.
    const fresh = new HashingPool();
    expect(MAX_HASHING_WORKERS).toBe(Math.min(2, os.availableParallelism()));
    const first = fresh.hash();
    expect(fresh.workerCount).toBe(1);
    const overlapping = [first, fresh.hash(), fresh.hash()];
    expect(fresh.workerCount).toBe(MAX_HASHING_WORKERS);
    const data = overlapping.map(() => randomBytes(3 * 1024 * 1024 + 5));
    await Promise.all(overlapping.map((hash, i) => hash.update(data[i])));
    expect(await Promise.all(overlapping.map((hash) => hash.digest()))).toEqual(data.map(sha));
    // Every worker is idle again: the next stream takes one of them rather than a new thread.
    const next = fresh.hash();
    expect(fresh.workerCount).toBe(MAX_HASHING_WORKERS);
    await next.update(data[0]);
    expect(await next.digest()).toBe(sha(data[0]));
    // Nest closes the pool with the application: its threads end, and a new hash starts afresh.
    await fresh.onModuleDestroy();
    expect(fresh.workerCount).toBe(0);
  });
});
