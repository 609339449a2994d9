import { Module } from '@nestjs/common';
import { ArchiveModule } from '../archive/archive.module';
import { SnapshotsModule } from '../snapshots/snapshots.module';
import { DownloadRegistry } from './download-registry';
import { DownloadsController } from './downloads.controller';
import { DownloadsService } from './downloads.service';
import { HashingPool } from './offthread-sha256';

@Module({
  imports: [ArchiveModule, SnapshotsModule],
  controllers: [DownloadsController],
  providers: [DownloadsService, DownloadRegistry, HashingPool],
  exports: [DownloadRegistry],
})
export class DownloadsModule {}
