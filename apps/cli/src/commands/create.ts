import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Flags } from '@oclif/core';
import type { DownloadStatusDto, PrombackupClient } from '@prombackup/client';
import { ARCHIVE_FORMAT_NAMES, type ArchiveFormat, archiveFileName, compressionLevelProblem, isSnapshotName } from '@prombackup/contract';
import { ApiCommand } from '../api-command';
import { type DownloadParams, openDownload, openDownloadInPlace } from '../archive-download';
import { AtomicFile, exists } from '../atomic-file';
import { HashingFileWriter } from '../hashing-file-writer';
import { Progress, formatBytes } from '../progress';

export interface CreateResult {
  path: string;
  bytes: number;
  sha256: string;
  snapshot_name: string;
  download_id: string;
  format: ArchiveFormat;
  seconds: number;
}

/** How long to wait for the server to record a download's outcome after its last byte arrived. */
const STATUS_WAIT_MS = 15_000;

export default class Create extends ApiCommand<typeof Create> {
  static override summary = 'Take a snapshot, download it and verify it end to end.';
  static override description =
    'Asks the server for a new snapshot, streams it as an archive to a temporary file beside the target, and ' +
    "moves it into place only after the server confirms the download and the SHA-256 of the received bytes matches the server's.";
  static override examples = [
    '<%= config.bin %> -server http://prombackupserver:8080 create',
    'PROMBACKUP_ENDPOINT=http://prombackupserver:8080 <%= config.bin %> create -format tgz -output /tmp/mybackup.tar.gz',
    '<%= config.bin %> create --server http://localhost:8080 --format tzst --output - > backup.tar.zst',
    '<%= config.bin %> create --server http://localhost:8080 --format tzst --output /backups/',
  ];

  static override flags = {
    format: Flags.option({ options: ARCHIVE_FORMAT_NAMES, default: 'tar' as ArchiveFormat, summary: 'Archive format.' })(),
    output: Flags.string({
      summary: "Where to write the archive: a file, a folder (the server's file name goes in it), a device or named pipe, or '-' for standard output. Default: the server's file name in the current folder.",
      helpValue: 'PATH',
    }),
    'skip-head': Flags.boolean({ summary: 'Leave out the in-memory head block (the most recent hours not yet in a block).' }),
    level: Flags.integer({ summary: 'Compression level for tgz (1-9, default 1) or tzst (1-19, default 3).', min: 1, max: 19 }),
    force: Flags.boolean({ summary: 'Replace an existing file at the output path.' }),
  };

  async run(): Promise<CreateResult> {
    const { format, output, level, force } = this.flags;
    const toStdout = output === '-';
    if (toStdout && this.jsonEnabled()) this.error('--json cannot be combined with --output -: standard output carries the archive', { exit: 2 });
    const levelProblem = level === undefined ? undefined : compressionLevelProblem(format, level);
    // Checked here as well as by the server, so a bad level does not leave a snapshot behind.
    if (levelProblem) this.error(`--${levelProblem}`, { exit: 2 });
    const kind = toStdout ? 'stdout' : await this.outputKind(output);
    if (kind === 'file') await this.checkTarget(path.resolve(output!), force);

    const started = Date.now();
    const name = await takeSnapshot(this.client, this.flags['skip-head'], format);
    let target = toStdout ? '-' : path.resolve(output ?? '.');
    if (kind === 'folder') {
      target = path.join(target, archiveFileName(name, format));
      await this.checkTarget(target, force);
    }

    const params = { name, format, level };
    const label = `${name}${archiveFileName('', format)}`;
    const file = kind === 'file' || kind === 'folder' ? new AtomicFile(target) : undefined;
    try {
      // The writer is made before the request, so its worker thread starts up meanwhile.
      const { id, bytes, sha256 } =
        kind === 'stdout'
          ? await receiveToStdout(this.client, params, label)
          : await receiveWith(this.client, params, new HashingFileWriter(file?.tempPath ?? target, { sequential: !file }), label);
      verify(await waitForOutcome(this.client, id), sha256, id);
      await file?.commit(force);
      const result: CreateResult = {
        path: target,
        bytes,
        sha256,
        snapshot_name: name,
        download_id: id,
        format,
        seconds: (Date.now() - started) / 1000,
      };
      const line = `${toStdout ? 'archive' : target}: ${formatBytes(bytes)} from snapshot ${name}, SHA-256 ${sha256} verified with the server (download ${id})`;
      if (toStdout) this.logToStderr(line);
      else this.log(line);
      return result;
    } finally {
      await file?.discard();
    }
  }

