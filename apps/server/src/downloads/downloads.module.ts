import { Module } from '@nestjs/common';
import { ArchiveModule } from '../archive/archive.module';
import { SnapshotsModule } from '../snapshots/snapshots.module';
import { ActiveDownloads } from './active-downloads';
import { DownloadRegistry } from './download-registry';
import { DownloadsController } from './downloads.controller';
import { DownloadsService } from './downloads.service';

@Module({
  imports: [ArchiveModule, SnapshotsModule],
  controllers: [DownloadsController],
  providers: [DownloadsService, DownloadRegistry, ActiveDownloads],
  exports: [DownloadRegistry],
})
export class DownloadsModule {}
