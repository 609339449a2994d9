import { describe, expect, it } from 'vitest';
import { runBlockPool } from './block-pool';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('runBlockPool', () => {
  it('runs every item, never more than `parallel` at once', async () => {
    let now = 0;
    let most = 0;
    const done: number[] = [];
    const failure = await runBlockPool([1, 2, 3, 4, 5, 6, 7], 3, () => false, async (n) => {
      most = Math.max(most, ++now);
      await tick();
      now--;
      done.push(n);
    });
    expect(failure).toBeUndefined();
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('starts nothing new after the first failure, and lets the one beside it finish', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const failure = await runBlockPool([1, 2, 3, 4, 5], 2, () => false, async (n) => {
      started.push(n);
      await tick();
      if (n === 1) throw new Error('block 1 broke');
      await tick();
      finished.push(n);
    });
    expect(failure?.message).toBe('block 1 broke');
    expect(started).toEqual([1, 2]);
    expect(finished).toEqual([2]);
  });

  it('starts nothing once stopped() says so', async () => {
    let stop = false;
    const started: number[] = [];
    await runBlockPool([1, 2, 3], 1, () => stop, async (n) => {
      started.push(n);
      stop = true;
    });
    expect(started).toEqual([1]);
  });
});
