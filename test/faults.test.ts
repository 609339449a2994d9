// Upstream faults: Prometheus refusing connections, not answering, answering with its admin API
// off, answering nonsense. Each is a 502/503/504 saying which, and the server keeps serving.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeBehaviour, type FakePrometheus, GOOD_NAME, startFakePrometheus, startPrometheusWithoutAdminApi } from './support/fake-prometheus';
import { type ServerProcess, runServerCommand, startServer } from './support/processes';
import { freePort } from './support/prometheus';

interface Answer {
  status: number;
  location: string | null;
  body: { statusCode?: number; error?: string; message?: string; name?: string };
  ms: number;
}

async function requestSnapshot(server: ServerProcess, query = ''): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${server.url}/api/snapshot${query}`, { method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as Answer['body'];
  return { status: res.status, location: res.headers.get('location'), body, ms: Date.now() - started };
}

let snapshotDir: string;

beforeAll(async () => {
  snapshotDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-faults-'));
});

afterAll(async () => {
  if (snapshotDir) await fs.rm(snapshotDir, { recursive: true, force: true });
});

describe('Prometheus answering badly (a fake on 127.0.0.1, -prometheus_timeout 1s)', () => {
  let fake: FakePrometheus;
  let server: ServerProcess;

  beforeAll(async () => {
    fake = await startFakePrometheus('good');
    fake.snapshotDir = snapshotDir; // as Prometheus does: the folder is there when it answers
    server = await startServer(['-prometheus_endpoint', fake.url, '-prometheus_timeout', '1s', '-snapshot_dir', snapshotDir]);
  });

  afterAll(async () => {
    await server?.stop();
    await fake?.close();
  });

  it('takes a snapshot when the fake answers properly (the baseline)', async () => {
    const answer = await requestSnapshot(server, '?skip_head=true');
    expect(answer.status).toBe(303);
    expect(answer.body).toEqual({ name: GOOD_NAME });
    expect(answer.location).toBe(`./download?name=${GOOD_NAME}`);
    expect(fake.requests.at(-1)).toBe('POST /api/v1/admin/tsdb/snapshot?skip_head=true');
  });

  const cases: [FakeBehaviour, string, number, string, RegExp][] = [
    ['hang', 'never answering', 504, 'Gateway Timeout', /did not answer the snapshot request within 1s \(prometheus_timeout/],
    ['stall-body', 'sending headers, then stalling', 504, 'Gateway Timeout', /did not answer the snapshot request within 1s \(prometheus_timeout/],
    ['html', 'answering HTML', 502, 'Bad Gateway', /not JSON from its API \(HTTP 200, text\/html: <!DOCTYPE html> <html>.*nginx/],
    ['bad-name', 'returning a name that would escape the snapshot folder', 502, 'Bad Gateway', /snapshot name that is not valid.*"\.\.\/\.\.\/etc"/],
    ['no-name', 'returning no name', 502, 'Bad Gateway', /success but no snapshot name/],
    ['error-500', 'answering 500', 502, 'Bad Gateway', /refused the snapshot with HTTP 500: create snapshot: no space left on device/],
    ['not-found', 'answering 404 (not Prometheus)', 502, 'Bad Gateway', /HTTP 404: 404 page not found; is prometheus_endpoint the base URL/],
  ];

  it.each(cases)('%s (%s): %i saying which, and keeps serving', async (behaviour, _, status, reason, message) => {
    fake.behaviour = behaviour;
    const answer = await requestSnapshot(server);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ statusCode: status, error: reason, message: expect.stringMatching(message) });
    expect(answer.location).toBeNull();
    expect(answer.body.message).toContain(fake.url); // which Prometheus, so the operator can check the setting
    if (status === 504) {
      expect(answer.ms).toBeGreaterThanOrEqual(900);
      expect(answer.ms).toBeLessThan(2_500);
    }

    // Still serving: health, other endpoints, and the next good snapshot request.
    expect(server.process.exitCode).toBeNull();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/api/snapshots`)).status).toBe(200);
    fake.behaviour = 'good';
    const again = await requestSnapshot(server);
    expect(again.status).toBe(303);
    expect(again.body).toEqual({ name: GOOD_NAME });
  });

  it('counts each failure by kind in its metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/prombackup_snapshot_requests_total\{outcome="timeout"\} 2/);
    expect(text).toMatch(/prombackup_snapshot_requests_total\{outcome="bad_response"\} 3/);
    expect(text).toMatch(/prombackup_snapshot_requests_total\{outcome="refused"\} 2/);
  });

  it('says -snapshot_dir is probably not <storage.tsdb.path>/snapshots when the snapshot taken is not in it', async () => {
    fake.snapshotDir = undefined;
    await fs.rm(path.join(snapshotDir, GOOD_NAME), { recursive: true, force: true });
    try {
      const answer = await requestSnapshot(server);
      expect(answer.status).toBe(500);
      expect(answer.body.message).toBe(
        `Prometheus reports snapshot ${GOOD_NAME}, but it does not appear under -snapshot_dir: -snapshot_dir is probably not /prometheus/snapshots (Prometheus' data folder, by its own path) as this server sees it`,
      );
      expect(server.log()).toContain(`-snapshot_dir is ${snapshotDir}`);
    } finally {
      fake.snapshotDir = snapshotDir;
    }
  });
});

