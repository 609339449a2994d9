import type { PrombackupClient } from '@prombackup/client';
import { type ArchiveFormat, isSnapshotName } from '@prombackup/contract';
import { isAnswerTimeout } from './api';

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
