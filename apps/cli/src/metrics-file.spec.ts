import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metricsFileProblem, writeMetricsFile } from './metrics-file';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-metrics-file-'));
  file = path.join(dir, 'prombackup.prom');
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

describe('writeMetricsFile', () => {
  it('writes what promtool check metrics accepts, and nothing else in the folder', async () => {
    await writeMetricsFile(file, { success: true, endedAt: 1_700_000_000_500, seconds: 12.25, bytes: 4096 });
    const text = await fs.readFile(file, 'utf8');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(value(text, 'prombackup_cli_last_success_timestamp_seconds')).toBe(1_700_000_000.5);
    expect(value(text, 'prombackup_cli_last_run_success')).toBe(1);
    expect(value(text, 'prombackup_cli_last_run_duration_seconds')).toBe(12.25);
    expect(value(text, 'prombackup_cli_last_run_bytes')).toBe(4096);
    expect(await fs.readdir(dir)).toEqual(['prombackup.prom']);
  });

  it('keeps the time of the last success through a failed run', async () => {
    await writeMetricsFile(file, { success: true, endedAt: 1_000_000, seconds: 1, bytes: 10 });
    await writeMetricsFile(file, { success: false, endedAt: 2_000_000, seconds: 3, bytes: 0 });
    const text = await fs.readFile(file, 'utf8');
    expect(value(text, 'prombackup_cli_last_success_timestamp_seconds')).toBe(1000);
    expect(value(text, 'prombackup_cli_last_run_timestamp_seconds')).toBe(2000);
    expect(value(text, 'prombackup_cli_last_run_success')).toBe(0);
  });

  it('replaces the file by rename, so a reader holding the old one still sees it whole', async () => {
    await writeMetricsFile(file, { success: true, endedAt: 1_000_000, seconds: 1, bytes: 10 });
    const before = (await fs.stat(file)).ino;
    await writeMetricsFile(file, { success: true, endedAt: 2_000_000, seconds: 1, bytes: 10 });
    expect((await fs.stat(file)).ino).not.toBe(before);
  });
});

describe('metricsFileProblem', () => {
  it('accepts a .prom file in an existing folder and refuses anything else, saying why', async () => {
    expect(await metricsFileProblem(file)).toBeUndefined();
    expect(await metricsFileProblem(path.join(dir, 'x.txt'))).toMatch(/must end in \.prom/);
    expect(await metricsFileProblem(path.join(dir, 'missing', 'x.prom'))).toMatch(/folder .*missing does not exist/);
  });
});
