import type { DownloadStatusDto, PrombackupClient } from '@prombackup/client';
import { escapeControls } from '@prombackup/contract';

/** How long to wait for the server to record a download's outcome after its last byte arrived. */
const STATUS_WAIT_MS = 15_000;

/** Asks for a download's status until the server has recorded its outcome, or `waitMs` has passed. */
export async function waitForOutcome(client: PrombackupClient, id: string, waitMs = STATUS_WAIT_MS): Promise<DownloadStatusDto> {
  const deadline = Date.now() + waitMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const status = await client.downloads.downloadStatus({ id });
    if (status.finished || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Throws, naming the cause, unless the server recorded success with the SHA-256 the CLI computed. */
export function verify(status: DownloadStatusDto, sha256: string, id: string): void {
  if (!status.finished) throw new Error(`the server still reports download ${id} as running after all bytes arrived; not trusting it`);
  if (!status.finished.success) throw new Error(`the server reports download ${id} failed: ${escapeControls(status.finished.error_text ?? 'no reason given')}`);
  if (status.finished.sha256_hex !== sha256) {
    throw new Error(`checksum mismatch: received bytes hash to ${sha256}, the server sent ${status.finished.sha256_hex}`);
  }
}

/** How long a cut download waits for the server to say why: it records a failure of its own at once. */
const REASON_WAIT_MS = 3_000;

/**
 * Why the server failed download `id`, if it recorded that within a moment (a file it could not
 * archive, say); undefined when it did not, or could not be asked (the network is what failed).
 */
export async function serverFailure(client: PrombackupClient, id: string): Promise<string | undefined> {
  try {
    const { finished } = await waitForOutcome(client, id, REASON_WAIT_MS);
    return finished && !finished.success ? escapeControls(finished.error_text ?? 'no reason given') : undefined;
  } catch {
    return undefined;
  }
}
