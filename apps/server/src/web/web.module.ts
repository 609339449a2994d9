import { Module } from '@nestjs/common';
import { DownloadsModule } from '../downloads/downloads.module';
import { HealthModule } from '../health/health.module';
import { PrometheusModule } from '../prometheus/prometheus.module';
import { PruneModule } from '../prune/prune.module';
import { SnapshotsModule } from '../snapshots/snapshots.module';
import { WebController } from './web.controller';

@Module({
  imports: [SnapshotsModule, DownloadsModule, PruneModule, HealthModule, PrometheusModule],
  controllers: [WebController],
})
export class WebModule {}
