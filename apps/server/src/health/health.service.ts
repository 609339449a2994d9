import { Injectable } from '@nestjs/common';
import { PrometheusAdminClient } from '../prometheus/prometheus-admin.client';
import { SnapshotStore } from '../snapshots/snapshot-store';
import type { HealthDto } from './dto/health.dto';

@Injectable()
export class HealthService {
  constructor(
    private readonly store: SnapshotStore,
    private readonly prometheus: PrometheusAdminClient,
  ) {}

  async readiness(): Promise<HealthDto> {
    const [dir, prometheusReady] = await Promise.all([this.store.usable(), this.prometheus.ready()]);
    const checks = {
      snapshot_dir: dir.ok ? 'ok' : (dir.error ?? 'not usable'),
      prometheus: prometheusReady ? 'ok' : 'not reachable or not ready',
    };
    return { ok: dir.ok && prometheusReady, checks };
  }
}
