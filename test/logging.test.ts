// What an operator keeps of the server's log: no framework banner, no line per probe or scrape
// at info, a start line with the settings that matter, failures with their reason, and with
// -log_format json one object per line.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer } from './support/processes';
import { freePort } from './support/prometheus';

let snapshotDir: string;
let dead: string;
beforeAll(async () => {
  snapshotDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-logging-'));
  dead = `http://127.0.0.1:${await freePort()}`;
});
afterAll(() => fs.rm(snapshotDir, { recursive: true, force: true }));

/** Probes and scrapes as Kubernetes and Prometheus send them, then one failing snapshot request. */
async function exercise(server: ServerProcess): Promise<string[]> {
  for (let i = 0; i < 5; i++) {
    for (const probe of ['/healthz', '/readyz', '/metrics']) await fetch(`${server.url}${probe}`);
  }
  expect((await fetch(`${server.url}/api/snapshot`, { method: 'POST', redirect: 'manual' })).status).toBe(503);
  await new Promise((r) => setTimeout(r, 200));
  await server.stop();
  return server.log().split('\n').filter((line) => line !== '');
}

describe('the server log', () => {
  it('at info (text): a start line and the failure with its reason; no banner, probes or scrapes', async () => {
    const lines = await exercise(await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', dead]));
    expect(lines.join('\n')).not.toMatch(/NestFactory|InstanceLoader|RoutesResolver|RouterExplorer|Mapped \{|healthz|readyz|\/metrics/);
    expect(lines.some((l) => /INFO  \[prombackup-server\] version \S+, listening on 127\.0\.0\.1:\d+, Prometheus .*autoprune=off auth=off/.test(l))).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`WARN  \\[readiness\\] not ready: prometheus: cannot reach Prometheus at ${dead} \\(ECONNREFUSED\\)$`)));
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`WARN  \\[access\\] POST /api/snapshot 503 \\d+B [\\d.]+ms: cannot reach Prometheus at ${dead} \\(ECONNREFUSED\\)$`)),
    );
    // Start, readiness, the failure, and the shutdown: nothing else.
    expect(lines.length).toBeLessThanOrEqual(6);
  });

  it('at debug (json): one object per line with time, level and message; probes and the framework included', async () => {
    const lines = await exercise(
      await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', dead], { PROMBACKUP_SERVER_LOG_FORMAT: 'json', PROMBACKUP_SERVER_LOG_LEVEL: 'debug' }),
    );
    const records = lines.map((line) => JSON.parse(line) as { time: string; level: string; message: string; context?: string });
    for (const record of records) {
      expect(Number.isNaN(Date.parse(record.time))).toBe(false);
      expect(['debug', 'info', 'warn', 'error']).toContain(record.level);
      expect(typeof record.message).toBe('string');
    }
    expect(records.filter((r) => r.context === 'access' && r.level === 'debug' && /^GET \/healthz 200/.test(r.message)).length).toBeGreaterThanOrEqual(5);
    expect(records.some((r) => r.context === 'RouterExplorer' && r.level === 'debug')).toBe(true);
    expect(records.find((r) => r.context === 'prombackup-server')).toMatchObject({ level: 'info', autoprune: 'off', log_level: 'debug' });
  });

  it('at -log_level error: only errors, so a failed snapshot request (a warning) is not there', async () => {
    const lines = await exercise(await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', dead, '-log_level', 'error']));
    expect(lines).toEqual([]);
  });
});
