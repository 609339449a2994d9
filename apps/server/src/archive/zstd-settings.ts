import os from 'node:os';

/**
 * zstd's own worker threads compress while the pipeline archives and sends: one more than the
 * cores, as zstd waits for its jobs at every frame end and a spare job keeps the cores busy.
 */
export const ZSTD_WORKERS = Math.min(4, os.availableParallelism() + 1);
/** Input per zstd job: small jobs keep the buffers of both workers (and our memory) small. */
export const ZSTD_JOB_BYTES = 1024 * 1024;
/**
 * Each job first loads the end of the previous one as history; at the fast levels a short one
 * (32 KiB rather than a quarter of the job) is faster for a fraction of a percent more output
 * (numbers in docs/performance.md). Above them compressing costs far more than the history.
 */
export const ZSTD_OVERLAP_LOG = 3;
export const ZSTD_SHORT_OVERLAP_MAX_LEVEL = 4;
/**
 * zstd 1.5.7 looks for a better place to end each block before compressing it; on TSDB data at
 * the fast levels that costs CPU and makes the output larger, so there it is off (1: no split).
 * An experimental parameter: a zstd that lacks it compresses as before.
 */
export const ZSTD_NO_PRESPLIT = 1;

/**
 * From this level on zstd's defaults size their match tables for each of its threads far past
 * the server's memory budget, so the server caps the window and the tables and runs two threads:
 * every level then fits the same budget (docs/performance.md).
 */
export const ZSTD_CAPPED_FROM_LEVEL = 9;
/** The caps: a 2 MiB window and match tables of 2^20 entries (4 MiB each) per zstd thread. */
export const ZSTD_CAPS = { windowLog: 21, hashLog: 20, chainLog: 20, nbWorkers: Math.min(2, ZSTD_WORKERS) } as const;

/** zstd's parameters for one level, by their zstd names (as zstd-napi's options take them). */
export interface ZstdParameters {
  compressionLevel: number;
  checksumFlag: boolean;
  nbWorkers: number;
  jobSize: number;
  overlapLog?: number;
  /** zstd's experimental ZSTD_c_blockSplitterLevel, which zstd-napi knows only by number. */
  blockSplitterLevel?: number;
  windowLog?: number;
  hashLog?: number;
  chainLog?: number;
}

/** What the server compresses a tzst download with at `level`. */
export function zstdParameters(level: number): ZstdParameters {
  const parameters: ZstdParameters = { compressionLevel: level, checksumFlag: true, nbWorkers: ZSTD_WORKERS, jobSize: ZSTD_JOB_BYTES };
  if (level <= ZSTD_SHORT_OVERLAP_MAX_LEVEL) Object.assign(parameters, { overlapLog: ZSTD_OVERLAP_LOG, blockSplitterLevel: ZSTD_NO_PRESPLIT });
  if (level >= ZSTD_CAPPED_FROM_LEVEL) Object.assign(parameters, ZSTD_CAPS);
  return parameters;
}
