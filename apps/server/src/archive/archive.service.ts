import type { Readable, Duplex } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { type ArchiveFormat, COMPRESSION_LEVELS } from '@prombackup/contract';
import type { SnapshotFolder } from '../snapshots/snapshot-store';
import { createTarCompressor } from './compressors';
import { SnapshotArchiver } from './snapshot-archiver';

/** The stages that turn a snapshot folder into an archive of the asked format, for one pipeline(). */
@Injectable()
export class ArchiveService {
  constructor(private readonly archiver: SnapshotArchiver) {}

  stages(folder: SnapshotFolder, format: ArchiveFormat, level?: number): [Readable, ...Duplex[]] {
    const tar = this.archiver.tar(folder);
    if (format === 'tar') return [tar];
    return [tar, createTarCompressor(format, level ?? COMPRESSION_LEVELS[format].default)];
  }
}
