import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { AccessLogMiddleware } from './common/access-log.middleware';
import { CommonModule } from './common/common.module';
import { RequestHygieneMiddleware } from './common/request-hygiene.middleware';
import { ConfigModule } from './config/config.module';
import type { Settings } from './config/settings';
import { DownloadsModule } from './downloads/downloads.module';
import { HealthModule } from './health/health.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { MetricsModule } from './metrics/metrics.module';
import { PruneModule } from './prune/prune.module';
import { SnapshotsModule } from './snapshots/snapshots.module';
import { WebModule } from './web/web.module';

@Module({})
export class AppModule implements NestModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(settings),
        AuthModule,
        CommonModule,
        LifecycleModule,
        MetricsModule,
        SnapshotsModule,
        DownloadsModule,
        PruneModule,
        HealthModule,
        WebModule,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AccessLogMiddleware, RequestHygieneMiddleware).forRoutes('{*path}');
  }
}
