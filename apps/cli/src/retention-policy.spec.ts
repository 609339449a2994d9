import { describe, expect, it } from 'vitest';
import { type DatedItem, type RetentionPolicy, applyRetention, describePolicy, describeReasons, isoWeek, periodOf, retentionPolicyProblem } from './retention-policy';

/** An item per ISO time; its name is the time, so ties are told apart by an optional suffix. */
const at = (iso: string, suffix = ''): DatedItem => ({ name: `${iso}${suffix}`, time: new Date(iso) });
const items = (...isos: string[]) => isos.map((iso) => at(iso));

/** The names kept, newest first. */
function kept(list: DatedItem[], policy: RetentionPolicy): string[] {
  return applyRetention(list, policy)
    .filter((d) => d.keep)
    .map((d) => d.item.name);
}

/** One item at 10:00 each day of March 2024, from the 1st to the `days`th, oldest first. */
const dailyMarch = (days: number) => Array.from({ length: days }, (_, i) => at(`2024-03-${String(i + 1).padStart(2, '0')}T10:00:00Z`));

describe('retention policy, each rule alone', () => {
  it('last keeps the N newest items and nothing else', () => {
    const list = dailyMarch(5);
    expect(kept(list, { last: 2 })).toEqual(['2024-03-05T10:00:00Z', '2024-03-04T10:00:00Z']);
  });

  it('hourly keeps the newest item of each of the last N hours that have items', () => {
    const list = items('2024-03-01T10:05:00Z', '2024-03-01T10:55:00Z', '2024-03-01T11:10:00Z', '2024-03-01T13:00:00Z', '2024-03-01T13:30:00Z');
    expect(kept(list, { hourly: 2 })).toEqual(['2024-03-01T13:30:00Z', '2024-03-01T11:10:00Z']);
  });

  it('daily keeps the newest of each day, skipping days without items', () => {
    const list = items('2024-03-01T08:00:00Z', '2024-03-01T20:00:00Z', '2024-03-04T09:00:00Z', '2024-03-09T01:00:00Z', '2024-03-09T02:00:00Z');
    const decisions = applyRetention(list, { daily: 2 });
    expect(decisions.filter((d) => d.keep).map((d) => d.item.name)).toEqual(['2024-03-09T02:00:00Z', '2024-03-04T09:00:00Z']);
    expect(decisions[0].reasons).toEqual([{ rule: 'daily', period: '2024-03-09', oldest: false }]);
  });

  it('weekly uses ISO weeks starting on Monday', () => {
    // 2024-03-03 is a Sunday (week 9), 2024-03-04 a Monday (week 10).
    const list = items('2024-02-26T00:00:00Z', '2024-03-03T23:59:59Z', '2024-03-04T00:00:00Z', '2024-03-10T12:00:00Z');
    const decisions = applyRetention(list, { weekly: 2 });
    expect(decisions.filter((d) => d.keep).map((d) => d.item.name)).toEqual(['2024-03-10T12:00:00Z', '2024-03-03T23:59:59Z']);
    expect(decisions.map((d) => d.reasons[0]?.period ?? null)).toEqual(['2024-W10', null, '2024-W09', null]);
  });

  it('monthly keeps the newest of each month', () => {
    const list = items('2024-01-31T23:00:00Z', '2024-02-01T00:00:00Z', '2024-02-29T12:00:00Z', '2024-04-15T00:00:00Z');
    expect(kept(list, { monthly: 2 })).toEqual(['2024-04-15T00:00:00Z', '2024-02-29T12:00:00Z']);
  });

  it('yearly keeps the newest of each year', () => {
    const list = items('2022-06-01T00:00:00Z', '2023-01-01T00:00:00Z', '2023-12-31T23:59:59Z', '2024-02-01T00:00:00Z');
    expect(kept(list, { yearly: 2 })).toEqual(['2024-02-01T00:00:00Z', '2023-12-31T23:59:59Z']);
  });
});

