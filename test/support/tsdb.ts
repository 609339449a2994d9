// TSDB folders in tests: what they hold, and the same range queries on two Prometheus servers.
import fs from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { type PrometheusInstance, queryRange } from './prometheus';

/** Every path under `dir` with its type, size and mtime, sorted: equal listings mean an untouched folder. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let names: string[];
    try {
      names = await fs.readdir(path.join(dir, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return;
      throw err;
    }
    for (const name of names.sort()) {
      const child = rel ? `${rel}/${name}` : name;
      const stats = await fs.lstat(path.join(dir, child));
      out.push(`${child} ${stats.isDirectory() ? 'dir' : stats.isFile() ? 'file' : 'other'} ${stats.isDirectory() ? 0 : stats.size} ${Math.floor(stats.mtimeMs)}`);
      if (stats.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return out;
}

/** ULID-named block folders directly in `dir`. */
export async function blockFolders(dir: string): Promise<string[]> {
  return (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(n)).sort();
}

/** The backfilled metrics, as a gauge and as a rate, over [startMs, endMs] at a one-minute step. */
export const BACKFILL_QUERIES = ['prombackup_test_backfill_gauge', 'rate(prombackup_test_backfill_requests_total[5m])'];

/** Both servers answer every backfill query over the span alike, and the answers are not empty. */
export async function expectSameAnswers(restored: PrometheusInstance, source: PrometheusInstance, startMs: number, endMs: number): Promise<void> {
  for (const query of BACKFILL_QUERIES) {
    const want = await queryRange(source.url, query, startMs, endMs, 60);
    expect(want.length).toBeGreaterThan(0);
    expect(await queryRange(restored.url, query, startMs, endMs, 60)).toEqual(want);
  }
}
