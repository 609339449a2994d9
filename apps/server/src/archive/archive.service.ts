import type { Readable, Duplex } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { type ArchiveFormat, COMPRESSION_LEVELS } from '@prombackup/contract';
import type { SnapshotFolder } from '../snapshots/snapshot-store';
import { createTarCompressor } from './compressors';
import { FileBoundaries } from './file-boundaries';
import type { ReadSlots } from './read-slots';
import { SnapshotArchiver } from './snapshot-archiver';

/** The stages that turn a snapshot folder into an archive of the asked format, for one pipeline(). */
@Injectable()
export class ArchiveService {
  constructor(private readonly archiver: SnapshotArchiver) {}

  /**
   * Chunks the last stage puts out may lie in `slots`; the consumer releases them. `blocks`
   * limits the archive to those block folders.
   */
  stages(folder: SnapshotFolder, format: ArchiveFormat, level: number | undefined, slots: ReadSlots, blocks?: readonly string[]): [Readable, ...Duplex[]] {
    if (format === 'tar') return [this.archiver.tar(folder, slots, blocks)];
    const boundaries = new FileBoundaries();
    const tar = this.archiver.tar(folder, slots, blocks, boundaries);
    return [tar, createTarCompressor(format, level ?? COMPRESSION_LEVELS[format].default, slots, boundaries)];
  }
}
