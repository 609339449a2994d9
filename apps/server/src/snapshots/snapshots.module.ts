import { Module } from '@nestjs/common';
import { PrometheusModule } from '../prometheus/prometheus.module';
import { SnapshotLocks } from './snapshot-locks';
import { SnapshotStore } from './snapshot-store';
import { SnapshotsController } from './snapshots.controller';
import { SnapshotsService } from './snapshots.service';

@Module({
  imports: [PrometheusModule],
  controllers: [SnapshotsController],
  providers: [SnapshotsService, SnapshotStore, SnapshotLocks],
  exports: [SnapshotStore, SnapshotLocks, SnapshotsService],
})
export class SnapshotsModule {}
