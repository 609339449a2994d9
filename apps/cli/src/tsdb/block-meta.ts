/** The parts of a block's meta.json that backups care about. */
export interface BlockMeta {
  ulid: string;
  /** First millisecond the block covers. */
  minTime: number;
  /** First millisecond after the block (blocks cover [minTime, maxTime)). */
  maxTime: number;
  numSeries: number;
  numSamples: number;
  numChunks: number;
  compactionLevel: number;
}

/** meta.json files are a few kilobytes; anything far larger is not one. */
export const MAX_META_BYTES = 1024 * 1024;

/**
 * Parses a block's meta.json and checks it belongs to folder `ulid`; throws a message naming
 * what is wrong. Stats are 0 when absent, as Prometheus treats them.
 */
export function parseBlockMeta(text: Buffer | string, ulid: string): BlockMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text.toString());
  } catch (err) {
    throw new Error(`${ulid}/meta.json is not JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object') throw new Error(`${ulid}/meta.json is not a JSON object`);
  const meta = raw as Record<string, unknown>;
  if (meta.ulid !== ulid) throw new Error(`${ulid}/meta.json names block ${JSON.stringify(meta.ulid)}, not its folder ${ulid}`);
  const { minTime, maxTime } = meta;
  if (!Number.isSafeInteger(minTime) || !Number.isSafeInteger(maxTime) || (minTime as number) > (maxTime as number)) {
    throw new Error(`${ulid}/meta.json has no valid minTime and maxTime (${JSON.stringify(minTime)}, ${JSON.stringify(maxTime)})`);
  }
  const stats = (meta.stats ?? {}) as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const compaction = (meta.compaction ?? {}) as Record<string, unknown>;
  return {
    ulid,
    minTime: minTime as number,
    maxTime: maxTime as number,
    numSeries: count(stats.numSeries),
    numSamples: count(stats.numSamples),
    numChunks: count(stats.numChunks),
    compactionLevel: count(compaction.level),
  };
}

/** Whether two blocks share some time (both cover [minTime, maxTime)). */
export function overlaps(a: { minTime: number; maxTime: number }, b: { minTime: number; maxTime: number }): boolean {
  return a.minTime < b.maxTime && b.minTime < a.maxTime;
}
