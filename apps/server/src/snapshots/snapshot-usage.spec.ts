import { linkSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerConfig } from '../config/server-config';
import { parseSettings } from '../config/settings';
import { MetricsService } from '../metrics/metrics.service';
import { SnapshotStore } from './snapshot-store';
import { SnapshotUsage } from './snapshot-usage';

const A = '20240101T000000Z-aaaa';
const B = '20240102T000000Z-bbbb';

/**
 * A data folder as Prometheus leaves it: a live block, two snapshots hard-linking its files, and
 * files of a block compaction has since removed from the live TSDB.
 */
describe('SnapshotUsage', () => {
  let data: string;
  let usage: SnapshotUsage;
  let metrics: MetricsService;

  const file = (rel: string, bytes: number) => {
    mkdirSync(path.dirname(path.join(data, rel)), { recursive: true });
    writeFileSync(path.join(data, rel), Buffer.alloc(bytes));
  };
  const link = (from: string, to: string) => {
    mkdirSync(path.dirname(path.join(data, to)), { recursive: true });
    linkSync(path.join(data, from), path.join(data, to));
  };

  beforeEach(() => {
    data = mkdtempSync(path.join(os.tmpdir(), 'prombackup-usage-'));
    file('01LIVE/chunks/000001', 1000); // still live: costs the snapshots nothing
    file('01GONE/chunks/000001', 300); // compacted away below: only snapshots hold it
    for (const snap of [A, B]) {
      link('01LIVE/chunks/000001', `snapshots/${snap}/01LIVE/chunks/000001`);
      link('01GONE/chunks/000001', `snapshots/${snap}/01GONE/chunks/000001`);
    }
    rmSync(path.join(data, '01GONE'), { recursive: true });
    file(`snapshots/${B}/01HEAD/chunks/000001`, 50); // B's head block: B's alone
    metrics = new MetricsService();
    usage = new SnapshotUsage(new SnapshotStore(new ServerConfig(parseSettings(['-snapshot_dir', path.join(data, 'snapshots')]))), metrics);
  });
  afterEach(() => rmSync(data, { recursive: true, force: true }));

  it('counts shared files once and live ones not at all', async () => {
    const report = await usage.report();
    expect(report.exclusiveBytes).toBe(300 + 50);
    expect(report.sizes.get(A)).toEqual({ bytes: 1300, uniqueBytes: 0 });
    expect(report.sizes.get(B)).toEqual({ bytes: 1350, uniqueBytes: 50 });
  });

  it('charges a file to the one snapshot left holding it', async () => {
    rmSync(path.join(data, 'snapshots', A), { recursive: true });
    unlinkSync(path.join(data, '01LIVE/chunks/000001'));
    const report = await usage.report();
    expect(report.sizes.get(B)).toEqual({ bytes: 1350, uniqueBytes: 1350 });
    expect(report.exclusiveBytes).toBe(1350);
  });

  it('sets the gauges on a scrape and walks again only after the cache time', async () => {
    usage.onModuleInit();
    expect(await metrics.scrape()).toMatch(/^prombackup_snapshots 2$/m);
    expect(await metrics.scrape()).toMatch(/^prombackup_snapshots_exclusive_bytes 350$/m);
    rmSync(path.join(data, 'snapshots', A), { recursive: true });
    expect((await usage.report()).sizes.size).toBe(2);
    expect((await usage.report({ now: Date.now() + 11_000 })).sizes.size).toBe(1);
    rmSync(path.join(data, 'snapshots', B), { recursive: true });
    expect((await usage.report({ fresh: true })).sizes.size).toBe(0);
  });
});
