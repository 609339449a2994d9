import { describe, expect, it } from 'vitest';
import { progressLine } from './progress';

const MiB = 1024 * 1024;

describe('progressLine', () => {
  it('shows bytes, rate and elapsed time without a total', () => {
    expect(progressLine('x.tar', 10 * MiB, 5)).toBe('x.tar: 10.0 MiB at 2.0 MiB/s, 0:05');
  });

  it('adds the total, a percentage and the time left for tar', () => {
    expect(progressLine('x.tar', 25 * MiB, 10, { bytes: 100 * MiB, estimate: false })).toBe(
      'x.tar: 25.0 MiB of 100.0 MiB (25%) at 2.5 MiB/s, 0:10, about 0:30 left',
    );
  });

  it('marks an estimated total (compressed formats) as such', () => {
    expect(progressLine('x.tar.zst', 30 * MiB, 10, { bytes: 120 * MiB, estimate: true })).toBe(
      'x.tar.zst: 30.0 MiB of ~120.0 MiB (~25%) at 3.0 MiB/s, 0:10, roughly 0:30 left',
    );
  });

  it('drops the percentage and time left once an estimate has been passed', () => {
    expect(progressLine('x.tar.gz', 130 * MiB, 10, { bytes: 120 * MiB, estimate: true })).toBe('x.tar.gz: 130.0 MiB of ~120.0 MiB at 13.0 MiB/s, 0:10');
  });
});
