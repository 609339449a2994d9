import { Module } from '@nestjs/common';
import { DownloadsModule } from '../downloads/downloads.module';
import { PruneModule } from '../prune/prune.module';
import { SnapshotsModule } from '../snapshots/snapshots.module';
import { WebController } from './web.controller';

@Module({
  imports: [SnapshotsModule, DownloadsModule, PruneModule],
  controllers: [WebController],
})
export class WebModule {}
