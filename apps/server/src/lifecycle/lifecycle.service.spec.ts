import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LifecycleService, STATUS_LINGER_MS } from './lifecycle.service';

/** Runs drain() under fake timers and says after how many (fake) milliseconds it resolved. */
async function drainTime(lifecycle: LifecycleService, graceMs: number, during?: (elapsed: () => number) => void): Promise<number> {
  const started = Date.now();
  let done: number | undefined;
  void lifecycle.drain(graceMs).then(() => (done = Date.now() - started));
  during?.(() => Date.now() - started);
  while (done === undefined) await vi.advanceTimersByTimeAsync(10);
  return done;
}

describe('LifecycleService.drain', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => vi.useRealTimers());

  it('returns at once when no download ran', async () => {
    expect(await drainTime(new LifecycleService(), 60_000)).toBeLessThan(50);
  });

  it('lingers STATUS_LINGER_MS after the last download ended, so its client can ask for the outcome', async () => {
    const lifecycle = new LifecycleService();
    const untrack = lifecycle.track({ abort: () => undefined, statusFollows: true });
    setTimeout(untrack, 1_000);
    const took = await drainTime(lifecycle, 60_000);
    expect(took).toBeGreaterThanOrEqual(1_000 + STATUS_LINGER_MS);
    expect(took).toBeLessThan(1_000 + STATUS_LINGER_MS + 200);
  });

  it('never lingers past the grace deadline', async () => {
    const lifecycle = new LifecycleService();
    const untrack = lifecycle.track({ abort: () => undefined, statusFollows: true });
    setTimeout(untrack, 1_000);
    expect(await drainTime(lifecycle, 3_000)).toBeLessThanOrEqual(3_000 + 20);
  });

  it('does not linger after work whose client asks for no status (a snapshot request)', async () => {
    const lifecycle = new LifecycleService();
    const untrack = lifecycle.track({ abort: () => undefined, statusFollows: false });
    setTimeout(untrack, 1_000);
    const took = await drainTime(lifecycle, 60_000);
    expect(took).toBeGreaterThanOrEqual(1_000);
    expect(took).toBeLessThan(1_200);
  });

  it('cuts off what still runs at the deadline and does not linger after that', async () => {
    const lifecycle = new LifecycleService();
    const abort = vi.fn();
    const untrack = lifecycle.track({ abort: () => (abort(), setTimeout(untrack, 10)), statusFollows: true });
    expect(await drainTime(lifecycle, 2_000)).toBeLessThan(2_200);
    expect(abort).toHaveBeenCalledOnce();
    expect(lifecycle.draining).toBe(true);
  });
});