describe('a client that gives up while Prometheus is still taking the snapshot', () => {
  let fake: FakePrometheus;
  let server: ServerProcess;
  let dir: string;
  const taken = () => path.join(dir, GOOD_NAME);

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-orphan-'));
    fake = await startFakePrometheus('slow');
    fake.snapshotDir = dir;
    server = await startServer(['-prometheus_endpoint', fake.url, '-snapshot_dir', dir]);
  });

  afterAll(async () => {
    await server?.stop();
    await fake?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('removes the snapshot Prometheus took for nobody, and logs one line saying so', async () => {
    const req = http.request(`${server.url}/api/snapshot`, { method: 'POST' });
    req.on('error', () => undefined);
    req.end();
    await new Promise((r) => setTimeout(r, 300));
    req.destroy(); // the client gives up, as a CLI with a short timeout would
    const deadline = Date.now() + fake.delayMs + 5_000;
    while (!/removed it/.test(server.log()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(taken())).toBe(false);
    const lines = server.log().split('\n').filter((line) => line.includes(GOOD_NAME));
    expect(lines.filter((line) => /went away/.test(line))).toHaveLength(1);
    expect(lines.join('\n')).toMatch(new RegExp(`snapshot ${GOOD_NAME} taken, but the client that asked for it went away before Prometheus answered; removed it`));
  });

  it('keeps the snapshot for a client that waits', async () => {
    const answer = await requestSnapshot(server);
    expect(answer.status).toBe(303);
    expect(answer.body).toEqual({ name: GOOD_NAME });
    expect(existsSync(taken())).toBe(true);
  });
});

describe('SIGTERM while Prometheus is still taking a snapshot', () => {
  it('waits for the answer, removes the snapshot (its download would be refused), answers 503 and exits 0', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-orphan-term-'));
    const fake = await startFakePrometheus('slow');
    fake.snapshotDir = dir;
    try {
      const server = await startServer(['-prometheus_endpoint', fake.url, '-snapshot_dir', dir, '-shutdown_grace', '20s']);
      const answer = requestSnapshot(server);
      await new Promise((r) => setTimeout(r, 300));
      server.process.kill('SIGTERM');
      const { status, body } = await answer;
      expect(status).toBe(503);
      expect(body.message).toMatch(/shutting down.*the snapshot taken meanwhile was removed/);
      expect(existsSync(path.join(dir, GOOD_NAME))).toBe(false);
      expect(await server.exited).toBe(0);
      expect(server.log()).toMatch(new RegExp(`snapshot ${GOOD_NAME} taken, but the server began shutting down before Prometheus answered; removed it`));
      // No download ran: nobody will ask for a download status, so nothing to linger for.
      expect(server.log()).not.toMatch(/still answering download_status/);
    } finally {
      await fake.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Prometheus refusing connections', () => {
  it('answers 503 naming the endpoint and the refusal, and keeps serving', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const server = await startServer(['-prometheus_endpoint', dead, '-snapshot_dir', snapshotDir]);
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await requestSnapshot(server);
        expect(answer.status).toBe(503);
        expect(answer.body.error).toBe('Service Unavailable');
        expect(answer.body.message).toBe(`cannot reach Prometheus at ${dead} (ECONNREFUSED)`);
      }
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(server.process.exitCode).toBeNull();
    } finally {
      await server.stop();
    }
  });
});

describe('a real Prometheus without --web.enable-admin-api', () => {
  it('answers 502 telling the operator to start Prometheus with --web.enable-admin-api', async () => {
    const prom = await startPrometheusWithoutAdminApi();
    const server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', snapshotDir]);
    try {
      // What Prometheus itself says (2.x: HTTP 500, errorType "unavailable", "admin APIs disabled").
      const direct = await fetch(`${prom.url}/api/v1/admin/tsdb/snapshot`, { method: 'POST' });
      expect(direct.status).toBeGreaterThanOrEqual(400);
      const said = (await direct.json()) as { status: string; error: string };
      expect(said).toMatchObject({ status: 'error', error: expect.stringMatching(/admin APIs disabled/i) });

      const answer = await requestSnapshot(server);
      expect(answer.status).toBe(502);
      expect(answer.body.error).toBe('Bad Gateway');
      expect(answer.body.message).toMatch(/admin API is off; start it with --web\.enable-admin-api/);
      expect(answer.body.message).toContain(`HTTP ${direct.status}: ${said.error}`);

      // The server lives on, but is not ready, and says why in /readyz and in its log.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const readyz = await fetch(`${server.url}/readyz`);
      expect(readyz.status).toBe(503);
      const ready = (await readyz.json()) as { checks: { prometheus: string } };
      expect(ready.checks.prometheus).toBe(`Prometheus at ${prom.url} runs without its admin API; start it with --web.enable-admin-api`);
      expect(server.log()).toMatch(/WARN.*not ready: prometheus: Prometheus at \S+ runs without its admin API/);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/prombackup_snapshot_requests_total\{outcome="admin_api_disabled"\} 1/);
      expect(metrics).toMatch(/^prombackup_prometheus_admin_api_enabled 0$/m);
      expect(metrics).toMatch(/^prombackup_ready 0$/m);
    } finally {
      await server.stop();
      await prom.stop();
    }
  });
});

describe('the Prometheus timeout setting', () => {
  it('defaults to a generous 10m: a head snapshot of a large TSDB can take minutes', async () => {
    const help = await runServerCommand(['-help']);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toMatch(/-prometheus_timeout DURATION\n.*\n\s+env PROMBACKUP_SERVER_PROMETHEUS_TIMEOUT, default "10m"/);
  });
});
