import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TsdbBusyError, lockShared, lockTsdb, processesUsing, refuseIfInUse } from './tsdb-lock';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-tsdb-lock-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('lockTsdb and processesUsing', () => {
  it("refuses a folder whose lock another process holds, saying so, and creates the lock file when it takes it", async () => {
    const holder = spawn('flock', ['-x', path.join(dir, 'lock'), 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
    await new Promise((resolve) => holder.stdout!.once('data', resolve));
    const err = await lockTsdb(dir, { by: 'restore' }).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(TsdbBusyError);
    expect(err?.message).toBe(`${dir} is in use: ${path.join(dir, 'lock')} is locked by another process (a running Prometheus?); stop it first`);
    holder.stdin!.end();
    await new Promise((resolve) => holder.once('exit', resolve));
    const lock = await lockTsdb(dir, { by: 'restore' });
    expect(lock.files).toEqual([path.join(dir, 'lock')]);
    await lock.release();
  });

  it('never follows a lock file that is a link (a root sync or restore would create or lock any file it names): refused, nothing made there', async () => {
    const victim = path.join(dir, 'elsewhere', 'nologin');
    await fs.mkdir(path.dirname(victim));
    for (const [name, take] of [
      ['lock', () => lockTsdb(dir, { by: 'restore' })],
      ['.own.lock', () => lockTsdb(dir, { by: 'sync', own: { file: '.own.lock', busy: 'busy' } })],
      ['.shared.lock', () => lockShared(path.join(dir, '.shared.lock'), 'restore', 'busy')],
    ] as const) {
      await fs.symlink(victim, path.join(dir, name));
      const err = await take().then(async (l) => (await l.release(), undefined), (e: Error) => e);
      expect(err?.message).toBe(`${path.join(dir, name)} is not a regular file (a link?); ${name === '.shared.lock' ? 'restore' : name === 'lock' ? 'restore' : 'sync'} never follows it: remove it`);
      await expect(fs.lstat(victim)).rejects.toThrow(/ENOENT/);
      await fs.rm(path.join(dir, name));
    }
    // A FIFO as the lock file: refused at once, not waited on for a writer.
    await new Promise((resolve, reject) => spawn('mkfifo', [path.join(dir, 'lock')]).once('exit', (c) => (c === 0 ? resolve(c) : reject(new Error(`mkfifo ${c}`)))));
    await expect(lockTsdb(dir, { by: 'restore' })).rejects.toThrow(/lock is not a regular file/);
    await fs.rm(path.join(dir, 'lock'));
    // A folder as the lock file: the same plain refusal, not a bare EISDIR.
    await fs.mkdir(path.join(dir, 'lock'));
    const err = await lockTsdb(dir, { by: 'restore' }).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(TsdbBusyError);
    expect(err?.message).toBe(`${path.join(dir, 'lock')} is not a regular file (a link?); restore never follows it: remove it`);
    await expect(lockShared(path.join(dir, 'lock'), 'restore', 'busy')).rejects.toThrow(/lock is not a regular file/);
  });

  it('finds a process with a file under the folder open, but not our own flock holding the lock files', async () => {
    await fs.mkdir(path.join(dir, 'wal'));
    const lock = await lockTsdb(dir, { by: 'sync', own: { file: '.own.lock', busy: 'busy' } });
    try {
      expect(await processesUsing(dir, lock.files)).toEqual([]);
      await refuseIfInUse(dir, lock);
      // A stand-in for Prometheus: a process keeping a segment open for writing, without any lock.
      const user = spawn('sh', ['-c', `exec 3>>${path.join(dir, 'wal', '00000000')}; echo open; exec cat >/dev/null`], { stdio: ['pipe', 'pipe', 'ignore'] });
      await new Promise((resolve) => user.stdout!.once('data', resolve));
      try {
        expect(await processesUsing(dir, lock.files)).toEqual([`cat (pid ${user.pid}) has ${path.join(await fs.realpath(dir), 'wal', '00000000')} open`]);
        await expect(refuseIfInUse(dir, lock)).rejects.toThrow(/is in use: cat \(pid \d+\) has .*00000000 open; stop Prometheus first/);
      } finally {
        user.stdin!.end();
        await new Promise((resolve) => user.once('exit', resolve));
      }
    } finally {
      await lock.release();
    }
  });
});
