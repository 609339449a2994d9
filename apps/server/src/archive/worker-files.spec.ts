import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkerOptions } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { HashingPool } from './offthread-sha256';
import { OffThreadZstd } from './offthread-zstd';
import { zstdParameters } from './zstd-settings';

// Every Worker the modules under test construct, recorded, then started for real.
const started = vi.hoisted(() => [] as { filename: unknown; options?: WorkerOptions }[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:worker_threads')>();
  class RecordingWorker extends actual.Worker {
    constructor(filename: string | URL, options?: WorkerOptions) {
      started.push({ filename, options });
      super(filename, options);
    }
  }
  return { ...actual, Worker: RecordingWorker };
});

/** The worker file the last constructed Worker was started from; fails for anything but a module file. */
function lastWorkerFile(): string {
  const { filename, options } = started.at(-1)!;
  expect(options?.eval).toBeFalsy();
  expect(typeof filename).toBe('string');
  expect(fs.existsSync(filename as string)).toBe(true);
  return path.relative(import.meta.dirname, filename as string);
}

describe('worker threads', () => {
  it('hash on a thread started from sha256.worker.ts', async () => {
    const pool = new HashingPool();
    try {
      const hash = pool.hash();
      await hash.update(Buffer.from('abc'));
      expect(await hash.digest()).toBe(createHash('sha256').update('abc').digest('hex'));
      expect(lastWorkerFile()).toBe('sha256.worker.ts');
    } finally {
      await pool.onModuleDestroy();
    }
  });

  it('compress on a thread started from zstd.worker.ts', async () => {
    const zstd = new OffThreadZstd(zstdParameters(3));
    try {
      expect(lastWorkerFile()).toBe('zstd.worker.ts');
      const [left, , consumed] = await zstd.compressStream2(Buffer.alloc(1024), Buffer.from('abc'), true);
      expect([left, consumed]).toEqual([0, 3]);
    } finally {
      await zstd.close();
    }
  });

  it('run from the build, where each is a compiled .js module', async () => {
    const built = path.resolve(import.meta.dirname, '../../dist/archive');
    const script = `
      const { HashingPool } = require(${JSON.stringify(path.join(built, 'offthread-sha256.js'))});
      const pool = new HashingPool();
      const hash = pool.hash();
      hash.update(Buffer.from('abc')).then(() => hash.digest()).then((hex) => { console.log(hex); return pool.onModuleDestroy(); });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 20_000 });
    expect(stdout.trim()).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(fs.existsSync(path.join(built, 'sha256.worker.js')) && fs.existsSync(path.join(built, 'zstd.worker.js'))).toBe(true);
  });
});
