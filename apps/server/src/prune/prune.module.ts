import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { SnapshotsModule } from '../snapshots/snapshots.module';
import { AutopruneScheduler, Jitter } from './autoprune.scheduler';
import { PruneController } from './prune.controller';
import { PruneService } from './prune.service';

@Module({
  imports: [ScheduleModule.forRoot(), SnapshotsModule],
  controllers: [PruneController],
  providers: [PruneService, AutopruneScheduler, Jitter],
  exports: [PruneService],
})
export class PruneModule {}
