import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirBusyError, lockDir, lockDirForReading } from './dir-lock';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-lock-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('lockDir', () => {
  it('refuses a second lock on the same folder until the first is released', async () => {
    const first = await lockDir(dir);
    const second = await lockDir(dir).then(() => undefined, (err: Error) => err);
    expect(second).toBeInstanceOf(DirBusyError);
    expect(second?.message).toContain('another prombackup sync is running on');
    await first.release();
    await (await lockDir(dir)).release();
  });

  it('refuses a folder whose lock file another process holds, as Prometheus does, and takes it once that process is gone', async () => {
    const holder = spawn('flock', ['-x', path.join(dir, 'lock'), 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
    await new Promise((resolve) => holder.stdout!.once('data', resolve));
    const err = await lockDir(dir).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(DirBusyError);
    expect(err?.message).toContain(`${dir} is in use: ${path.join(dir, 'lock')} is locked`);
    holder.stdin!.end();
    await new Promise((resolve) => holder.once('exit', resolve));
    await (await lockDir(dir)).release();
  });

  it('lets restores read a sync folder together, but never while a sync runs on it, nor a sync start while one reads', async () => {
    const sync = await lockDir(dir);
    const refused = await lockDirForReading(dir).then(() => undefined, (e: Error) => e);
    expect(refused).toBeInstanceOf(DirBusyError);
    expect(refused?.message).toBe(`a sync is running on ${dir} (${path.join(dir, '.prombackup-sync.lock')} is locked); wait for it to end, or restore from a copy`);
    await sync.release();
    const first = await lockDirForReading(dir);
    const second = await lockDirForReading(dir);
    const syncNow = await lockDir(dir).then(() => undefined, (e: Error) => e);
    expect(syncNow).toBeInstanceOf(DirBusyError);
    expect(syncNow?.message).toMatch(/another prombackup sync is running on .*, or a restore is reading it/);
    await first!.release();
    await second!.release();
    await (await lockDir(dir)).release();
  });

  it('reads a folder it cannot write without a lock when it has no lock file (no sync can have made one there)', async () => {
    await fs.chmod(dir, 0o555);
    try {
      if (process.getuid?.() === 0) return; // root writes anywhere
      expect(await lockDirForReading(dir)).toBeUndefined();
    } finally {
      await fs.chmod(dir, 0o755);
    }
  });

  it('lets go when the holder is killed outright, as when the CLI dies', async () => {
    const lock = await lockDir(dir);
    lock.releaseNow();
    for (let i = 0; i < 50; i++) {
      const again = await lockDir(dir).then((l) => l, () => undefined);
      if (again) return again.release();
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the lock was not released');
  });
});
