import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { afterEach, beforeEach, describe, expect, it, type Mock, vi } from 'vitest';
import { ServerConfig } from '../config/server-config';
import { parseSettings } from '../config/settings';
import { AutopruneScheduler, Jitter } from './autoprune.scheduler';
import type { PruneService } from './prune.service';
import type { PruneResultDto } from './dto/prune.dto';

const INTERVAL = 15 * 60_000;
const KEEP_WITHIN = 2 * 3_600_000;

/** Hands out the given values in turn, then keeps giving the last. */
class FakeJitter extends Jitter {
  constructor(private readonly values: number[]) {
    super();
  }
  override random(): number {
    return this.values.length > 1 ? this.values.shift()! : this.values[0];
  }
}

function config(autoprune: boolean): ServerConfig {
  return new ServerConfig({
    ...parseSettings(['-snapshot_dir', '/nonexistent']),
    autoprune,
    autopruneIntervalMs: INTERVAL,
    autopruneKeepWithinMs: KEEP_WITHIN,
  });
}

describe('AutopruneScheduler', () => {
  let prune: Mock<(keepWithinMs: number, trigger: string) => Promise<PruneResultDto>>;
  let registry: SchedulerRegistry;
  let logError: Mock;
  let started: number;
  let runTimes: number[];

  function scheduler(autoprune: boolean, jitter: number[]): AutopruneScheduler {
    return new AutopruneScheduler(config(autoprune), { prune } as unknown as PruneService, registry, new FakeJitter(jitter));
  }

  /** Milliseconds from bootstrap to the first run, then between runs. */
  function gaps(): number[] {
    return runTimes.map((t, i) => t - (i === 0 ? started : runTimes[i - 1]));
  }

  beforeEach(() => {
    vi.useFakeTimers();
    started = Date.now();
    runTimes = [];
    prune = vi.fn(async () => {
      runTimes.push(Date.now());
      return { removed: [], skipped_in_use: [] };
    });
    registry = new SchedulerRegistry();
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    logError = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined) as unknown as Mock;
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('schedules nothing when autoprune is off', async () => {
    scheduler(false, [0.5]).onApplicationBootstrap();
    expect(registry.getTimeouts()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(prune).not.toHaveBeenCalled();
  });

  it('runs first after a tenth of the interval, keeping autoprune_keep_within', async () => {
    scheduler(true, [0.5]).onApplicationBootstrap();
    expect(registry.getTimeouts()).toEqual(['autoprune']);
    await vi.advanceTimersByTimeAsync(INTERVAL / 10 - 1);
    expect(prune).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(prune).toHaveBeenCalledWith(KEEP_WITHIN, 'schedule');
  });

  it('with jitter 0 runs first after 0.9 of a tenth of the interval', async () => {
    scheduler(true, [0]).onApplicationBootstrap();
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(gaps()[0]).toBe(81_000); // 0.9 × 90s
  });

  it('with jitter just under 1 runs first after 1.1 of a tenth of the interval', async () => {
    scheduler(true, [0.999_999_999]).onApplicationBootstrap();
    await vi.advanceTimersByTimeAsync(INTERVAL);
    // Jitter is below 1, and timers count whole milliseconds: the last millisecond may go.
    expect(gaps()[0]).toBeGreaterThanOrEqual(99_000 - 1); // 1.1 × 90s
    expect(gaps()[0]).toBeLessThanOrEqual(99_000);
  });

  it('then runs once per interval, each delay moved by the jitter within ±10%', async () => {
    scheduler(true, [0.5, 0, 0.999_999_999, 0.5]).onApplicationBootstrap();
    await vi.advanceTimersByTimeAsync(90_000 + 810_000 + 990_000 + 900_000);
    const [first, short, long, nominal] = gaps();
    expect(first).toBe(90_000);
    expect(short).toBe(810_000); // 0.9 × 15m
    expect(long).toBeGreaterThanOrEqual(990_000 - 1); // 1.1 × 15m
    expect(long).toBeLessThanOrEqual(990_000);
    expect(nominal).toBe(900_000);
    expect(prune.mock.calls.every(([keep, trigger]) => keep === KEEP_WITHIN && trigger === 'schedule')).toBe(true);
  });

  it('keeps one timer at a time', async () => {
    scheduler(true, [0.5]).onApplicationBootstrap();
    await vi.advanceTimersByTimeAsync(INTERVAL / 10 + 3 * INTERVAL);
    expect(prune).toHaveBeenCalledTimes(4);
    expect(registry.getTimeouts()).toEqual(['autoprune']);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('logs a failed run and tries again at the next interval', async () => {
    prune.mockImplementationOnce(async () => {
      runTimes.push(Date.now());
      throw new Error('disk on fire');
    });
    scheduler(true, [0.5]).onApplicationBootstrap();
    await vi.advanceTimersByTimeAsync(INTERVAL / 10);
    expect(prune).toHaveBeenCalledTimes(1);
    expect(logError).toHaveBeenCalledTimes(1);
    expect(String(logError.mock.calls[0][0])).toContain('disk on fire');
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(prune).toHaveBeenCalledTimes(2);
    expect(gaps()[1]).toBe(INTERVAL);
    expect(logError).toHaveBeenCalledTimes(1);
  });

  it('stops on shutdown', async () => {
    const s = scheduler(true, [0.5]);
    s.onApplicationBootstrap();
    await vi.advanceTimersByTimeAsync(INTERVAL / 10);
    expect(prune).toHaveBeenCalledTimes(1);
    s.onApplicationShutdown();
    expect(registry.getTimeouts()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(prune).toHaveBeenCalledTimes(1);
  });

  it('schedules no further run when shut down while a run is in progress', async () => {
    let finish!: () => void;
    prune.mockImplementationOnce(
      () => new Promise<PruneResultDto>((resolve) => (finish = () => resolve({ removed: [], skipped_in_use: [] }))),
    );
    const s = scheduler(true, [0.5]);
    s.onApplicationBootstrap();
    await vi.advanceTimersByTimeAsync(INTERVAL / 10);
    expect(prune).toHaveBeenCalledTimes(1);
    s.onApplicationShutdown();
    finish();
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(prune).toHaveBeenCalledTimes(1);
    expect(registry.getTimeouts()).toEqual([]);
  });
});
