import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { MetricsService } from '../metrics/metrics.service';
import { PrometheusStatus } from '../prometheus/prometheus-status';
import { SnapshotStore } from '../snapshots/snapshot-store';
import type { HealthDto } from './dto/health.dto';

/** Outside Kubernetes nothing may probe /readyz: look this often, so the log tells of a change. */
const WATCH_MS = 30_000;

@Injectable()
export class HealthService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('readiness');
  private lastVerdict: string | undefined;
  private watch?: NodeJS.Timeout;

  constructor(
    private readonly store: SnapshotStore,
    private readonly prometheus: PrometheusStatus,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: MetricsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.metrics.beforeScrape(async () => void (await this.readiness()));
    await this.readiness();
    this.watch = setInterval(() => void this.readiness().catch(() => undefined), WATCH_MS);
    this.watch.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.watch);
  }

  /**
   * Ready when Prometheus answers with its admin API on and snapshot_dir can be read and written.
   * Each change of the verdict (and the first one) is logged, naming what fails.
   */
  async readiness(): Promise<HealthDto> {
    const [dir, prometheus] = await Promise.all([this.store.usable(), this.prometheus.check()]);
    const checks: Record<string, string> = {
      snapshot_dir: dir.ok ? 'ok' : (dir.error ?? 'not usable'),
      prometheus: prometheus.problem ?? 'ok',
    };
    if (this.lifecycle.draining) checks.shutdown = 'shutting down: new downloads are refused';
    const ok = dir.ok && prometheus.problem === undefined && !this.lifecycle.draining;
    this.metrics.ready.set(ok ? 1 : 0);
    this.report(ok, checks);
    return { ok, checks };
  }

  private report(ok: boolean, checks: Record<string, string>): void {
    const problems = Object.entries(checks).filter(([, result]) => result !== 'ok');
    // The log, unlike the HTTP answer, may name the operator's own path.
    const where = (name: string) => (name === 'snapshot_dir' ? ` (${this.store.root}); listing, downloads and pruning answer 503 until that is fixed` : '');
    const verdict = ok ? 'ready' : `not ready: ${problems.map(([name, result]) => `${name}: ${result}${where(name)}`).join('; ')}`;
    if (verdict === this.lastVerdict) return;
    const first = this.lastVerdict === undefined;
    this.lastVerdict = verdict;
    // Shutting down is expected, not a fault; the shutdown logs it already.
    if (ok || (problems.length === 1 && problems[0][0] === 'shutdown')) this.logger.log(first ? verdict : `now ${verdict}`);
    else this.logger.warn(first ? verdict : `now ${verdict}`);
  }
}
