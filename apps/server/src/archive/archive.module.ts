import { Module } from '@nestjs/common';
import { SnapshotsModule } from '../snapshots/snapshots.module';
import { ArchiveService } from './archive.service';
import { SlotMemory } from './read-slots';
import { SnapshotArchiver } from './snapshot-archiver';

@Module({
  imports: [SnapshotsModule],
  providers: [ArchiveService, SnapshotArchiver, SlotMemory],
  exports: [ArchiveService, SlotMemory],
})
export class ArchiveModule {}
