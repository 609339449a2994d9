import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import { ARCHIVE_FORMATS, DOWNLOAD_ID_HEADER, SNAPSHOT_BYTES_HEADER, archiveFileName } from '@prombackup/contract';
import type { Response } from 'express';
import { type ArchiveRequest, type ArchiveResult, ArchivePipeline } from '../archive/archive-pipeline';
import { describeStreamError } from '../archive/stream-errors';
import { SnapshotContents } from '../snapshots/snapshot-contents';
import { type SnapshotFolder, SnapshotStore } from '../snapshots/snapshot-store';
import { ActiveDownloads, type DownloadHandle } from './active-downloads';

export interface DownloadRequest extends ArchiveRequest {
  name: string;
}

/** A download: admitted, its headers set, its archive run, its outcome recorded. */
@Injectable()
export class DownloadsService {
  private readonly logger = new Logger(DownloadsService.name);

  constructor(
    private readonly store: SnapshotStore,
    private readonly contents: SnapshotContents,
    private readonly downloads: ActiveDownloads,
    private readonly archive: ArchivePipeline,
  ) {}

  /**
   * Streams a snapshot as an archive into `res` and records the outcome under a download id.
   * Resolves once the stream has ended, successfully or not.
   */
  async stream(request: DownloadRequest, res: Response): Promise<void> {
    this.downloads.refuseIfDraining();
    const folder = await this.store.folder(request.name);
    const blockBytes = request.blocks && (await this.blockBytes(folder, request.blocks));
    // HEAD (curl -I, link checkers) gets the headers only: no archive, no download recorded as failed.
    if (res.req.method === 'HEAD') {
      await this.setHeaders(folder, request, res, blockBytes);
      res.end();
      return;
    }
    const download = this.downloads.acquire(folder, request.format);
    const result = await this.send(folder, request, res, download, blockBytes).catch(
      (err: Error): ArchiveResult => ({ bytes: 0, sha256Hex: '', errorText: describeStreamError(err) }),
    );
    download.finish(result);
    const what = `download ${download.id} of ${folder.name}${request.blocks ? ` (${request.blocks.length} blocks)` : ''}`;
    if (result.errorText) this.logger.warn(`${what} failed: ${result.errorText}`);
    else this.logger.log(`${what} (${request.format}) sent ${result.bytes} bytes`);
  }

  private async send(folder: SnapshotFolder, request: DownloadRequest, res: Response, download: DownloadHandle, blockBytes?: number): Promise<ArchiveResult> {
    await this.setHeaders(folder, request, res, blockBytes);
    res.setHeader(DOWNLOAD_ID_HEADER, download.id);
    // The client learns the download id even if the archive fails before its first byte.
    res.flushHeaders();
    return this.archive.run(folder, request, res, download);
  }

  /** The archive's headers but its download id, for a GET and a HEAD alike. */
  private async setHeaders(folder: SnapshotFolder, request: DownloadRequest, res: Response, blockBytes?: number): Promise<void> {
    // Metadata only, and a failure here only costs the client its progress total.
    const snapshotBytes = blockBytes ?? (await this.store.size(folder).catch(() => undefined));
    res.status(200);
    res.setHeader('Content-Type', ARCHIVE_FORMATS[request.format].contentType);
    res.setHeader('Content-Disposition', `attachment; filename="${archiveFileName(folder.name, request.format)}"`);
    res.setHeader('Cache-Control', 'no-store');
    if (snapshotBytes !== undefined) res.setHeader(SNAPSHOT_BYTES_HEADER, String(snapshotBytes));
  }

  /**
   * The bytes of the asked blocks; a 400 naming those that are not blocks of the snapshot (no
   * such folder, or one without a meta.json naming it, or a link: see SnapshotContents).
   */
  private async blockBytes(folder: SnapshotFolder, ulids: readonly string[]): Promise<number> {
    const { blocks } = await this.contents.read(folder, new Set(ulids));
    const found = new Set(blocks.map((block) => block.ulid));
    const unknown = ulids.filter((ulid) => !found.has(ulid));
    if (unknown.length > 0) {
      const shown = unknown.length > 10 ? `${unknown.slice(0, 10).join(', ')} and ${unknown.length - 10} more` : unknown.join(', ');
      throw new BadRequestException(`snapshot ${folder.name} has no block ${shown} (snapshot_contents lists its blocks)`);
    }
    return blocks.reduce((sum, block) => sum + block.bytes, 0);
  }
}
