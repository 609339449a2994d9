// What a block's meta.json says, read defensively: it is input from disk, not trusted.

/** Larger meta.json files are not read: Prometheus writes a few kilobytes (a long compaction history stays far below this). */
export const META_JSON_MAX_BYTES = 1024 * 1024;

export interface BlockMeta {
  minTime: number;
  maxTime: number;
  numSeries: number;
  numSamples: number;
  numChunks: number;
  compactionLevel: number;
}

/** The fields of a block's meta.json, or a problem in words when it is not the meta.json of block `ulid`. */
export function parseBlockMeta(text: Buffer, ulid: string): BlockMeta | { problem: string } {
  if (text.length > META_JSON_MAX_BYTES) return { problem: `meta.json is larger than ${META_JSON_MAX_BYTES} bytes` };
  let meta: unknown;
  try {
    meta = JSON.parse(text.toString('utf8'));
  } catch {
    return { problem: 'meta.json is not JSON' };
  }
  if (!isObject(meta)) return { problem: 'meta.json is not a JSON object' };
  if (meta.ulid !== ulid) return { problem: 'the ulid in meta.json is not the folder name' };
  const stats = meta.stats === undefined ? {} : meta.stats;
  const compaction = meta.compaction === undefined ? {} : meta.compaction;
  if (!isObject(stats) || !isObject(compaction)) return { problem: 'stats or compaction in meta.json is not an object' };
  const fields = {
    minTime: meta.minTime,
    maxTime: meta.maxTime,
    numSeries: stats.numSeries ?? 0,
    numSamples: stats.numSamples ?? 0,
    numChunks: stats.numChunks ?? 0,
    compactionLevel: compaction.level ?? 0,
  };
  for (const [field, value] of Object.entries(fields)) {
    const timeField = field === 'minTime' || field === 'maxTime';
    if (!Number.isSafeInteger(value) || (!timeField && (value as number) < 0)) {
      return { problem: `${field} in meta.json is not ${timeField ? 'a whole number' : 'a whole number of at least 0'}` };
    }
  }
  if ((fields.maxTime as number) < (fields.minTime as number)) return { problem: 'maxTime in meta.json is before minTime' };
  return fields as BlockMeta;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
