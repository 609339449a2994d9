/**
 * restic's retention rules as a pure function over dated items, so that archives in a folder,
 * objects under an s3:// prefix or entries of a sync manifest are all judged the same way.
 * Periods are UTC calendar hours, days, ISO weeks, months and years.
 */

/** The rules, in the order reasons are listed. */
export const RETENTION_RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

export type RetentionRule = (typeof RETENTION_RULES)[number];

/** How many of each to keep; a missing rule or 0 keeps nothing by that rule. */
export type RetentionPolicy = Partial<Record<RetentionRule, number>>;

/** Anything with a name (the tie-breaker) and the time it was taken. */
export interface DatedItem {
  name: string;
  time: Date;
}

/** Why one item is kept: the rule, the period it stands for, and whether only restic's oldest-item rule kept it. */
export interface KeepReason {
  rule: RetentionRule;
  /** "2024-03-05T14" (hour), "2024-03-05", "2024-W10" (ISO week), "2024-03", "2024"; for `last`, "#1" for the newest. */
  period: string;
  /** Kept as the oldest item because this rule still had periods left over. */
  oldest: boolean;
}

export interface RetentionDecision<T extends DatedItem> {
  item: T;
  keep: boolean;
  /** Empty exactly when the item goes. */
  reasons: KeepReason[];
}

/** Why `policy` cannot be applied, or undefined when it can. */
export function retentionPolicyProblem(policy: RetentionPolicy): string | undefined {
  for (const rule of RETENTION_RULES) {
    const n = policy[rule];
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) return `keep-${rule} must be a whole number of 0 or more, got ${n}`;
  }
  if (!RETENTION_RULES.some((rule) => (policy[rule] ?? 0) > 0)) return 'no retention rule above 0: every item would be removed';
  return undefined;
}

/** "keep 3 last, 7 daily" for messages. */
export function describePolicy(policy: RetentionPolicy): string {
  const parts = RETENTION_RULES.filter((rule) => (policy[rule] ?? 0) > 0).map((rule) => `${policy[rule]} ${rule}`);
  return `keep ${parts.join(', ')}`;
}

/** "daily 2024-03-05, weekly 2024-W10 (oldest)" for messages. */
export function describeReasons(reasons: readonly KeepReason[]): string {
  return reasons.map((r) => `${r.rule} ${r.period}${r.oldest ? ' (oldest)' : ''}`).join(', ');
}

/** The UTC period of `time` for a calendar rule, as a sortable label. */
export function periodOf(rule: Exclude<RetentionRule, 'last'>, time: Date): string {
  const iso = time.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ, always UTC
  switch (rule) {
    case 'hourly':
      return iso.slice(0, 13);
    case 'daily':
      return iso.slice(0, 10);
    case 'weekly': {
      const { year, week } = isoWeek(time);
      return `${year}-W${String(week).padStart(2, '0')}`;
    }
    case 'monthly':
      return iso.slice(0, 7);
    case 'yearly':
      return iso.slice(0, 4);
  }
}

/** ISO 8601 week: weeks start on Monday, and week 1 is the one holding the year's first Thursday. */
export function isoWeek(time: Date): { year: number; week: number } {
  const day = Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate());
  const weekday = (time.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(day + (3 - weekday) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return { year, week };
}

/** Newest first; of two items with the same time, the name that sorts last counts as newer. */
export function newestFirst(a: DatedItem, b: DatedItem): number {
  const dt = b.time.getTime() - a.time.getTime();
  if (dt !== 0) return dt;
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

/**
 * Decides, newest first, which items `policy` keeps. Each rule with N > 0 keeps the newest item of
 * each of the newest N periods that have items (gaps do not count); `last` keeps the newest N
 * items. As restic does, when the items run out before a rule has used up its N, that rule also
 * keeps the oldest item. An item kept by any rule stays. The input is not modified.
 * Throws on an invalid or empty policy (which would remove everything) and on invalid times.
 */
export function applyRetention<T extends DatedItem>(items: readonly T[], policy: RetentionPolicy): RetentionDecision<T>[] {
  const problem = retentionPolicyProblem(policy);
  if (problem) throw new Error(problem);
  for (const item of items) {
    if (!(item.time instanceof Date) || Number.isNaN(item.time.getTime())) throw new Error(`${JSON.stringify(item.name)} has no valid time`);
  }
  const sorted = [...items].sort(newestFirst);
  const state = RETENTION_RULES.filter((rule) => (policy[rule] ?? 0) > 0).map((rule) => ({ rule, left: policy[rule]!, lastPeriod: undefined as string | undefined }));
  return sorted.map((item, index) => {
    const isOldest = index === sorted.length - 1;
    const reasons: KeepReason[] = [];
    for (const s of state) {
      if (s.left === 0) continue;
      const period = s.rule === 'last' ? `#${index + 1}` : periodOf(s.rule, item.time);
      const newPeriod = period !== s.lastPeriod;
      if (!newPeriod && !isOldest) continue;
      reasons.push({ rule: s.rule, period, oldest: !newPeriod });
      s.lastPeriod = period;
      s.left--;
    }
    return { item, keep: reasons.length > 0, reasons };
  });
}
