import type { Gauge } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { Clock } from '../common/clock';
import { MetricsService } from '../metrics/metrics.service';
import { type DownloadOutcome, DownloadRegistry, MAX_TRACKED_DOWNLOADS } from './download-registry';

class FakeClock extends Clock {
  constructor(public time: number) {
    super();
  }
  override now(): number {
    return this.time;
  }
}

const OK: DownloadOutcome = { success: true, error_text: null, sha256_hex: 'ab'.repeat(32) };
const FIFTEEN_MINUTES = 15 * 60_000;
const T0 = Date.UTC(2024, 0, 31, 23, 59, 59, 998);

async function gaugeValue(gauge: Gauge): Promise<number> {
  return (await gauge.get()).values[0]?.value ?? NaN;
}

describe('DownloadRegistry', () => {
  let clock: FakeClock;
  let metrics: MetricsService;
  let registry: DownloadRegistry;

  beforeEach(() => {
    clock = new FakeClock(T0);
    metrics = new MetricsService();
    registry = new DownloadRegistry(clock, metrics);
  });

  describe('ids', () => {
    it('sort by start time as plain strings, also within one millisecond and across a day', () => {
      const ids: string[] = [];
      // 40 in one millisecond runs the counter past 9, z and 10 in base 36.
      for (let i = 0; i < 40; i++) ids.push(registry.start('a-b', 'tar').id);
      for (const step of [1, 1, 998, 60_000, 86_400_000]) {
        clock.time += step;
        ids.push(registry.start('a-b', 'tar').id, registry.start('a-b', 'tar').id);
      }
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(ids);
    });

    it('start with the UTC start time', () => {
      expect(registry.start('a-b', 'tar').id).toMatch(/^20240131T235959998Z-/);
    });
  });

  describe('status', () => {
    it('records a started download as unfinished', () => {
      const record = registry.start('20240101T000000Z-abc', 'tgz');
      expect(registry.get(record.id)).toMatchObject({
        id: record.id,
        snapshotName: '20240101T000000Z-abc',
        format: 'tgz',
        startedAt: T0,
        outcome: null,
      });
    });

    it('knows nothing of an unknown id', () => {
      registry.start('a-b', 'tar');
      expect(registry.get('20240101T000000000Z-0000abcdef')).toBeUndefined();
    });

    it('keeps a finished status for 15 minutes after it finished, then forgets it', () => {
      const record = registry.start('a-b', 'tar');
      clock.time += 60 * 60_000; // a long download: retention counts from the end
      registry.finish(record, OK);
      const finishedAt = clock.time;
      clock.time = finishedAt + FIFTEEN_MINUTES;
      expect(registry.get(record.id)?.outcome).toEqual(OK);
      clock.time = finishedAt + FIFTEEN_MINUTES + 1;
      expect(registry.get(record.id)).toBeUndefined();
      expect(registry.recent(10)).toEqual([]);
    });

    it('never expires a download that has not finished', () => {
      const record = registry.start('a-b', 'tar');
      clock.time += 30 * 24 * 3_600_000;
      registry.start('c-d', 'tar'); // starting another download also expires old statuses
      expect(registry.get(record.id)).toBe(record);
    });

    it('keeps the first outcome when a download is finished twice', () => {
      const record = registry.start('a-b', 'tar');
      registry.finish(record, OK);
      registry.finish(record, { success: false, error_text: 'late', sha256_hex: '' });
      expect(registry.get(record.id)?.outcome).toEqual(OK);
      expect(registry.activeCount).toBe(0);
    });

    it('lists recent downloads newest first, up to the limit', () => {
      const ids = [0, 1, 2, 3].map(() => {
        clock.time += 1_000;
        return registry.start('a-b', 'tar').id;
      });
      expect(registry.recent(3).map((r) => r.id)).toEqual([ids[3], ids[2], ids[1]]);
    });
  });

  describe('cap', () => {
    it(`holds at most ${MAX_TRACKED_DOWNLOADS} statuses, dropping the oldest finished ones first`, () => {
      const running = registry.start('running-1', 'tar'); // oldest, but never finished
      const ids: string[] = [];
      for (let i = 1; i < MAX_TRACKED_DOWNLOADS; i++) {
        const record = registry.start('a-b', 'tar');
        registry.finish(record, OK);
        ids.push(record.id);
      }
      expect(registry.recent(Infinity)).toHaveLength(MAX_TRACKED_DOWNLOADS);

      const newest = registry.start('c-d', 'tar');
      const kept = registry.recent(Infinity);
      expect(kept).toHaveLength(MAX_TRACKED_DOWNLOADS);
      expect(registry.get(running.id)).toBe(running);
      expect(registry.get(ids[0])).toBeUndefined();
      expect(registry.get(ids[1])).toBeDefined();
      expect(registry.get(newest.id)).toBe(newest);
    });
  });

  describe('activeCount and gauges', () => {
    it('count downloads in flight and statuses held', async () => {
      const a = registry.start('a-b', 'tar');
      const b = registry.start('a-b', 'tgz');
      expect(registry.activeCount).toBe(2);
      expect(await gaugeValue(metrics.downloadsInFlight)).toBe(2);
      expect(await gaugeValue(metrics.downloadsTracked)).toBe(2);

      registry.finish(a, OK);
      expect(registry.activeCount).toBe(1);
      expect(await gaugeValue(metrics.downloadsInFlight)).toBe(1);
      expect(await gaugeValue(metrics.downloadsTracked)).toBe(2);

      clock.time += FIFTEEN_MINUTES + 1;
      registry.recent(10);
      expect(await gaugeValue(metrics.downloadsTracked)).toBe(1);

      registry.finish(b, OK);
      expect(registry.activeCount).toBe(0);
      expect(await gaugeValue(metrics.downloadsInFlight)).toBe(0);
    });

    it('show in the metrics text', async () => {
      registry.start('a-b', 'tar');
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^prombackup_downloads_in_flight 1$/m);
      expect(text).toMatch(/^prombackup_downloads_tracked 1$/m);
    });
  });
});
