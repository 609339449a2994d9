import { Module } from '@nestjs/common';
import { PrometheusAdminClient } from './prometheus-admin.client';
import { PrometheusStatus } from './prometheus-status';

@Module({
  providers: [PrometheusAdminClient, PrometheusStatus],
  exports: [PrometheusAdminClient, PrometheusStatus],
})
export class PrometheusModule {}
