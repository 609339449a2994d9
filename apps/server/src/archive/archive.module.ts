import { Module } from '@nestjs/common';
import { SnapshotsModule } from '../snapshots/snapshots.module';
import { ArchivePipeline } from './archive-pipeline';
import { HashingPool } from './offthread-sha256';
import { SlotMemory } from './read-slots';
import { SnapshotArchiver } from './snapshot-archiver';

/** The bytes of a download, from the snapshot's files to the socket; ArchivePipeline.run() is the way in. */
@Module({
  imports: [SnapshotsModule],
  providers: [ArchivePipeline, SnapshotArchiver, SlotMemory, HashingPool],
  exports: [ArchivePipeline],
})
export class ArchiveModule {}
