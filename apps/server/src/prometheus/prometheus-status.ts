import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ServerConfig } from '../config/server-config';
import { MetricsService } from '../metrics/metrics.service';
import { type ExchangeError, exchange } from './http-exchange';

export interface PrometheusState {
  /** Prometheus answered its flags endpoint. */
  reachable: boolean;
  /** --web.enable-admin-api as Prometheus reports it; undefined when it could not tell. */
  adminApi: boolean | undefined;
  /** --storage.tsdb.path as Prometheus sees it (its own file system, not necessarily ours). */
  storagePath: string | undefined;
  /** What is wrong, in words an operator can act on; undefined when all is well. */
  problem: string | undefined;
}

/** Readiness probes and scrapes come every few seconds; Prometheus is asked at most this often. */
const CACHE_MS = 5_000;
const TIMEOUT_MS = 5_000;

/**
 * Whether Prometheus can take snapshots, from GET /api/v1/status/flags: reachable, admin API on,
 * and where it keeps its data (for hints when -snapshot_dir does not match).
 */
@Injectable()
export class PrometheusStatus implements OnModuleInit {
  private cached?: { at: number; state: Promise<PrometheusState> };

  constructor(
    private readonly config: ServerConfig,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.beforeScrape(async () => {
      const state = await this.check();
      this.metrics.prometheusUp.set(state.reachable ? 1 : 0);
      this.metrics.prometheusAdminApi.set(state.adminApi ? 1 : 0);
    });
  }

  check(now = Date.now()): Promise<PrometheusState> {
    if (!this.cached || now - this.cached.at >= CACHE_MS) this.cached = { at: now, state: this.ask() };
    return this.cached.state;
  }

  private async ask(): Promise<PrometheusState> {
    const endpoint = this.config.prometheusEndpointShown;
    const down = (problem: string): PrometheusState => ({ reachable: false, adminApi: undefined, storagePath: undefined, problem });
    let text: string;
    let status: number;
    try {
      ({ text, status } = await exchange(`${this.config.prometheusEndpoint}/api/v1/status/flags`, 'GET', AbortSignal.timeout(TIMEOUT_MS)));
    } catch (err) {
      const code = (err as ExchangeError).code;
      return down(`cannot reach Prometheus at ${endpoint} (${code === 'ABORT_ERR' || !code ? 'no answer within 5s' : code})`);
    }
    let flags: Record<string, unknown> | undefined;
    try {
      const body = JSON.parse(text) as { status?: unknown; data?: unknown };
      if (body.status === 'success' && body.data && typeof body.data === 'object') flags = body.data as Record<string, unknown>;
    } catch {
      flags = undefined;
    }
    if (status !== 200 || !flags) {
      return down(`Prometheus at ${endpoint} answered /api/v1/status/flags with HTTP ${status} and no flags; is prometheus_endpoint the base URL of a Prometheus server?`);
    }
    const admin = flags['web.enable-admin-api'];
    const adminApi = admin === 'true' ? true : admin === 'false' ? false : undefined;
    const storagePath = typeof flags['storage.tsdb.path'] === 'string' ? flags['storage.tsdb.path'] : undefined;
    const problem = adminApi === false ? `Prometheus at ${endpoint} runs without its admin API; start it with --web.enable-admin-api` : undefined;
    return { reachable: true, adminApi, storagePath, problem };
  }
}
