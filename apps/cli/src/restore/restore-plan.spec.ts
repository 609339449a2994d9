import { describe, expect, it } from 'vitest';
import type { BlockMeta } from '../tsdb';
import { RETENTION_MARGIN_DAYS, findOverlaps, inRange, parseTime, prometheusCommand, retentionDays, shellQuote } from './restore-plan';

const block = (ulid: string, minTime: number, maxTime: number): BlockMeta => ({ ulid, minTime, maxTime, numSeries: 0, numSamples: 0, numChunks: 0, compactionLevel: 1 });

describe('restore planning', () => {
  it('reads --from and --until as Unix seconds or RFC 3339 with a zone, and refuses anything else', () => {
    expect(parseTime('1700000000', 'from')).toBe(1_700_000_000_000);
    expect(parseTime('1700000000.25', 'from')).toBe(1_700_000_000_250);
    expect(parseTime('2024-01-02T03:04:05Z', 'from')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(parseTime('2024-01-02T05:04:05.5+02:00', 'from')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 500));
    for (const bad of ['', 'yesterday', '2024-01-02', '2024-01-02T03:04:05', '-5', '1e9', '2024-13-02T03:04:05Z', '1700000000000000']) {
      expect(() => parseTime(bad, 'until')).toThrow(/--until .* is not a time/);
    }
  });

  it('refuses an RFC 3339 time with a day, hour, minute or zone that does not exist, which Date.parse rolls over silently', () => {
    for (const bad of ['2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T10:60:00Z', '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00+02:60']) {
      expect(() => parseTime(bad, 'from'), bad).toThrow(/--from .* is not a time/);
    }
    expect(parseTime('2024-02-29T23:59:59-23:59', 'from')).toBe(Date.UTC(2024, 2, 1, 23, 58, 59));
  });

  it('keeps blocks that share any time with the range; a block ends just before its maxTime', () => {
    const b = block('A', 1000, 2000);
    expect(inRange(b)).toBe(true);
    expect(inRange(b, 1999, 5000)).toBe(true);
    expect(inRange(b, 2000, 5000)).toBe(false);
    expect(inRange(b, 0, 1000)).toBe(true);
    expect(inRange(b, 0, 999)).toBe(false);
  });

  it('finds overlaps with existing blocks, not with the same block', () => {
    const incoming = [block('A', 0, 100), block('B', 100, 200)];
    const existing = [block('A', 0, 100), block('X', 150, 300), block('Y', 300, 400)];
    expect(findOverlaps(incoming, existing)).toEqual([{ ulid: 'B', with: ['X'] }]);
  });

  it('asks for a retention that covers the oldest block from now, plus a margin', () => {
    const now = Date.UTC(2025, 0, 31);
    expect(retentionDays(Date.UTC(2025, 0, 1), now)).toBe(30 + RETENTION_MARGIN_DAYS);
    expect(retentionDays(now - 1000, now)).toBe(1 + RETENTION_MARGIN_DAYS);
    expect(prometheusCommand('/data/prom', 45)).toBe('prometheus --storage.tsdb.path=/data/prom --storage.tsdb.retention.time=45d');
    expect(prometheusCommand("/my data/it's", 45)).toBe(`prometheus '--storage.tsdb.path=/my data/it'\\''s' --storage.tsdb.retention.time=45d`);
    expect(shellQuote('$(rm -rf /)')).toBe(`'$(rm -rf /)'`);
  });
});
