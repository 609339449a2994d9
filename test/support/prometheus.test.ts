import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findPrometheus,
  freePort,
  queryRange,
  startPrometheus,
  takeSnapshot,
  waitForHeadSamples,
  type PrometheusInstance,
} from './prometheus';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

interface BlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
}

/** Reads the block folders of a snapshot and checks each holds the files of a TSDB block. */
async function readBlocks(dir: string): Promise<BlockMeta[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const blocks: BlockMeta[] = [];
  for (const entry of entries) {
    expect(entry.isDirectory() && ULID.test(entry.name), `unexpected entry ${entry.name} in ${dir}`).toBe(true);
    const blockDir = path.join(dir, entry.name);
    for (const file of ['meta.json', 'index', 'tombstones', 'chunks/000001']) {
      const stat = await fs.stat(path.join(blockDir, file));
      expect(stat.isFile(), `${entry.name}/${file}`).toBe(true);
    }
    const meta = JSON.parse(await fs.readFile(path.join(blockDir, 'meta.json'), 'utf8')) as BlockMeta;
    expect(meta.ulid).toBe(entry.name);
    blocks.push(meta);
  }
  return blocks.sort((a, b) => a.minTime - b.minTime);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

describe('Prometheus test harness', () => {
  let prom: PrometheusInstance;
  let withHead: string;

  beforeAll(async () => {
    prom = await startPrometheus();
  });

  afterAll(async () => {
    await prom?.stop();
  });

  it('finds the binaries and free ports', async () => {
    const bins = findPrometheus();
    expect(path.basename(bins.prometheus)).toBe('prometheus');
    expect(path.basename(bins.promtool)).toBe('promtool');
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });

  it('serves the backfilled blocks and fills the head from its self-scrape', async () => {
    const backfill = prom.backfill!;
    expect(backfill).toBeDefined();
    expect(backfill.endMs - backfill.startMs).toBe(6 * 60 * 60 * 1000 - 60_000);

    await waitForHeadSamples(prom.url);

    const first = await queryRange(prom.url, backfill.metric, backfill.startMs, backfill.endMs, 60);
    expect(first).toHaveLength(3);
    for (const series of first) {
      expect(series.metric.__name__).toBe(backfill.metric);
      expect(series.values).toHaveLength(6 * 60);
    }
    // Deterministic generator: node-0 starts at 0, node-1 at 13.25.
    expect(first[0].metric.instance).toBe('node-0');
    expect(first[0].values[0]).toEqual([backfill.startMs / 1000, '0']);
    expect(first[1].values[0]).toEqual([backfill.startMs / 1000, '13.25']);

    const again = await queryRange(prom.url, backfill.metric, backfill.startMs, backfill.endMs, 60);
    expect(again).toEqual(first);
  });

  it('takes snapshots with and without the head block', async () => {
    const backfill = prom.backfill!;

    const skipHead = await takeSnapshot(prom.url, true);
    const skipBlocks = await readBlocks(path.join(prom.snapshotDir, skipHead));
    // promtool cuts the 6h span at 2h boundaries; nothing newer than the backfill.
    expect(skipBlocks).toHaveLength(3);
    for (const block of skipBlocks) expect(block.maxTime).toBeLessThanOrEqual(backfill.endMs + 1);

    withHead = await takeSnapshot(prom.url, false);
    expect(withHead).not.toBe(skipHead);
    const headBlocks = await readBlocks(path.join(prom.snapshotDir, withHead));
    expect(headBlocks).toHaveLength(4);
    // The head written out as a block reaches up to the latest self-scrape.
    expect(headBlocks[3].maxTime).toBeGreaterThan(Date.now() - 60_000);
  });

  it('restores: a Prometheus started on a copy of the snapshot answers the same', async () => {
    const backfill = prom.backfill!;
    const copy = await fs.mkdtemp(path.join(os.tmpdir(), 'prombackup-restore-'));
    let restored: PrometheusInstance | undefined;
    try {
      await fs.cp(path.join(prom.snapshotDir, withHead), copy, { recursive: true });
      restored = await startPrometheus({ dataDir: copy, backfill: false, scrapeSelf: false });
      expect(restored.backfill).toBeUndefined();

      const query = '{__name__=~"prombackup_test_backfill_.*"}';
      const original = await queryRange(prom.url, query, backfill.startMs, backfill.endMs, 60);
      const fromCopy = await queryRange(restored.url, query, backfill.startMs, backfill.endMs, 60);
      expect(original).toHaveLength(6);
      expect(fromCopy).toEqual(original);

      const rate = `sum by (code) (rate(prombackup_test_backfill_requests_total[5m]))`;
      expect(await queryRange(restored.url, rate, backfill.startMs, backfill.endMs, 300)).toEqual(
        await queryRange(prom.url, rate, backfill.startMs, backfill.endMs, 300),
      );

      // The head block came along too: the self-scraped series exist without any scraping here.
      const now = Date.now();
      const up = await queryRange(restored.url, 'up', now - 5 * 60_000, now, 15);
      expect(up.length).toBeGreaterThan(0);
    } finally {
      await restored?.stop();
      await fs.rm(copy, { recursive: true, force: true });
    }
  });

  it('stops the process and removes its temp dir', async () => {
    const { pid, dataDir } = prom;
    expect(isRunning(pid)).toBe(true);
    await prom.stop();
    expect(isRunning(pid)).toBe(false);
    expect(await exists(dataDir)).toBe(false);
    expect(await exists(path.dirname(dataDir))).toBe(false);
    await prom.stop(); // idempotent
  });

  it('keeps a data dir it did not create', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'prombackup-keep-'));
    try {
      const p = await startPrometheus({ dataDir: dir, scrapeSelf: false });
      expect(p.backfill).toBeUndefined();
      expect(p.snapshotDir).toBe(path.join(dir, 'snapshots'));
      await p.stop();
      expect(isRunning(p.pid)).toBe(false);
      expect(await exists(path.join(dir, 'wal'))).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
