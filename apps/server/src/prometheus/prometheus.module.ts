import { Module } from '@nestjs/common';
import { PrometheusAdminClient } from './prometheus-admin.client';

@Module({
  providers: [PrometheusAdminClient],
  exports: [PrometheusAdminClient],
})
export class PrometheusModule {}
