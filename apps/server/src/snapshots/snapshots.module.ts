import { Module } from '@nestjs/common';
import { PrometheusModule } from '../prometheus/prometheus.module';
import { SnapshotContents } from './snapshot-contents';
import { SnapshotLocks } from './snapshot-locks';
import { SnapshotStore } from './snapshot-store';
import { SnapshotUsage } from './snapshot-usage';
import { SnapshotsController } from './snapshots.controller';
import { SnapshotsService } from './snapshots.service';

@Module({
  imports: [PrometheusModule],
  controllers: [SnapshotsController],
  providers: [SnapshotsService, SnapshotStore, SnapshotLocks, SnapshotUsage, SnapshotContents],
  exports: [SnapshotStore, SnapshotLocks, SnapshotsService, SnapshotUsage, SnapshotContents],
})
export class SnapshotsModule {}
