import { Module } from '@nestjs/common';
import { SnapshotsModule } from '../snapshots/snapshots.module';
import { ArchiveService } from './archive.service';
import { SnapshotArchiver } from './snapshot-archiver';

@Module({
  imports: [SnapshotsModule],
  providers: [ArchiveService, SnapshotArchiver],
  exports: [ArchiveService],
})
export class ArchiveModule {}
