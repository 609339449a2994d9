import { describe, expect, it } from 'vitest';
import {
  archiveFileName,
  formatDuration,
  isArchiveFormat,
  isSnapshotName,
  isZonedSnapshotName,
  parseArchiveFileName,
  parseBoolean,
  parseDuration,
  snapshotTime,
} from './index';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['12h', 43_200_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['0', 0],
    ['-1h', -3_600_000],
  ])('reads %s as Go does', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '1x', 'hour', '1', '1h 2m', ' 1h', '99999999999999h', '--1h', 'h'])(
    'rejects %j',
    (text) => {
      expect(() => parseDuration(text)).toThrow(/duration/);
    },
  );

  it('names the missing unit', () => {
    expect(() => parseDuration('15')).toThrow(/missing unit/);
  });

  it('formats like Go', () => {
    expect(formatDuration(3_600_000)).toBe('1h0m0s');
    expect(formatDuration(900_000)).toBe('15m0s');
    expect(formatDuration(1_500)).toBe('1.5s');
  });
});

describe('parseBoolean', () => {
  it('accepts every Go spelling', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(parseBoolean(t)).toBe(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(parseBoolean(f)).toBe(false);
  });
  it('rejects other words', () => {
    for (const w of ['yes', 'no', 'tRUE', '', '2']) expect(parseBoolean(w)).toBeUndefined();
  });
});

describe('snapshot names', () => {
  it('accepts what Prometheus makes', () => {
    expect(isSnapshotName('20221109T202035Z-355a5b4970d5a906')).toBe(true);
  });
  it.each(['..', 'a/b-c', 'abc', '-abc', 'abc-', 'a-b-c', 'a b-c', '20221109T202035+0000-ab', ''])(
    'rejects %j',
    (name) => expect(isSnapshotName(name)).toBe(false),
  );
  it('knows names with a numeric zone apart', () => {
    expect(isZonedSnapshotName('20221109T202035+0000-ab')).toBe(true);
    expect(isZonedSnapshotName('20221109T202035-0130-ab')).toBe(true);
    for (const name of ['20221109T202035Z-ab', '20221109T202035+0000-a/b', '20221109T202035+0000-', 'x+0000-ab']) expect(isZonedSnapshotName(name)).toBe(false);
  });
  it('reads the UTC time in the name', () => {
    expect(snapshotTime('20221109T202035Z-355a5b4970d5a906')?.toISOString()).toBe('2022-11-09T20:20:35.000Z');
  });
  it('applies a numeric zone', () => {
    expect(snapshotTime('20221109T202035+0130-abc')?.toISOString()).toBe('2022-11-09T18:50:35.000Z');
    expect(snapshotTime('20221109T202035-0200-abc')?.toISOString()).toBe('2022-11-09T22:20:35.000Z');
  });
  it('has no time for other names or impossible dates', () => {
    expect(snapshotTime('lost+found')).toBeUndefined();
    expect(snapshotTime('20221309T202035Z-abc')).toBeUndefined();
  });
});

describe('formats', () => {
  it('knows the three formats and their file names', () => {
    expect(isArchiveFormat('tgz')).toBe(true);
    expect(isArchiveFormat('TAR')).toBe(false);
    expect(isArchiveFormat('toString')).toBe(false);
    expect(archiveFileName('x-y', 'tzst')).toBe('x-y.tar.zst');
  });
  it('reads the snapshot and format back from an archive file name', () => {
    expect(parseArchiveFileName('20221109T202035Z-ab.tar')).toEqual({ snapshotName: '20221109T202035Z-ab', format: 'tar' });
    expect(parseArchiveFileName('20221109T202035Z-ab.tar.gz')).toEqual({ snapshotName: '20221109T202035Z-ab', format: 'tgz' });
    expect(parseArchiveFileName('20221109T202035Z-ab.tar.zst')).toEqual({ snapshotName: '20221109T202035Z-ab', format: 'tzst' });
    for (const name of ['20221109T202035Z-ab.tgz', 'x.tar', '.tar', 'a-b.tar.gz.sha256', 'a-b.TAR', '../a-b.tar', 'a-b.tar.tar', '20221109T202035+0000-ab.tar']) {
      expect(parseArchiveFileName(name)).toBeUndefined();
    }
    expect(parseArchiveFileName('20221109T202035+0000-ab.tar', { zoned: true })).toEqual({ snapshotName: '20221109T202035+0000-ab', format: 'tar' });
    expect(parseArchiveFileName('20221109T202035+00-ab.tar', { zoned: true })).toBeUndefined();
  });
});
