import { Injectable } from '@nestjs/common';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { PrometheusAdminClient } from '../prometheus/prometheus-admin.client';
import { SnapshotStore } from '../snapshots/snapshot-store';
import type { HealthDto } from './dto/health.dto';

@Injectable()
export class HealthService {
  constructor(
    private readonly store: SnapshotStore,
    private readonly prometheus: PrometheusAdminClient,
    private readonly lifecycle: LifecycleService,
  ) {}

  async readiness(): Promise<HealthDto> {
    const [dir, prometheusReady] = await Promise.all([this.store.usable(), this.prometheus.ready()]);
    const checks: Record<string, string> = {
      snapshot_dir: dir.ok ? 'ok' : (dir.error ?? 'not usable'),
      prometheus: prometheusReady ? 'ok' : 'not reachable or not ready',
    };
    if (this.lifecycle.draining) checks.shutdown = 'shutting down: new downloads are refused';
    return { ok: dir.ok && prometheusReady && !this.lifecycle.draining, checks };
  }
}
