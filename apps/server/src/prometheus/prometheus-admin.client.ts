import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { formatDuration, isSnapshotName } from '@prombackup/contract';
import { ServerConfig } from '../config/server-config';
import { type Exchange, type ExchangeError, exchange } from './http-exchange';

/** Why a snapshot request failed; also the outcome label of prombackup_snapshot_requests_total. */
export const PROMETHEUS_FAILURES = ['unreachable', 'timeout', 'admin_api_disabled', 'refused', 'bad_response'] as const;
export type PrometheusFailure = (typeof PROMETHEUS_FAILURES)[number];

const STATUS: Record<PrometheusFailure, number> = {
  unreachable: HttpStatus.SERVICE_UNAVAILABLE,
  timeout: HttpStatus.GATEWAY_TIMEOUT,
  admin_api_disabled: HttpStatus.BAD_GATEWAY,
  refused: HttpStatus.BAD_GATEWAY,
  bad_response: HttpStatus.BAD_GATEWAY,
};

/** Why Prometheus could not give us a snapshot, in words an operator can act on, with its HTTP status. */
export class PrometheusError extends HttpException {
  constructor(
    readonly failure: PrometheusFailure,
    message: string,
  ) {
    super(message, STATUS[failure]);
  }
}

/** Talks to Prometheus' TSDB admin API. */
@Injectable()
export class PrometheusAdminClient {
  constructor(private readonly config: ServerConfig) {}

  /** Asks Prometheus for a snapshot and returns its folder name. */
  async snapshot(skipHead: boolean): Promise<string> {
    const url = `${this.config.prometheusEndpoint}/api/v1/admin/tsdb/snapshot${skipHead ? '?skip_head=true' : ''}`;
    // Messages reach clients and logs: they name the endpoint without its password.
    const endpoint = this.config.prometheusEndpointShown;
    // One deadline for the whole exchange: a Prometheus that sends headers and then stalls
    // is as slow as one that never answers.
    const signal = AbortSignal.timeout(this.config.prometheusTimeoutMs);
    const timedOut = () =>
      new PrometheusError(
        'timeout',
        `Prometheus at ${endpoint} did not answer the snapshot request within ${formatDuration(this.config.prometheusTimeoutMs)} ` +
          '(prometheus_timeout; snapshots of a large head block can take minutes)',
      );
    let response: Exchange;
    try {
      response = await exchange(url, 'POST', signal);
    } catch (err) {
      if (signal.aborted) throw timedOut();
      const e = err as ExchangeError;
      if (e.afterHeaders) throw new PrometheusError('bad_response', `Prometheus at ${endpoint} broke off its answer to the snapshot request`);
      throw new PrometheusError('unreachable', `cannot reach Prometheus at ${endpoint}${e.code ? ` (${e.code})` : ''}`);
    }
    const text = response.text;
    let body: { status?: unknown; data?: { name?: unknown } | null; error?: unknown } | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      body = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as typeof body) : undefined;
    } catch {
      body = undefined;
    }
    if (response.status < 200 || response.status > 299) {
      const detail = (typeof body?.error === 'string' ? body.error : printable(text)).trim();
      if (response.status === 405 || /admin APIs? (is |are )?disabled/i.test(detail)) {
        throw new PrometheusError(
          'admin_api_disabled',
          `Prometheus at ${endpoint} refused the snapshot: its admin API is off; start it with --web.enable-admin-api (HTTP ${response.status}: ${detail})`,
        );
      }
      const hint =
        response.status === 404 ? '; is prometheus_endpoint the base URL of a Prometheus server?' :
        response.status === 401 || response.status === 403 ? authHint(this.config.prometheusEndpoint) : '';
      throw new PrometheusError('refused', `Prometheus at ${endpoint} refused the snapshot with HTTP ${response.status}: ${detail || '(no message)'}${hint}`);
    }
    if (!body || typeof body.status !== 'string') {
      const type = response.contentType ?? 'no content type';
      throw new PrometheusError(
        'bad_response',
        `Prometheus at ${endpoint} answered the snapshot request with something that is not JSON from its API (HTTP ${response.status}, ${type}: ${printable(text, 80) || 'empty body'}); is prometheus_endpoint right?`,
      );
    }
    if (body.status !== 'success') {
      const detail = typeof body.error === 'string' ? `: ${body.error}` : '';
      throw new PrometheusError('refused', `Prometheus at ${endpoint} answered the snapshot request with status ${JSON.stringify(body.status)}${detail}`);
    }
    const name = body.data?.name;
    if (name === undefined || name === null) {
      throw new PrometheusError('bad_response', `Prometheus at ${endpoint} answered the snapshot request with success but no snapshot name`);
    }
    if (!isSnapshotName(name)) {
      throw new PrometheusError(
        'bad_response',
        `Prometheus at ${endpoint} returned a snapshot name that is not valid (not a plain folder name): ${JSON.stringify(name).slice(0, 200)}`,
      );
    }
    return name;
  }
}

/** Why Prometheus may have refused us: no credentials sent, or the ones in prometheus_endpoint. */
function authHint(endpoint: string): string {
  const { username, password } = new URL(endpoint);
  return username || password ? '; check the user name and password in prometheus_endpoint' : '; it asks for authentication this server does not send';
}

/** The start of a body, on one line, without control characters: safe to quote in a message. */
function printable(text: string, max = 200): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
