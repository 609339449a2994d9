import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerConfig } from '../config/server-config';
import { parseSettings } from '../config/settings';
import { MetricsService } from '../metrics/metrics.service';
import { PrometheusStatus } from './prometheus-status';

/** What the fake Prometheus answers on /api/v1/status/flags. */
let answer: { status: number; body: string } = { status: 200, body: '' };
let asked = 0;
let server: http.Server;
let url: string;

const flags = (admin: string) => JSON.stringify({ status: 'success', data: { 'web.enable-admin-api': admin, 'storage.tsdb.path': '/prometheus' } });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    asked++;
    if (req.url !== '/api/v1/status/flags') return void res.writeHead(404).end('404 page not found');
    res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const status = (endpoint = url) => new PrometheusStatus(new ServerConfig(parseSettings(['-snapshot_dir', '/x', '-prometheus_endpoint', endpoint])), new MetricsService());

describe('PrometheusStatus', () => {
  it('reports the admin API on, and where Prometheus keeps its data', async () => {
    answer = { status: 200, body: flags('true') };
    expect(await status().check()).toEqual({ reachable: true, adminApi: true, storagePath: '/prometheus', problem: undefined });
  });

  it('says how to turn the admin API on when it is off', async () => {
    answer = { status: 200, body: flags('false') };
    expect(await status().check()).toMatchObject({ reachable: true, adminApi: false, problem: expect.stringMatching(/--web\.enable-admin-api/) });
  });

  it('tells a server that is not Prometheus from an unreachable one', async () => {
    answer = { status: 200, body: '<html>' };
    expect(await status().check()).toMatchObject({ reachable: false, problem: expect.stringMatching(/HTTP 200 and no flags; is prometheus_endpoint/) });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const nobody = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    expect(await status(nobody).check()).toMatchObject({ reachable: false, problem: `cannot reach Prometheus at ${nobody} (ECONNREFUSED)` });
  });

  it('asks at most every 5 s, and sets its gauges on a scrape', async () => {
    answer = { status: 200, body: flags('false') };
    const metrics = new MetricsService();
    const probe = new PrometheusStatus(new ServerConfig(parseSettings(['-snapshot_dir', '/x', '-prometheus_endpoint', url])), metrics);
    probe.onModuleInit();
    const before = asked;
    const text = await metrics.scrape();
    await probe.check();
    expect(asked - before).toBe(1);
    expect(text).toMatch(/^prombackup_prometheus_up 1$/m);
    expect(text).toMatch(/^prombackup_prometheus_admin_api_enabled 0$/m);
    await probe.check(Date.now() + 6_000);
    expect(asked - before).toBe(2);
  });
});
