import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkerOptions } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { HashingFileWriter } from './hashing-file-writer';

// Every Worker the module under test constructs, recorded, then started for real.
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

describe('the file writer thread', () => {
  it('starts from file-writer.worker.ts, a module file, not from source text', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-worker-file-'));
    try {
      const writer = new HashingFileWriter(path.join(dir, 'out'));
      await new Promise<void>((resolve, reject) => writer.on('error', reject).end(Buffer.from('abc'), resolve));
      expect(writer.sha256).toBe(createHash('sha256').update('abc').digest('hex'));
      const { filename, options } = started.at(-1)!;
      expect(options?.eval).toBeFalsy();
      expect(typeof filename).toBe('string');
      expect(fs.existsSync(filename as string)).toBe(true);
      expect(path.relative(import.meta.dirname, filename as string)).toBe('file-writer.worker.ts');
      // The build has its compiled sibling (the spec "lets the process exit" runs it).
      expect(fs.existsSync(path.join(import.meta.dirname, '../dist/file-writer.worker.js'))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
