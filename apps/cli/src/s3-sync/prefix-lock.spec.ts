import { describe, expect, it } from 'vitest';
import { lockFlagsGiven, lockStaleMs } from './prefix-lock';

describe('--lock-stale', () => {
  it('defaults to 15 minutes and takes Go durations from 1s to 168h', () => {
    expect(lockStaleMs(undefined)).toBe(15 * 60_000);
    expect(lockStaleMs('1s')).toBe(1000);
    expect(lockStaleMs('1h30m')).toBe(90 * 60_000);
    expect(lockStaleMs('168h')).toBe(168 * 3600_000);
  });

  it.each([
    ['', /--lock-stale: invalid duration ""/],
    ['15', /--lock-stale: missing unit/],
    [' 1m', /--lock-stale: invalid duration/],
    ['0', /at least 1s, got "0"/],
    ['999ms', /at least 1s/],
    ['-1h', /at least 1s/],
    ['168h1s', /at most 168h/],
    ['9999999999h', /out of range/],
  ])('refuses %j', (value, message) => {
    expect(() => lockStaleMs(value)).toThrow(message);
  });

  it('names the lock flags given, for a target they do not apply to', () => {
    expect(lockFlagsGiven({ 'break-lock': false })).toEqual([]);
    expect(lockFlagsGiven({ 'break-lock': true, 'lock-stale': '1m' })).toEqual(['--break-lock', '--lock-stale']);
  });
});