describe('retention policy, periods', () => {
  it('counts in UTC whatever the zone the time was written in', () => {
    // 23:30 at -0200 is 01:30 UTC on the next day.
    expect(periodOf('daily', new Date('2024-03-01T23:30:00-02:00'))).toBe('2024-03-02');
    expect(periodOf('hourly', new Date('2024-03-01T23:30:00-02:00'))).toBe('2024-03-02T01');
    expect(periodOf('monthly', new Date('2024-03-31T23:30:00-02:00'))).toBe('2024-04');
    expect(periodOf('yearly', new Date('2023-12-31T23:30:00-02:00'))).toBe('2024');
  });

  it.each([
    ['2021-01-03T12:00:00Z', 2020, 53], // a Sunday still in the last week of 2020
    ['2021-01-04T00:00:00Z', 2021, 1],
    ['2024-12-30T00:00:00Z', 2025, 1], // a Monday already in week 1 of 2025
    ['2026-12-31T00:00:00Z', 2026, 53],
    ['2027-01-01T00:00:00Z', 2026, 53],
    ['2024-03-10T23:59:59Z', 2024, 10],
  ])('puts %s in ISO week %i-W%i', (iso, year, week) => {
    expect(isoWeek(new Date(iso))).toEqual({ year, week });
  });

  it('keeps one item for a week that spans two calendar years', () => {
    const list = items('2020-12-28T00:00:00Z', '2021-01-03T00:00:00Z', '2021-01-04T00:00:00Z');
    expect(kept(list, { weekly: 2 })).toEqual(['2021-01-04T00:00:00Z', '2021-01-03T00:00:00Z']);
  });
});

describe('retention policy, combinations', () => {
  it('keeps an item that any rule keeps, with every reason', () => {
    const list = dailyMarch(20);
    const decisions = applyRetention(list, { last: 1, daily: 3, weekly: 2 });
    const keptNames = decisions.filter((d) => d.keep).map((d) => d.item.name);
    // Days 20, 19, 18 (daily); 20 and then the newest of week 10 (Sunday the 10th) (weekly).
    expect(keptNames).toEqual(['2024-03-20T10:00:00Z', '2024-03-19T10:00:00Z', '2024-03-18T10:00:00Z', '2024-03-17T10:00:00Z']);
    expect(describeReasons(decisions[0].reasons)).toBe('last #1, daily 2024-03-20, weekly 2024-W12');
    expect(describeReasons(decisions[3].reasons)).toBe('weekly 2024-W11');
  });

  it('a typical daily/weekly/monthly scheme keeps the expected history', () => {
    // One backup a day from 2024-01-01 to 2024-03-31 (91 days).
    const list = Array.from({ length: 91 }, (_, i) => ({ name: `d${i}`, time: new Date(Date.UTC(2024, 0, 1 + i, 3)) }));
    const keep = applyRetention(list, { daily: 7, weekly: 4, monthly: 3 }).filter((d) => d.keep);
    const days = keep.map((d) => d.item.time.toISOString().slice(0, 10));
    expect(days).toEqual([
      '2024-03-31', '2024-03-30', '2024-03-29', '2024-03-28', '2024-03-27', '2024-03-26', '2024-03-25', // daily
      '2024-03-24', '2024-03-17', '2024-03-10', // weekly (ISO Sundays); 03-31 was the first weekly
      '2024-02-29', '2024-01-31', // monthly; 03-31 was the first monthly
    ]);
  });

  it('does not count a period twice when several items share it', () => {
    const list = items('2024-03-02T10:00:00Z', '2024-03-02T11:00:00Z', '2024-03-02T12:00:00Z', '2024-03-01T10:00:00Z', '2024-02-29T10:00:00Z');
    expect(kept(list, { daily: 2 })).toEqual(['2024-03-02T12:00:00Z', '2024-03-01T10:00:00Z']);
  });
});

