import { Injectable } from '@nestjs/common';
import { isSnapshotName } from '@prombackup/contract';
import { ServerConfig } from '../config/server-config';

export type PrometheusFailure = 'unreachable' | 'timeout' | 'admin_api_disabled' | 'refused' | 'bad_response';

/** Why Prometheus could not give us a snapshot, in words an operator can act on. */
export class PrometheusError extends Error {
  constructor(
    readonly failure: PrometheusFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Talks to Prometheus' TSDB admin API. */
@Injectable()
export class PrometheusAdminClient {
  constructor(private readonly config: ServerConfig) {}

  /** Asks Prometheus for a snapshot and returns its folder name. */
  async snapshot(skipHead: boolean): Promise<string> {
    const url = `${this.config.prometheusEndpoint}/api/v1/admin/tsdb/snapshot${skipHead ? '?skip_head=true' : ''}`;
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(this.config.prometheusTimeoutMs) });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') {
        throw new PrometheusError(
          'timeout',
          `Prometheus at ${this.config.prometheusEndpoint} did not answer the snapshot request within ${this.config.prometheusTimeoutMs / 1000}s`,
        );
      }
      const code = e.cause?.code ? ` (${e.cause.code})` : '';
      throw new PrometheusError('unreachable', `cannot reach Prometheus at ${this.config.prometheusEndpoint}${code}`);
    }
    const text = await response.text().catch(() => '');
    let body: { status?: string; data?: { name?: unknown }; error?: string } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const detail = body?.error ?? text.slice(0, 200);
      if (response.status === 405 || /admin APIs disabled/i.test(detail)) {
        throw new PrometheusError(
          'admin_api_disabled',
          `Prometheus refused the snapshot: its admin API is off; start it with --web.enable-admin-api (${response.status}: ${detail.trim()})`,
        );
      }
      throw new PrometheusError('refused', `Prometheus refused the snapshot with HTTP ${response.status}: ${detail.trim()}`);
    }
    if (!body || body.status !== 'success') {
      throw new PrometheusError('bad_response', 'Prometheus answered the snapshot request with something that is not its JSON API');
    }
    const name = body.data?.name;
    if (!isSnapshotName(name)) {
      throw new PrometheusError('bad_response', `Prometheus returned a snapshot name that is not valid: ${JSON.stringify(name)}`);
    }
    return name;
  }

  /** True when Prometheus answers its readiness endpoint. */
  async ready(): Promise<boolean> {
    try {
      const response = await fetch(`${this.config.prometheusEndpoint}/-/ready`, { signal: AbortSignal.timeout(5_000) });
      return response.ok;
    } catch {
      return false;
    }
  }
}
