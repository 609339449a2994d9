import { createHash } from 'node:crypto';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PrombackupClient } from '@prombackup/client';
import { formatBytes } from '@prombackup/contract';
import { type DownloadParams, openDownload } from './archive-download';
import { serverFailure } from './download-outcome';
import type { HashingFileWriter } from './hashing-file-writer';
import { Progress, type ProgressTotal } from './progress';

export interface Received {
  id: string;
  bytes: number;
  sha256: string;
}

/**
 * Receives the archive through a HashingFileWriter: into the temporary file, or in order into a
 * device or named pipe. Its worker thread hashes and writes the bytes, so this thread only
 * reads the socket.
 */
export async function receiveWith(
  client: PrombackupClient,
  params: DownloadParams,
  writer: HashingFileWriter,
  label: string,
  signal?: AbortSignal,
): Promise<Received> {
  try {
    const { id, body, snapshotBytes } = await openDownload(client, params, signal);
    const progress = new Progress(label, () => writer.bytes, process.stderr, progressTotal(params, snapshotBytes));
    try {
      await pipeline(body, writer);
    } catch (err) {
      throw writer.failure ?? (await cutOff(client, id, writer.bytes, err, signal));
    } finally {
      progress.done();
    }
    return { id, bytes: writer.bytes, sha256: writer.sha256! };
  } catch (err) {
    // The temporary file is removed after this: the writer must not create or write it later.
    await writer.abort();
    throw err;
  }
}

export async function receiveToStdout(client: PrombackupClient, params: DownloadParams, label: string, signal?: AbortSignal): Promise<Received> {
  return receiveInto(client, params, () => process.stdout, label, signal, { end: false });
}

/** A Writable that can say why it failed, rather than the download's echo of that failure. */
export type Sink = Writable & { failure?: Error };

/**
 * Receives the archive into the Writable that `sinkFor` makes once the server has answered (told
 * the snapshot's size, when the server says it), hashing it on the way. With `end`, the sink is
 * ended and has finished when this resolves.
 */
export async function receiveInto(
  client: PrombackupClient,
  params: DownloadParams,
  sinkFor: (snapshotBytes?: number) => Sink,
  label: string,
  signal?: AbortSignal,
  { end } = { end: true },
): Promise<Received> {
  const { id, body, snapshotBytes } = await openDownload(client, params, signal);
  const sink = sinkFor(snapshotBytes);
  const hash = createHash('sha256');
  let bytes = 0;
  const progress = new Progress(label, () => bytes, process.stderr, progressTotal(params, snapshotBytes));
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, sink, { end });
  } catch (err) {
    throw sink.failure ?? (await cutOff(client, id, bytes, err, signal));
  } finally {
    progress.done();
  }
  return { id, bytes, sha256: hash.digest('hex') };
}

/** A download that ended early, with the server's own reason when it recorded one (else only the socket's words). */
async function cutOff(client: PrombackupClient, id: string, bytes: number, err: unknown, signal?: AbortSignal): Promise<Error> {
  // node:http says "aborted" when the connection ends before the body's announced end.
  const { code, message } = err as Error & { code?: string };
  const why = code === 'ECONNRESET' ? `the server closed the connection before the end of the archive (${message})` : message;
  // Stopped here (a signal): the server only saw the client go.
  const reason = signal?.aborted ? undefined : await serverFailure(client, id);
  return new Error(`the download was cut off after ${formatBytes(bytes)}: ${why}${reason ? `; the server reports: ${reason}` : ''}`);
}

/**
 * The total a progress line counts towards: the snapshot's bytes, which a tar exceeds only by its
 * headers; a compressed archive comes out smaller by an amount nobody knows beforehand, so there
 * it is an estimate, and shown as one.
 */
export function progressTotal(params: DownloadParams, snapshotBytes: number | undefined): ProgressTotal | undefined {
  if (snapshotBytes === undefined) return undefined;
  return { bytes: snapshotBytes, estimate: (params.format ?? 'tar') !== 'tar' };
}