  /**
   * What --output names. A folder gets the server's file name inside it. A character device or
   * a named pipe (/dev/null, a tape, a FIFO another program reads) is written into as it is:
   * renaming a finished file onto it would replace the device or pipe itself.
   */
  private async outputKind(output: string | undefined): Promise<'folder' | 'stream' | 'file'> {
    if (output === undefined) return 'folder';
    const stats = await fs.stat(output).catch(() => undefined);
    if (!stats && output.endsWith('/')) this.error(`folder ${path.resolve(output)} does not exist`, { exit: 1 });
    if (!stats || stats.isFile()) return 'file';
    if (stats.isDirectory()) return 'folder';
    if (stats.isCharacterDevice() || stats.isFIFO()) return 'stream';
    const what = stats.isBlockDevice() ? 'a block device' : stats.isSocket() ? 'a socket' : 'not a file';
    this.error(`${path.resolve(output)} is ${what}; write the archive to a file, a folder, a character device or a named pipe`, { exit: 2 });
  }

  private async checkTarget(target: string, force: boolean): Promise<void> {
    if (!force && (await exists(target))) this.error(`${target} already exists; not overwriting it (use --force)`, { exit: 1 });
    if (!(await exists(path.dirname(target)))) this.error(`folder ${path.dirname(target)} does not exist`, { exit: 1 });
  }
}

interface Received {
  id: string;
  bytes: number;
  sha256: string;
}

/**
 * Receives the archive through a HashingFileWriter: into the temporary file, or in order into a
 * device or named pipe. The socket's bytes land in the writer's memory, and its worker thread
 * hashes and writes them: this thread only reads the socket.
 */
async function receiveWith(client: PrombackupClient, params: DownloadParams, writer: HashingFileWriter, label: string): Promise<Received> {
  try {
    const download = await openDownloadInPlace(client, params);
    const progress = new Progress(label, () => writer.bytes);
    try {
      await download.receive(writer);
    } catch (err) {
      throw writer.failure ?? cutOff(writer.bytes, err);
    } finally {
      progress.done();
    }
    return { id: download.id, bytes: writer.bytes, sha256: writer.sha256! };
  } catch (err) {
    // The temporary file is removed after this: the writer must not create or write it later.
    await writer.abort();
    throw err;
  }
}

async function receiveToStdout(client: PrombackupClient, params: DownloadParams, label: string): Promise<Received> {
  const { id, body } = await openDownload(client, params);
  const hash = createHash('sha256');
  let bytes = 0;
  const progress = new Progress(label, () => bytes);
  const meter = new PassThrough({ highWaterMark: 1024 * 1024 });
  meter.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  try {
    await pipeline(body, meter, process.stdout, { end: false });
  } catch (err) {
    throw cutOff(bytes, err);
  } finally {
    progress.done();
  }
  return { id, bytes, sha256: hash.digest('hex') };
}

function cutOff(bytes: number, err: unknown): Error {
  return new Error(`the download was cut off after ${formatBytes(bytes)}: ${(err as Error).message}`);
}

async function takeSnapshot(client: PrombackupClient, skipHead: boolean, format: ArchiveFormat): Promise<string> {
  // The server answers 303 See Other with {"name": ...}; the client's request core returns that body.
  const answer = (await client.snapshots.createSnapshot({ skipHead, downloadFormat: format })) as unknown as { name?: unknown } | undefined;
  if (!isSnapshotName(answer?.name)) throw new Error(`the server's snapshot answer has no valid snapshot name: ${JSON.stringify(answer)}`);
  return answer.name;
}

async function waitForOutcome(client: PrombackupClient, id: string): Promise<DownloadStatusDto> {
  const deadline = Date.now() + STATUS_WAIT_MS;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const status = await client.downloads.downloadStatus({ id });
    if (status.finished || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function verify(status: DownloadStatusDto, sha256: string, id: string): void {
  if (!status.finished) throw new Error(`the server still reports download ${id} as running after all bytes arrived; not trusting it`);
  if (!status.finished.success) throw new Error(`the server reports download ${id} failed: ${status.finished.error_text ?? 'no reason given'}`);
  if (status.finished.sha256_hex !== sha256) {
    throw new Error(`checksum mismatch: received bytes hash to ${sha256}, the server sent ${status.finished.sha256_hex}`);
  }
}
