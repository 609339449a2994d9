import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Counter } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clock } from '../common/clock';
import { ServerConfig } from '../config/server-config';
import { parseSettings } from '../config/settings';
import { MetricsService } from '../metrics/metrics.service';
import { SnapshotLocks } from '../snapshots/snapshot-locks';
import { SnapshotDirError, SnapshotStore } from '../snapshots/snapshot-store';
import { PruneService } from './prune.service';

class FakeClock extends Clock {
  constructor(public time: number) {
    super();
  }
  override now(): number {
    return this.time;
  }
}

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const HOUR = 3_600_000;

function config(snapshotDir: string): ServerConfig {
  return new ServerConfig(parseSettings(['-snapshot_dir', snapshotDir, '-autoprune_interval=1h', '-autoprune_keep_within=1h']));
}

async function counterValue(counter: Counter, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe('PruneService', () => {
  let tmp: string;
  let root: string;
  let outside: string;
  let clock: FakeClock;
  let locks: SnapshotLocks;
  let metrics: MetricsService;
  let service: PruneService;

  /** A snapshot folder shaped like Prometheus makes them: a block with files in it. */
  function snapshot(name: string): string {
    const dir = path.join(root, name);
    mkdirSync(path.join(dir, '01HZZZZZZZZZZZZZZZZZZZZZZZ', 'chunks'), { recursive: true });
    writeFileSync(path.join(dir, '01HZZZZZZZZZZZZZZZZZZZZZZZ', 'meta.json'), '{}');
    writeFileSync(path.join(dir, '01HZZZZZZZZZZZZZZZZZZZZZZZ', 'chunks', '000001'), 'data');
    return dir;
  }

  const present = (name: string) => existsSync(path.join(root, name));

  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'prombackup-prune-'));
    root = path.join(tmp, 'snapshots');
    outside = path.join(tmp, 'outside');
    mkdirSync(root);
    mkdirSync(path.join(outside, 'precious'), { recursive: true });
    writeFileSync(path.join(outside, 'precious', 'file'), 'keep me');
    writeFileSync(path.join(outside, 'precious.txt'), 'keep me too');
    clock = new FakeClock(NOW);
    locks = new SnapshotLocks();
    metrics = new MetricsService();
    service = new PruneService(new SnapshotStore(config(root)), locks, clock, metrics);
  });

  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('removes snapshots older than keep_within and keeps younger ones', async () => {
    snapshot('20240601T100000Z-aaaa'); // 2h old
    snapshot('20240601T113000Z-bbbb'); // 30m old
    const result = await service.prune(HOUR, 'request');
    expect(result).toEqual({ removed: ['20240601T100000Z-aaaa'], skipped_in_use: [] });
    expect(present('20240601T100000Z-aaaa')).toBe(false);
    expect(present('20240601T113000Z-bbbb')).toBe(true);
  });

  it('keeps a snapshot exactly keep_within old and removes one a second older', async () => {
    snapshot('20240601T110000Z-aaaa');
    snapshot('20240601T105959Z-bbbb');
    await service.prune(HOUR, 'request');
    expect(present('20240601T110000Z-aaaa')).toBe(true);
    expect(present('20240601T105959Z-bbbb')).toBe(false);
  });

  it('reads numeric zones in folder names: removes an old +hhmm snapshot, keeps a young -hhmm one', async () => {
    snapshot('20240601T113000+0100-cccc'); // 10:30 UTC: old, though its digits look young
    snapshot('20240601T103000-0100-dddd'); // 11:30 UTC: young, though its digits look old
    snapshot('20240601T100000+0000-eeee'); // 10:00 UTC
    const result = await service.prune(HOUR, 'request');
    expect(result.removed.sort()).toEqual(['20240601T100000+0000-eeee', '20240601T113000+0100-cccc']);
    expect(present('20240601T113000+0100-cccc')).toBe(false);
    expect(present('20240601T100000+0000-eeee')).toBe(false);
    expect(present('20240601T103000-0100-dddd')).toBe(true);
  });

  it('with keep_within 0 removes everything in the past but not a snapshot dated in the future', async () => {
    snapshot('20240601T115959Z-aaaa');
    snapshot('20240601T120001Z-bbbb');
    await service.prune(0, 'request');
    expect(present('20240601T115959Z-aaaa')).toBe(false);
    expect(present('20240601T120001Z-bbbb')).toBe(true);
  });

  it('keeps an old snapshot that is being read, and removes it once the read is done', async () => {
    snapshot('20240601T000000Z-aaaa');
    snapshot('20240601T000000Z-bbbb');
    expect(locks.acquireRead('20240601T000000Z-aaaa')).toBe(true);

    const first = await service.prune(HOUR, 'request');
    expect(first).toEqual({ removed: ['20240601T000000Z-bbbb'], skipped_in_use: ['20240601T000000Z-aaaa'] });
    expect(present('20240601T000000Z-aaaa')).toBe(true);

    locks.releaseRead('20240601T000000Z-aaaa');
    const second = await service.prune(HOUR, 'request');
    expect(second).toEqual({ removed: ['20240601T000000Z-aaaa'], skipped_in_use: [] });
    expect(present('20240601T000000Z-aaaa')).toBe(false);
  });

  it('reports each snapshot removed by exactly one of several prunes run at once, and none as in use', async () => {
    const old = Array.from({ length: 30 }, (_, i) => `20240601T0000${String(i).padStart(2, '0')}Z-old${i}`);
    for (const name of old) snapshot(name);
    const results = await Promise.all([1, 2, 3, 4].map(() => service.prune(HOUR, 'request')));
    const removed = results.flatMap((r) => r.removed);
    expect(removed.sort()).toEqual(old);
    expect(results.flatMap((r) => r.skipped_in_use)).toEqual([]);
    expect(await counterValue(metrics.snapshotsRemoved)).toBe(old.length);
  });

  it('reports a snapshot being streamed as in use, also while another prune runs', async () => {
    snapshot('20240601T000000Z-aaaa');
    snapshot('20240601T000000Z-bbbb');
    expect(locks.acquireRead('20240601T000000Z-aaaa')).toBe(true);
    const [a, b] = await Promise.all([service.prune(HOUR, 'request'), service.prune(HOUR, 'schedule')]);
    expect(a.skipped_in_use).toEqual(['20240601T000000Z-aaaa']);
    expect(b.skipped_in_use).toEqual(['20240601T000000Z-aaaa']);
    expect([...a.removed, ...b.removed]).toEqual(['20240601T000000Z-bbbb']);
  });

  it('leaves the remove lock free afterwards, so a download can start', async () => {
    snapshot('20240601T000000Z-aaaa');
    await service.prune(HOUR, 'request');
    expect(locks.acquireRead('20240601T000000Z-aaaa')).toBe(true);
  });

  it('never touches what is not a snapshot folder', async () => {
    mkdirSync(path.join(root, 'lost+found'));
    writeFileSync(path.join(root, 'lost+found', '#1234'), 'x');
    writeFileSync(path.join(root, '20200101T000000Z-eeee'), 'a file named like a snapshot');
    snapshot('backup-old'); // a valid download name, but no timestamp to judge its age by
    snapshot('20200101T000000Z-abc-def'); // a timestamp, but not a snapshot folder name
    snapshot('20200101T000000Z-'); // nor this
    const result = await service.prune(0, 'request');
    expect(result).toEqual({ removed: [], skipped_in_use: [] });
    for (const name of ['lost+found/#1234', '20200101T000000Z-eeee', 'backup-old', '20200101T000000Z-abc-def', '20200101T000000Z-']) {
      expect(present(name)).toBe(true);
    }
  });

  it('does not follow a link named like an old snapshot: the link and its target survive', async () => {
    symlinkSync(path.join(outside, 'precious'), path.join(root, '20200101T000000Z-ffff'));
    const result = await service.prune(HOUR, 'request');
    expect(result.removed).toEqual([]);
    expect(lstatSync(path.join(root, '20200101T000000Z-ffff')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(outside, 'precious', 'file'), 'utf8')).toBe('keep me');
  });

  it('removes links inside an old snapshot without touching what they point to', async () => {
    const dir = snapshot('20240601T000000Z-aaaa');
    symlinkSync(path.join(outside, 'precious'), path.join(dir, 'escape-dir'));
    symlinkSync(path.join(outside, 'precious.txt'), path.join(dir, '01HZZZZZZZZZZZZZZZZZZZZZZZ', 'escape-file'));
    symlinkSync(outside, path.join(dir, '01HZZZZZZZZZZZZZZZZZZZZZZZ', 'chunks', 'escape-root'));
    const result = await service.prune(HOUR, 'request');
    expect(result.removed).toEqual(['20240601T000000Z-aaaa']);
    expect(present('20240601T000000Z-aaaa')).toBe(false);
    expect(readFileSync(path.join(outside, 'precious', 'file'), 'utf8')).toBe('keep me');
    expect(readFileSync(path.join(outside, 'precious.txt'), 'utf8')).toBe('keep me too');
  });

  it('counts runs and removals in its metrics', async () => {
    snapshot('20240601T000000Z-aaaa');
    snapshot('20240601T000001Z-bbbb');
    await service.prune(HOUR, 'schedule');
    await service.prune(HOUR, 'request');
    expect(await counterValue(metrics.snapshotsRemoved)).toBe(2);
    expect(await counterValue(metrics.pruneRuns, { trigger: 'schedule', outcome: 'success' })).toBe(1);
    expect(await counterValue(metrics.pruneRuns, { trigger: 'request', outcome: 'success' })).toBe(1);
    expect((await metrics.lastPruneSuccess.get()).values[0].value).toBe(NOW / 1000);
  });

  it('finds nothing to do when Prometheus has not made the snapshot folder yet', async () => {
    rmSync(root, { recursive: true });
    expect(await service.prune(HOUR, 'request')).toEqual({ removed: [], skipped_in_use: [] });
  });

  it('fails, and counts the failure, when snapshot_dir cannot be read', async () => {
    rmSync(root, { recursive: true });
    writeFileSync(root, 'not a folder');
    await expect(service.prune(HOUR, 'request')).rejects.toBeInstanceOf(SnapshotDirError);
    expect(await counterValue(metrics.pruneRuns, { trigger: 'request', outcome: 'failure' })).toBe(1);
    expect(await counterValue(metrics.pruneRuns, { trigger: 'request', outcome: 'success' })).toBe(0);
  });
});
