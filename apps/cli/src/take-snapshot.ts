import { Errors } from '@oclif/core';
import type { PrombackupClient } from '@prombackup/client';
import { type ArchiveFormat, isSnapshotName, parseDuration } from '@prombackup/contract';
import { isAnswerTimeout } from './api';

/** Above the server's -prometheus_timeout default (10m), so the CLI is not the first to give up. */
export const DEFAULT_SNAPSHOT_TIMEOUT = '15m';
/** Past about 24.8 days a Node timer fires at once; a day is already far more than a snapshot takes. */
const MAX_SNAPSHOT_TIMEOUT_MS = 24 * 3600_000;

/** --snapshot-timeout in milliseconds; exits 2 naming the flag when it is not a positive duration up to 24h. */
export function snapshotTimeoutMs(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    Errors.error(`--snapshot-timeout: ${(err as Error).message}`, { exit: 2 });
  }
  if (ms <= 0) Errors.error(`--snapshot-timeout must be positive, got ${JSON.stringify(value)}`, { exit: 2 });
  if (ms > MAX_SNAPSHOT_TIMEOUT_MS) Errors.error(`--snapshot-timeout must be at most 24h, got ${JSON.stringify(value)}`, { exit: 2 });
  return ms;
}

/** Asks the server for a new snapshot; its name, or an error that says what went wrong. */
export async function takeSnapshot(client: PrombackupClient, skipHead: boolean, format: ArchiveFormat, timeout: string): Promise<string> {
  let answer: { name?: unknown } | undefined;
  try {
    // The server answers 303 See Other with {"name": ...}; the client's request core returns that body.
    answer = (await client.snapshots.createSnapshot({ skipHead, downloadFormat: format })) as unknown as typeof answer;
  } catch (err) {
    if (!isAnswerTimeout(err)) throw err;
    throw new Error(`the server did not answer the snapshot request within ${timeout} (--snapshot-timeout); it may still take the snapshot, for prune to remove later`);
  }
  if (!isSnapshotName(answer?.name)) throw new Error(`the server's snapshot answer has no valid snapshot name: ${JSON.stringify(answer)}`);
  return answer.name;
}