describe("retention policy, restic's oldest-item rule", () => {
  it('keeps the oldest item too when a rule has periods left over', () => {
    const list = items('2024-03-02T10:00:00Z', '2024-03-02T08:00:00Z');
    const decisions = applyRetention(list, { daily: 7 });
    expect(decisions.map((d) => d.keep)).toEqual([true, true]);
    expect(decisions[1].reasons).toEqual([{ rule: 'daily', period: '2024-03-02', oldest: true }]);
  });

  it('does not keep the oldest item once a rule has used up its periods', () => {
    const list = items('2024-03-03T10:00:00Z', '2024-03-02T10:00:00Z', '2024-03-02T08:00:00Z');
    expect(kept(list, { daily: 2 })).toEqual(['2024-03-03T10:00:00Z', '2024-03-02T10:00:00Z']);
  });
});

describe('retention policy, ties, order and edges', () => {
  it('breaks a tie in time by name, the name sorting last counting as newer', () => {
    const list = [at('2024-03-01T10:00:00Z', '.tar'), at('2024-03-01T10:00:00Z', '.tar.zst'), at('2024-03-01T10:00:00Z', '.tar.gz')];
    expect(kept(list, { last: 1 })).toEqual(['2024-03-01T10:00:00Z.tar.zst']);
    expect(applyRetention(list, { hourly: 1 }).map((d) => [d.item.name, d.keep])).toEqual([
      ['2024-03-01T10:00:00Z.tar.zst', true],
      ['2024-03-01T10:00:00Z.tar.gz', false],
      ['2024-03-01T10:00:00Z.tar', false],
    ]);
  });

  it('gives the same answer for any input order and leaves the input alone', () => {
    const list = dailyMarch(15).concat(items('2024-03-07T23:00:00Z', '2024-03-07T01:00:00Z'));
    const expected = applyRetention(list, { last: 2, daily: 4, weekly: 2 });
    for (let seed = 1; seed <= 20; seed++) {
      const shuffled = shuffle(list, seed);
      const copy = [...shuffled];
      expect(applyRetention(shuffled, { last: 2, daily: 4, weekly: 2 })).toEqual(expected);
      expect(shuffled).toEqual(copy);
    }
  });

  it('keeps everything when every rule reaches further back than the items', () => {
    const list = dailyMarch(3);
    expect(kept(list, { last: 100 })).toHaveLength(3);
    expect(kept(list, { daily: 100 })).toHaveLength(3);
  });

  it('treats a rule of 0 as absent', () => {
    const list = dailyMarch(5);
    expect(applyRetention(list, { last: 0, daily: 2, hourly: 0 })).toEqual(applyRetention(list, { daily: 2 }));
  });

  it('returns nothing for no items', () => {
    expect(applyRetention([], { last: 3 })).toEqual([]);
  });

  it('keeps a single item by every rule given', () => {
    const [only] = applyRetention([at('2024-03-01T10:00:00Z')], { last: 1, monthly: 1 });
    expect(only.reasons.map((r) => r.rule)).toEqual(['last', 'monthly']);
  });

  it('refuses a policy that would remove everything', () => {
    expect(() => applyRetention(dailyMarch(2), {})).toThrow(/no retention rule above 0/);
    expect(() => applyRetention(dailyMarch(2), { last: 0, daily: 0 })).toThrow(/no retention rule above 0/);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])('refuses keep-daily %s', (n) => {
    expect(retentionPolicyProblem({ daily: n })).toMatch(/keep-daily must be a whole number of 0 or more/);
    expect(() => applyRetention(dailyMarch(2), { last: 1, daily: n })).toThrow(/keep-daily/);
  });

  it('refuses an item without a valid time', () => {
    expect(() => applyRetention([{ name: 'x', time: new Date('nope') }], { last: 1 })).toThrow(/"x" has no valid time/);
  });

  it('describes a policy in words', () => {
    expect(describePolicy({ last: 3, hourly: 0, weekly: 4 })).toBe('keep 3 last, 4 weekly');
  });
});

/** A deterministic shuffle (xorshift), so a failure can be reproduced. */
function shuffle<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let x = seed * 2654435761;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = Math.abs(x) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
